// What CommandRing::next() hands out: one entry of the TCMU command ring, copied out of the
// shared memory (a completion overwrites the request's bytes, see command_ring.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace portico::tcmu {

// A TCMU_OP_CMD entry: one SCSI command.
struct RingCommand {
  uint16_t cmd_id = 0;
  // The CDB's bytes, as many as the kernel copied (cdb_length.h).
  std::vector<uint8_t> cdb;
  // req.iov[0, iov_cnt): the command's data buffers in the region's data area (Data-Out to read
  // for a write, Data-In to fill for a read). They stay valid until this command is completed.
  std::vector<std::span<uint8_t>> data;
  // The next iov_bidi_cnt iovecs: the Data-In buffers of a bidirectional command.
  std::vector<std::span<uint8_t>> bidi;
  // Non-empty when the entry's iovecs or CDB lie outside where the kernel puts them: the command
  // must not run (data and bidi are empty) but must still be completed, with an error status, so
  // that the kernel reclaims its slot.
  std::string malformed;

  [[nodiscard]] uint64_t data_bytes() const {
    uint64_t total = 0;
    for (const auto& buffer : data) total += buffer.size();
    return total;
  }
};

// A TCMU_OP_TMR entry (Linux 5.11 and later, when the mailbox has TCMU_MAILBOX_FLAG_CAP_TMR): a
// task management function reached the device. It needs no completion; the commands it names
// still do (the kernel completes them as aborted whatever status userspace gives).
// TCMU_TMR_* of linux/target_core_user.h (whose inline helpers are not valid C++).
namespace tmr {
inline constexpr uint8_t kAbortTask = 1;
inline constexpr uint8_t kAbortTaskSet = 2;
inline constexpr uint8_t kClearAca = 3;
inline constexpr uint8_t kClearTaskSet = 4;
inline constexpr uint8_t kLunReset = 5;
inline constexpr uint8_t kTargetWarmReset = 6;
inline constexpr uint8_t kTargetColdReset = 7;
inline constexpr uint8_t kLunResetPro = 128;  // LIO's pseudo reset after a PR OUT it emulated
}  // namespace tmr

struct RingTmr {
  uint8_t type = 0;               // tmr::k*
  std::vector<uint16_t> cmd_ids;  // commands in the ring it aborts
};

// The ring itself is inconsistent (an entry of length 0, an entry past the ring's end or past
// cmd_head, an unknown opcode, cmd_head out of range): nothing after this point can be trusted,
// and the device must stop using the ring. next() keeps returning the same fault.
struct RingFault {
  std::string reason;
};

using RingEntry = std::variant<RingCommand, RingTmr, RingFault>;

}  // namespace portico::tcmu
