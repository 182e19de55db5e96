// ALUA access states (SPC-4 5.16.2): a command through a port whose target port group is not
// active/optimized or active/non-optimized is refused with NOT READY, except the commands each
// state allows. The group states are the unit's (core/unit_access_state.cc).
#include "core/scsi/commands.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

bool allowed_in_any_state(std::span<const uint8_t> cdb) {
  switch (cdb[0]) {
    case op::kInquiry:
    case op::kReportLuns:
    case op::kRequestSense:
      return true;
    case op::kMaintenanceIn:  // REPORT TARGET PORT GROUPS and the REPORT SUPPORTED commands
      return true;
    default:
      return false;
  }
}

// SPC-4 5.16.2.4.4: standby also allows mode and reservation commands.
bool allowed_in_standby(std::span<const uint8_t> cdb) {
  switch (cdb[0]) {
    case op::kModeSense6:
    case op::kModeSense10:
    case op::kModeSelect6:
    case op::kModeSelect10:
    case op::kPersistentReserveIn:
    case op::kPersistentReserveOut:
      return true;
    default:
      return allowed_in_any_state(cdb);
  }
}

}  // namespace

std::optional<SenseData> LogicalUnit::access_state_refusal(const ScsiTask& task, const NexusState& nexus) const {
  if (!state_is_current() && !allowed_in_any_state(task.cdb())) {
    // The cached reservations may be stale: serving could let a preempted initiator write. NOT
    // READY, LOGICAL UNIT COMMUNICATION FAILURE is what a lost backend answers too
    // (io_error_sense.cc): no Linux layer retries it on this path, dm-multipath fails the path
    // and retries the I/O on another gateway, and its path checker keeps the path down while
    // TEST UNIT READY gets the same answer. (04/0A, a transition, would be requeued here.)
    return SenseData{SenseKey::not_ready, asc::kLogicalUnitCommunicationFailure, std::nullopt, std::nullopt};
  }
  const AluaState state = access_state(nexus.nexus().target_port_group_id);
  const auto cdb = task.cdb();
  switch (state) {
    case AluaState::active_optimized:
    case AluaState::active_non_optimized:
      return std::nullopt;
    case AluaState::standby:
      if (allowed_in_standby(cdb)) return std::nullopt;
      return SenseData{SenseKey::not_ready, asc::kNotAccessibleStandby, std::nullopt, std::nullopt};
    case AluaState::unavailable:
      if (allowed_in_any_state(cdb)) return std::nullopt;
      return SenseData{SenseKey::not_ready, asc::kNotAccessibleUnavailable, std::nullopt, std::nullopt};
    case AluaState::transitioning:
      if (allowed_in_any_state(cdb)) return std::nullopt;
      return SenseData{SenseKey::not_ready, asc::kNotAccessibleTransitioning, std::nullopt, std::nullopt};
  }
  return std::nullopt;
}

}  // namespace portico::scsi
