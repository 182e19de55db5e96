// The transport half of the tests' fake NVMe/TCP target: it listens on 127.0.0.1 (an ephemeral
// port), serves each connection on a thread with the target's own framing and codec
// (nvmeof::QueueReceiver, the PDU encoders), collects host data in the capsule or with R2T and
// H2CData, and answers with C2HData (SUCCESS or followed by a CapsuleResp) or a CapsuleResp.
// Knobs make it misbehave the ways a host must survive: completions out of order, a C2HTermReq,
// a corrupt header digest. Every PDU it receives is recorded for the tests to assert on.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "frontends/nvmeof/protocol/queue_setup.h"
#include "tests/unit/nvme_tcp_host/fake_controller.h"

namespace portico::nvme_host::test {

struct FakeTargetConfig {
  FakeControllerConfig controller;
  nvmeof::ControllerTransportLimits limits;
  uint32_t c2h_chunk = 0;     // read data in C2HData PDUs of at most this many bytes; 0: one PDU
  bool success_flag = true;   // last C2HData carries SUCCESS; otherwise a CapsuleResp follows
  size_t hold_reads = 0;      // I/O reads wait until this many are pending, then complete in reverse
  uint64_t term_req_lba = UINT64_MAX;  // a read of this LBA is answered with a C2HTermReq
  uint16_t term_fes = 0x04;
  uint32_t term_fei = 0;
  bool corrupt_c2h_header_digest = false;  // C2HData goes out with a wrong HDGST
  bool corrupt_c2h_data_digest = false;    // ... or a wrong DDGST
};

struct PduRecord {
  uint16_t queue_id = 0;
  nvmeof::PduType type = nvmeof::PduType::ic_req;
  uint8_t flags = 0;
  uint32_t data_length = 0;
  nvmeof::PduSpecificHeader header;
  bool data_digest_ok = true;
};

class FakeTarget {
 public:
  explicit FakeTarget(FakeTargetConfig config = {});
  FakeTarget(const FakeTarget&) = delete;
  FakeTarget& operator=(const FakeTarget&) = delete;
  ~FakeTarget();

  [[nodiscard]] uint16_t port() const { return port_; }
  FakeController& controller() { return controller_; }
  [[nodiscard]] const FakeTargetConfig& config() const { return config_; }
  std::vector<PduRecord> pdus() const;
  void record(PduRecord pdu);

 private:
  void accept_loop();

  FakeTargetConfig config_;
  FakeController controller_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<int> connection_fds_;
  std::vector<std::thread> connections_;
  std::vector<PduRecord> pdus_;
};

}  // namespace portico::nvme_host::test
