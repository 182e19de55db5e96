// The command half of the tests' fake NVMe/TCP target: a small, honest in-memory controller
// that executes Fabrics, admin and NVM commands with the target's own codecs (core/nvme: SQE,
// CQE, Connect data, Identify, queue counts) and remembers what it was sent, so a test can assert
// the bytes the host put on the wire. Thread-safe: every connection's thread calls execute().
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "core/nvme/fabrics.h"
#include "core/nvme/sqe.h"
#include "core/nvme/status.h"

namespace portico::nvme_host::test {

struct FakeControllerConfig {
  uint16_t controller_id = 0x1234;
  uint32_t block_size = 512;
  uint64_t blocks = 256;
  uint16_t max_queue_entries = 128;  // CAP.MQES + 1
  uint16_t queues_granted = 4;       // Number of Queues answers at most this many
  uint32_t in_capsule_data = 8192;   // reported in IOCCSZ
  std::string subsystem_nqn = "nqn.2026-11.io.portico:fake";
};

// A command as the controller received it.
struct ReceivedCommand {
  uint16_t queue_id = 0;
  nvme::SubmissionEntry sqe;
  std::vector<uint8_t> data;  // host-to-controller data, however it travelled
};

struct Answer {
  nvme::CompletionStatus status;
  uint32_t dw0 = 0;
  std::vector<uint8_t> data;  // controller-to-host data
};

class FakeController {
 public:
  explicit FakeController(FakeControllerConfig config);

  // `queue_id` is the connection's (set by its Connect); a Connect's data is in `data`.
  Answer execute(uint16_t& queue_id, const nvme::SubmissionEntry& sqe, std::vector<uint8_t> data);
  // A fused pair (NVMe Base 2.0, "Fused Operations"): the compare, then the write if it matched.
  std::pair<Answer, Answer> execute_fused(uint16_t queue_id, const nvme::SubmissionEntry& compare,
                                          std::vector<uint8_t> compare_data, const nvme::SubmissionEntry& write,
                                          std::vector<uint8_t> write_data);

  std::vector<ReceivedCommand> commands() const;
  std::vector<nvme::ConnectData> connects() const;
  std::vector<uint8_t> media() const;
  void fill_media(uint8_t value);
  uint32_t cc() const;
  size_t keep_alives() const;
  const FakeControllerConfig& config() const { return config_; }

 private:
  Answer fabrics(uint16_t& queue_id, const nvme::SubmissionEntry& sqe, const std::vector<uint8_t>& data);
  Answer admin(const nvme::SubmissionEntry& sqe);
  Answer io(const nvme::SubmissionEntry& sqe, const std::vector<uint8_t>& data);
  // Checks the LBA range of an NVM command; the byte offset and length into media_.
  std::optional<std::pair<size_t, size_t>> range_of(const nvme::SubmissionEntry& sqe) const;
  Answer reservation_report(const nvme::SubmissionEntry& sqe) const;

  FakeControllerConfig config_;
  mutable std::mutex mutex_;
  std::vector<ReceivedCommand> commands_;
  std::vector<nvme::ConnectData> connects_;
  std::vector<uint8_t> media_;
  uint32_t cc_ = 0;
  size_t keep_alives_ = 0;
  uint64_t registered_key_ = 0;
  std::array<uint8_t, 16> host_id_{};
};

}  // namespace portico::nvme_host::test
