// Reservation Report data (NVMe Base 2.0, "Reservation Report command"): the reservation state of
// a namespace as an NVMe host reads it, built from the state both command sets share.
//   EDS = 1 (extended): 64-byte header - GEN at 0, RTYPE 4, REGCTL 5-6, PTPLS 9 - then 64 bytes
//     per registrant: CNTLID 0-1, RCSTS 2 (bit 0: holds the reservation), RKEY 8-15, HOSTID 16-31.
//   EDS = 0: 24-byte header, then 24 bytes per registrant: CNTLID, RCSTS, HOSTID (64-bit) at 8,
//     RKEY at 16.
// Linux: struct nvme_reservation_status(_ext), nvme_registered_ctrl(_ext); nvmet's builder is
// nvmet_execute_pr_report (drivers/nvme/target/pr.c), which marks every registrant as holding for
// the all-registrants types and reports CNTLID FFFFh.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "core/nvme/status.h"
#include "core/reservations/reservation_state.h"

namespace portico::nvme {

// A registrant as the report names it.
struct RegisteredController {
  uint16_t controller_id = 0xffff;  // FFFFh: no one controller (dynamic model, or not NVMe)
  std::array<uint8_t, 16> host_id{};
  bool host_id_128_bit = true;  // NVMe over Fabrics hosts always use 128-bit host identifiers
};

// Says who an NVMe host's registration is (its Host Identifier, the controller it came through
// if there is one); empty for a registrant that is not an NVMe host.
using RegistrantLookup = std::function<std::optional<RegisteredController>(const Registrant&)>;

// How a SCSI initiator's registration appears to an NVMe host: CNTLID FFFFh and a host ID of
// 16 bytes derived from the registrant's initiator name - two FNV-1a 64 hashes of
// "scsi-initiator:" + name, marked as an RFC 9562 version 8 UUID - so the same initiator has the
// same host ID on every gateway and across restarts, and never equals an NVMe host's random
// (version 4) UUID. Its first 8 bytes are its 64-bit host ID (EDS = 0).
RegisteredController scsi_registrant_controller(std::string_view initiator_name);

enum class ReportFormat : uint8_t { compact = 0, extended = 1 };  // EDS, CDW11 bit 0

// The whole report; the caller returns the first (NUMD + 1) * 4 bytes. A compact report that would
// need a 128-bit host ID is refused with Host Identifier Inconsistent Format (as nvmet, whose
// host IDs are all 128-bit, refuses EDS = 0).
std::variant<std::vector<uint8_t>, CompletionStatus> reservation_report(const ReservationState& state,
                                                                         const RegistrantLookup& lookup,
                                                                         ReportFormat format);

}  // namespace portico::nvme
