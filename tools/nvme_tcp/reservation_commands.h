// Reservation commands (NVMe Base 2.0, "Reservations"; NVM I/O opcodes 0Dh, 0Eh, 11h, 15h) and
// the Reservation Report data the target builds in core/nvme/reservation_report.h.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/common/result.h"
#include "tools/nvme_tcp/command.h"
#include "tools/nvme_tcp/host_queue.h"

namespace portico::nvme_host {

namespace reservation_opcode {
inline constexpr uint8_t kRegister = 0x0d;
inline constexpr uint8_t kReport = 0x0e;
inline constexpr uint8_t kAcquire = 0x11;
inline constexpr uint8_t kRelease = 0x15;
}  // namespace reservation_opcode

enum class RegisterAction : uint8_t { register_key = 0, unregister = 1, replace = 2 };  // RREGA
enum class AcquireAction : uint8_t { acquire = 0, preempt = 1, preempt_and_abort = 2 };  // RACQA
enum class ReleaseAction : uint8_t { release = 0, clear = 1 };                          // RRELA
// CPTPL: change Persist Through Power Loss.
enum class PtplChange : uint8_t { no_change = 0, clear = 2, set = 3 };

struct RegisterArgs {
  uint32_t nsid = 1;
  RegisterAction action = RegisterAction::register_key;
  uint64_t current_key = 0;  // CRKEY
  uint64_t new_key = 0;      // NRKEY
  bool ignore_existing_key = false;  // IEKEY
  PtplChange ptpl = PtplChange::no_change;
};

struct AcquireArgs {
  uint32_t nsid = 1;
  AcquireAction action = AcquireAction::acquire;
  uint8_t type = 1;          // RTYPE 1..6 (nvme::NvmeReservationType)
  uint64_t current_key = 0;  // CRKEY
  uint64_t preempt_key = 0;  // PRKEY
  bool ignore_existing_key = false;
};

struct ReleaseArgs {
  uint32_t nsid = 1;
  ReleaseAction action = ReleaseAction::release;
  uint8_t type = 1;
  uint64_t current_key = 0;
  bool ignore_existing_key = false;
};

// The data parts stay with the caller until the command completes.
using RegisterData = std::array<uint8_t, 16>;  // CRKEY 0-7, NRKEY 8-15
using AcquireData = std::array<uint8_t, 16>;   // CRKEY 0-7, PRKEY 8-15
using ReleaseData = std::array<uint8_t, 8>;    // CRKEY 0-7

Command register_command(const RegisterArgs& args, RegisterData& data);
Command acquire_command(const AcquireArgs& args, AcquireData& data);
Command release_command(const ReleaseArgs& args, ReleaseData& data);
// CDW10 NUMD (0's based dwords), CDW11 bit 0 EDS (extended data structure).
Command report_command(uint32_t nsid, bool extended, std::span<uint8_t> buffer);

Result<Completion> reservation_register(Queue& queue, const RegisterArgs& args);
Result<Completion> reservation_acquire(Queue& queue, const AcquireArgs& args);
Result<Completion> reservation_release(Queue& queue, const ReleaseArgs& args);

struct RegisteredHost {
  uint16_t controller_id = 0;
  bool holds_reservation = false;  // RCSTS bit 0
  uint64_t key = 0;
  std::array<uint8_t, 16> host_id{};  // 8 bytes (then zeros) in the compact format
};

struct ReservationStatus {
  uint32_t generation = 0;
  uint8_t type = 0;  // 0: no reservation
  bool persist_through_power_loss = false;
  std::vector<RegisteredHost> registrants;
};

// Parses a report of either format; registrants the buffer cut off are left out.
ReservationStatus parse_reservation_report(std::span<const uint8_t> data, bool extended);
// Reads the report into a `buffer_bytes` buffer; an unsuccessful status becomes a Status.
Result<ReservationStatus> reservation_report(Queue& queue, uint32_t nsid, bool extended = true,
                                             uint32_t buffer_bytes = 4096);

}  // namespace portico::nvme_host
