// Which SCSI commands a reservation lets through: each CDB is classified as a medium access and
// judged by the shared conflict table (core/reservations/conflict_table.h: SPC-4 5.12.1 Table 59
// / SBC-3 4.18 Table 13); SPC-2 reservations are judged here. A pure check, run on every command
// before it starts, from the cached reservation state.
#pragma once

#include <cstdint>
#include <span>

#include "core/scsi/it_nexus.h"
#include "core/reservations/reservation_state.h"

namespace portico::scsi {

// True when `cdb` from `nexus` must end with RESERVATION CONFLICT.
bool reservation_conflict(const ReservationState& state, const ItNexus& nexus, std::span<const uint8_t> cdb);

}  // namespace portico::scsi
