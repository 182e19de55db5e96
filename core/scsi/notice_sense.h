// The unit attention condition (SAM-5 5.14, SPC-4 Annex D) that tells a SCSI initiator about a
// core notice.
#pragma once

#include "core/notice.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

constexpr Asc unit_attention_of(Notice notice) {
  switch (notice) {
    case Notice::reset_occurred: return asc::kBusDeviceResetOccurred;
    case Notice::commands_cleared_by_another_initiator: return asc::kCommandsClearedByAnotherInitiator;
    case Notice::registrations_preempted: return asc::kRegistrationsPreempted;
    case Notice::reservations_preempted: return asc::kReservationsPreempted;
    case Notice::reservations_released: return asc::kReservationsReleased;
    case Notice::mode_parameters_changed: return asc::kModeParametersChanged;
    case Notice::capacity_changed: return asc::kCapacityDataChanged;
    case Notice::access_state_changed: return asc::kAsymmetricAccessStateChanged;
  }
  return asc::kBusDeviceResetOccurred;
}

}  // namespace portico::scsi
