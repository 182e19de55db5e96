// The kernel's side of a TCMU region, small and honest: it lays out the mailbox, the command
// ring and the data area as tcmu_configure_device does, queues entries as queue_cmd_ring and
// queue_tmr_ring do (a PAD to the ring's end when an entry would wrap), and collects responses as
// tcmu_handle_completions does (drivers/target/target_core_user.c).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "frontends/fc_tcmu/ring/ring_layout.h"

namespace portico::tcmu::testing {

inline constexpr uint16_t kAllCaps = layout::kCapOutOfOrderCompletion | layout::kCapReadLen | layout::kCapTmr;

// What the kernel reads back from a command slot.
struct KernelCompletion {
  uint16_t cmd_id = 0;
  uint8_t scsi_status = 0;
  uint8_t uflags = 0;
  uint32_t read_len = 0;
  std::array<uint8_t, layout::kSenseBufferSize> sense{};
};

class FakeTcmuKernel {
 public:
  explicit FakeTcmuKernel(uint32_t ring_size = 4096, size_t data_size = 64 * 1024, uint16_t flags = kAllCaps);

  [[nodiscard]] std::span<uint8_t> region() { return bytes_; }
  [[nodiscard]] size_t ring_offset() const { return layout::kMailboxSize; }
  [[nodiscard]] uint32_t ring_size() const { return ring_size_; }
  [[nodiscard]] size_t data_offset() const { return ring_offset() + ring_size_; }

  // Queues a command whose data buffers have these lengths (data area blocks, filled with
  // `fill`); returns its cmd_id. The entry is where cmd_head was (or at 0 after a PAD).
  uint16_t queue_command(std::vector<uint8_t> cdb, const std::vector<size_t>& data_lengths,
                         const std::vector<size_t>& bidi_lengths = {}, uint8_t fill = 0);
  void queue_tmr(uint8_t type, const std::vector<uint16_t>& cmd_ids);

  // Ring offset of the entry queued last, to corrupt it.
  [[nodiscard]] uint32_t last_entry() const { return last_entry_; }
  // The bytes of a ring entry (from `ring_offset` to the ring's end).
  [[nodiscard]] std::span<uint8_t> entry(uint32_t ring_offset) {
    return region().subspan(this->ring_offset() + ring_offset, ring_size_ - ring_offset);
  }

  [[nodiscard]] uint32_t head() const;
  [[nodiscard]] uint32_t tail() const;
  void set_head(uint32_t head);
  // Moves both pointers (and the kernel's cleaned position) to `offset`, as after earlier traffic.
  void start_at(uint32_t offset);

  // Walks from the last cleaned position to cmd_tail: skips PAD and TMR entries and reads each
  // command slot's response.
  std::vector<KernelCompletion> collect_completions();

 private:
  uint32_t place_entry(size_t size);  // PAD to the end if needed; the entry's ring offset
  uint64_t allocate_data(size_t length, uint8_t fill);

  std::vector<uint8_t> bytes_;
  uint32_t ring_size_;
  uint32_t last_cleaned_ = 0;
  uint32_t last_entry_ = 0;
  uint16_t next_cmd_id_ = 1;
  size_t data_used_ = 0;
};

}  // namespace portico::tcmu::testing
