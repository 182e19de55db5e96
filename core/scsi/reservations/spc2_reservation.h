// SPC-2 RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 5.5.1 and the commands' clauses) with
// SPC-4 5.13.3's exceptions for a logical unit that also has persistent reservations: pure
// functions of the reservation state and the I_T nexus. The holder of an SPC-2 reservation is
// one I_T nexus (ItNexus::key()); the reservation ends on RELEASE from it, on a LOGICAL UNIT
// RESET or target reset, and when that nexus is lost.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "core/scsi/it_nexus.h"
#include "core/scsi/reservations/persistent_reserve_out.h"
#include "core/reservations/reservation_state.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

enum class Spc2Action : uint8_t { reserve, release };

// Decodes a RESERVE(6)/(10) or RELEASE(6)/(10) CDB. Third-party reservations (3RDPTY,
// LONGID) are not supported and end with INVALID FIELD IN CDB.
std::variant<Spc2Action, SenseData> decode_spc2_reserve_release(std::span<const uint8_t> cdb);

// Applies RESERVE or RELEASE from `nexus`. The outcome's `changed` says whether the state must
// be stored; SPC-2 reservations raise no unit attentions.
PrOutOutcome apply_spc2_reserve_release(ReservationState& state, const ItNexus& nexus, Spc2Action action);

// SAM-5 6.3 (I_T nexus loss): the SPC-2 reservation held by the nexus `nexus_key` ends with
// that nexus (logout, connection loss, I_T NEXUS RESET). True when the state changed.
bool release_spc2_reservation_of(ReservationState& state, std::string_view nexus_key);

// SAM-5 6.3 (logical unit reset): LOGICAL UNIT RESET and the target resets end any SPC-2 reservation
// (persistent reservations survive them). True when the state changed.
bool release_spc2_reservation_on_reset(ReservationState& state);

}  // namespace portico::scsi
