// PERSISTENT RESERVE IN (SPC-4 6.15): the parameter data for READ KEYS, READ RESERVATION,
// REPORT CAPABILITIES and READ FULL STATUS, built from the reservation state.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/reservations/reservation_state.h"

namespace portico::scsi {

// nullopt: the service action is not one of the four (INVALID FIELD IN CDB).
std::optional<std::vector<uint8_t>> persistent_reserve_in_data(const ReservationState& state, uint8_t service_action);

}  // namespace portico::scsi
