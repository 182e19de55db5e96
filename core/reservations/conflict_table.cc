#include "core/reservations/conflict_table.h"

namespace portico {

bool reservation_blocks(const ReservationState& state, const Initiator& who, MediumAccess access) {
  if (!state.reservation || access == MediumAccess::unrestricted || state.is_holder(who)) return false;
  const bool registered = state.is_registered(who);
  switch (state.reservation->type) {
    case ReservationType::write_exclusive: return access == MediumAccess::write;
    case ReservationType::exclusive_access: return true;
    case ReservationType::write_exclusive_registrants_only:
    case ReservationType::write_exclusive_all_registrants: return access == MediumAccess::write && !registered;
    case ReservationType::exclusive_access_registrants_only:
    case ReservationType::exclusive_access_all_registrants: return !registered;
  }
  return false;
}

}  // namespace portico
