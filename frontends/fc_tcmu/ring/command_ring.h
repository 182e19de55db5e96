// The TCMU command ring (include/uapi/linux/target_core_user.h, "Ring Design"): reads the entries
// the kernel queues and writes the responses back, over the bytes of the region mapped from
// /dev/uioN. Pure: no file, no mmap, no poll; whoever maps the region also kicks the kernel after
// complete() or release_consumed().
//
// How completions work, and why any order is allowed: the kernel's tcmu_handle_completions
// (drivers/target/target_core_user.c) walks from where it last cleaned up to cmd_tail, skips PAD
// and TMR entries, and for each command entry takes the command from that slot's hdr.cmd_id, not
// from the slot's position. So complete() answers command X by writing X's id and status into
// the oldest unanswered command slot at cmd_tail (whichever command it once carried) and moving
// cmd_tail past it. The response overwrites the request's fields (the two are a union), which is
// why next() copies the CDB and the iovecs out. Data buffers live in the data area, not in the
// slot: the kernel frees a command's buffers only when that command's id comes back.
//
// Not thread-safe: one event loop owns a ring. The kernel writes cmd_head concurrently; it is
// read once per next() with acquire ordering (the kernel stores it with release, UPDATE_HEAD), and
// cmd_tail is stored with release ordering after the response bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "core/common/result.h"
#include "frontends/fc_tcmu/ring/ring_entry.h"

namespace portico::tcmu {

class CommandRing {
 public:
  // Checks the mailbox: version TCMU_MAILBOX_VERSION, the ring 8-byte aligned after the mailbox,
  // a non-empty data area after the ring, cmd_tail an aligned offset in the ring, and the region
  // itself 8-byte aligned (mmap gives a page). Reading starts at the mailbox's cmd_tail, so after a
  // restart the commands the kernel still waits for are read again.
  static Result<CommandRing> attach(std::span<uint8_t> region);

  CommandRing(CommandRing&&) = default;
  CommandRing& operator=(CommandRing&&) = default;
  CommandRing(const CommandRing&) = delete;  // two writers of one cmd_tail
  CommandRing& operator=(const CommandRing&) = delete;

  // The mailbox's capability flags.
  [[nodiscard]] bool out_of_order_completion() const;  // TCMU_MAILBOX_FLAG_CAP_OOOC
  [[nodiscard]] bool read_length() const;              // TCMU_MAILBOX_FLAG_CAP_READ_LEN
  [[nodiscard]] bool tmr_notifications() const;        // TCMU_MAILBOX_FLAG_CAP_TMR

  // The next entry the kernel queued beyond those already returned (PAD entries are skipped), or
  // std::nullopt when there is none. A RingFault is final: every later call returns it again.
  std::optional<RingEntry> next();

  // Answers command `cmd_id` (any command returned by next() and not completed yet, in any
  // order): hdr.cmd_id, rsp.scsi_status and rsp.sense_buffer (`sense` cut to
  // TCMU_SENSE_BUFFERSIZE, the rest zeroed) go into the oldest unanswered command slot, and
  // cmd_tail moves past it and past the PAD / TMR entries before it. With `read_len` and
  // read_length(), TCMU_UFLAG_READ_LEN and rsp.read_len tell the kernel how much Data-In is valid
  // (it ignores a read_len of 0). The command's data spans must not be used afterwards.
  // Returns false, writing nothing, when `cmd_id` is not an outstanding command: writing an id
  // the kernel does not expect would make it mark the whole device broken.
  bool complete(uint16_t cmd_id, uint8_t scsi_status, std::span<const uint8_t> sense,
                std::optional<uint32_t> read_len = std::nullopt);

  // Moves cmd_tail past the PAD and TMR entries at the tail that next() already returned, so the
  // kernel can reuse their space when no completion would (e.g. after a TMR on an idle device).
  void release_consumed();

  // Commands returned by next() and not completed yet.
  [[nodiscard]] size_t outstanding() const { return outstanding_; }
  // next() found the ring corrupt; completions of commands read before that still work.
  [[nodiscard]] bool faulted() const { return fault_.has_value(); }

 private:
  // An entry next() returned that cmd_tail has not passed yet.
  struct Slot {
    uint32_t offset = 0;  // in the ring
    uint32_t length = 0;
    bool command = false;  // false: PAD or TMR, passed without a response
  };

  CommandRing(std::span<uint8_t> region, uint16_t flags, uint32_t ring_offset, uint32_t ring_size, uint32_t tail);

  [[nodiscard]] uint32_t load_head() const;
  void store_tail(uint32_t tail);
  [[nodiscard]] uint32_t distance(uint32_t from, uint32_t to) const;  // going forward around the ring
  RingEntry fail(std::string reason);
  std::optional<RingEntry> take_entry(uint32_t head);
  void write_response(const Slot& slot, uint16_t cmd_id, uint8_t scsi_status, std::span<const uint8_t> sense,
                      std::optional<uint32_t> read_len);
  bool skip_answerless_slots();  // moves tail_ past PAD / TMR slots; true if it moved

  std::span<uint8_t> region_;
  uint16_t flags_ = 0;
  uint32_t ring_offset_ = 0;  // mailbox.cmdr_off
  uint32_t ring_size_ = 0;    // mailbox.cmdr_size
  uint32_t tail_ = 0;         // cmd_tail as this side last stored it
  uint32_t next_ = 0;         // where the first entry not yet returned starts
  std::deque<Slot> slots_;    // returned entries from tail_ to next_, in ring order
  size_t outstanding_ = 0;    // the command slots among them
  std::unordered_map<uint16_t, uint32_t> outstanding_ids_;  // cmd_id -> commands carrying it
  std::optional<RingFault> fault_;
};

}  // namespace portico::tcmu
