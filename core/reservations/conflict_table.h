// Which accesses a persistent reservation lets through: one table for both command sets
// (SPC-4 5.12.1 Table 59 / SBC-3 4.18 Table 13; NVMe Base 2.0 §8.19 "Command behavior in the
// presence of a reservation" has the same rows). Each command set classifies its commands
// (core/scsi/reservations/access_rules.cc, core/nvme) and asks this table.
#pragma once

#include <cstdint>

#include "core/initiator.h"
#include "core/reservations/reservation_state.h"

namespace portico {

// What a command does to the medium, as the reservation rules see it.
enum class MediumAccess : uint8_t {
  unrestricted,  // identification, capacity, reservation commands: allowed whatever the reservation
  read,
  write,
};

// True when `access` by `who` must end in a reservation conflict under `state`'s persistent
// reservation (the holder never conflicts).
bool reservation_blocks(const ReservationState& state, const Initiator& who, MediumAccess access);

}  // namespace portico
