#include "core/nvme/reservation_types.h"

namespace portico::nvme {

std::optional<ReservationType> reservation_type_from_nvme(uint8_t rtype) {
  switch (rtype) {
    case 1: return ReservationType::write_exclusive;
    case 2: return ReservationType::exclusive_access;
    case 3: return ReservationType::write_exclusive_registrants_only;
    case 4: return ReservationType::exclusive_access_registrants_only;
    case 5: return ReservationType::write_exclusive_all_registrants;
    case 6: return ReservationType::exclusive_access_all_registrants;
    default: return std::nullopt;
  }
}

NvmeReservationType to_nvme(ReservationType type) {
  switch (type) {
    case ReservationType::write_exclusive: return NvmeReservationType::write_exclusive;
    case ReservationType::exclusive_access: return NvmeReservationType::exclusive_access;
    case ReservationType::write_exclusive_registrants_only:
      return NvmeReservationType::write_exclusive_registrants_only;
    case ReservationType::exclusive_access_registrants_only:
      return NvmeReservationType::exclusive_access_registrants_only;
    case ReservationType::write_exclusive_all_registrants: return NvmeReservationType::write_exclusive_all_registrants;
    case ReservationType::exclusive_access_all_registrants:
      return NvmeReservationType::exclusive_access_all_registrants;
  }
  return NvmeReservationType::write_exclusive;
}

}  // namespace portico::nvme
