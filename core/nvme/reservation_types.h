// NVMe reservation types (RTYPE 1h..6h; NVMe Base 2.0, "Reservations"; Linux: enum nvme_pr_type)
// and the shared model's ReservationType, which keeps SPC-4's codes (core/reservations/
// reservation_state.h). The six types mean the same in both command sets; only the numbers differ.
#pragma once

#include <cstdint>
#include <optional>

#include "core/reservations/reservation_state.h"

namespace portico::nvme {

enum class NvmeReservationType : uint8_t {
  write_exclusive = 1,
  exclusive_access = 2,
  write_exclusive_registrants_only = 3,
  exclusive_access_registrants_only = 4,
  write_exclusive_all_registrants = 5,
  exclusive_access_all_registrants = 6,
};

// RTYPE from a Reservation Acquire / Release: empty for 0 and 7h..FFh (Invalid Field, as nvmet).
std::optional<ReservationType> reservation_type_from_nvme(uint8_t rtype);
NvmeReservationType to_nvme(ReservationType type);

}  // namespace portico::nvme
