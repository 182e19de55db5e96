// What an initiator must learn about a unit because of something another initiator, a reset or
// the cluster did. The shared core raises notices; each command set turns one into its own form:
// SCSI a unit attention (sense key 6h with its ASC/ASCQ, core/scsi/notice_sense.h), NVMe a log
// page entry plus an asynchronous event. Nothing protocol-specific travels with a notice.
#pragma once

#include <cstdint>

namespace portico {

enum class Notice : uint8_t {
  reset_occurred,                        // a logical unit reset (task management, cluster event)
  commands_cleared_by_another_initiator, // another initiator's abort ended this one's commands
  registrations_preempted,               // this initiator's registration was removed by PREEMPT
  reservations_preempted,                // the reservation was cleared or taken over
  reservations_released,                 // the reservation this registrant shared was released
  mode_parameters_changed,               // the unit's changeable parameters changed
  capacity_changed,                      // the unit's size changed
  access_state_changed,                  // a port group's access state (ALUA / ANA) changed
};

inline const char* notice_name(Notice notice) {
  switch (notice) {
    case Notice::reset_occurred: return "reset occurred";
    case Notice::commands_cleared_by_another_initiator: return "commands cleared by another initiator";
    case Notice::registrations_preempted: return "registrations preempted";
    case Notice::reservations_preempted: return "reservations preempted";
    case Notice::reservations_released: return "reservations released";
    case Notice::mode_parameters_changed: return "mode parameters changed";
    case Notice::capacity_changed: return "capacity changed";
    case Notice::access_state_changed: return "access state changed";
  }
  return "unknown notice";
}

}  // namespace portico
