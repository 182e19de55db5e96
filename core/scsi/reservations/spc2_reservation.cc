#include "core/scsi/reservations/spc2_reservation.h"

#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

PrOutOutcome with_status(ScsiStatus status) {
  PrOutOutcome out;
  out.status = status;
  return out;
}

// SPC-4 5.13.3: a persistent reservation holder, or a registrant under a registrants-only or
// all-registrants reservation, gets GOOD for RESERVE and RELEASE with nothing changed.
bool exempt_by_persistent_reservation(const ReservationState& state, const ItNexus& nexus) {
  if (!state.reservation) return false;
  if (state.is_holder(nexus)) return true;
  const auto type = state.reservation->type;
  return (is_registrants_only(type) || is_all_registrants(type)) && state.is_registered(nexus);
}

}  // namespace

std::variant<Spc2Action, SenseData> decode_spc2_reserve_release(std::span<const uint8_t> cdb) {
  const uint8_t opcode = cdb[0];
  const bool reserve = opcode == op::kReserve6 || opcode == op::kReserve10;
  if (opcode == op::kReserve10 || opcode == op::kRelease10) {
    // SPC-2 RESERVE(10) / RELEASE(10): 3RDPTY (byte 1 bit 4) asks for a third-party
    // reservation and LONGID (bit 1) for a parameter list naming the third party; neither is
    // supported.
    if ((cdb[1] & 0x10) != 0) return invalid_field_in_cdb(1, 4);
    if ((cdb[1] & 0x02) != 0) return invalid_field_in_cdb(1, 1);
  }
  return reserve ? Spc2Action::reserve : Spc2Action::release;
}

PrOutOutcome apply_spc2_reserve_release(ReservationState& state, const ItNexus& nexus, Spc2Action action) {
  if (exempt_by_persistent_reservation(state, nexus)) return with_status(ScsiStatus::good);
  // SPC-2 5.5.1 (kept by SPC-4 5.13.3 "in all other cases ... as defined in SPC-2"): while any
  // I_T nexus is registered, every RESERVE and every RELEASE conflicts, whoever sends it.
  if (!state.registrants.empty() || state.reservation) return with_status(ScsiStatus::reservation_conflict);
  const std::string me = nexus.key();
  PrOutOutcome out;
  if (action == Spc2Action::reserve) {
    // SPC-2 RESERVE: a reservation held by another nexus conflicts; the holder may repeat it.
    if (!state.spc2_holder.empty() && state.spc2_holder != me) return with_status(ScsiStatus::reservation_conflict);
    if (state.spc2_holder.empty()) {
      state.spc2_holder = me;
      out.changed = true;
    }
    return out;
  }
  // SPC-2 RELEASE: RELEASE from a nexus that holds no reservation is GOOD and changes nothing.
  if (state.spc2_holder == me) {
    state.spc2_holder.clear();
    out.changed = true;
  }
  return out;
}

bool release_spc2_reservation_of(ReservationState& state, std::string_view nexus_key) {
  if (state.spc2_holder.empty() || state.spc2_holder != nexus_key) return false;
  state.spc2_holder.clear();
  return true;
}

bool release_spc2_reservation_on_reset(ReservationState& state) {
  if (state.spc2_holder.empty()) return false;
  state.spc2_holder.clear();
  return true;
}

}  // namespace portico::scsi
