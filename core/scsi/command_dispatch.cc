// Routes a command to its handler. Commands the core does not implement get INVALID COMMAND
// OPERATION CODE (SPC-4 4.5.6); a CDB shorter than its operation code needs is refused.
#include <algorithm>
#include <cstring>

#include "core/scsi/cdb.h"
#include "core/scsi/commands.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {

void respond_with_data(ScsiTask& task, std::span<const uint8_t> bytes, uint32_t allocation_length) {
  const auto length = static_cast<uint32_t>(std::min<size_t>(bytes.size(), allocation_length));
  task.status = ScsiStatus::good;
  task.data_in_length = length;
  if (length == 0) return;
  if (task.data_in.size() < length) task.data_in = IoBuffer(length);
  std::memcpy(task.data_in.data(), bytes.data(), length);
}

void dispatch_command(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint8_t opcode = cdb[0];
  if (auto bad = check_control_byte(cdb)) {
    unit.fail(task, *bad);
    return;
  }
  switch (opcode) {
    case op::kTestUnitReady:
      task.status = ScsiStatus::good;
      unit.complete(task);
      return;
    case op::kInquiry:
      handle_inquiry(unit, task);
      return;
    case op::kModeSense6:
    case op::kModeSense10:
      handle_mode_sense(unit, task);
      return;
    case op::kModeSelect6:
    case op::kModeSelect10:
      handle_mode_select(unit, task);
      return;
    case op::kReadCapacity10:
      handle_read_capacity10(unit, task);
      return;
    case op::kServiceActionIn16:
      if ((cdb[1] & 0x1f) == op::kSaReadCapacity16) {
        handle_read_capacity16(unit, task);
        return;
      }
      if ((cdb[1] & 0x1f) == op::kSaGetLbaStatus) {
        handle_get_lba_status(unit, task);
        return;
      }
      unit.fail(task, invalid_field_in_cdb(1, 4));
      return;
    case op::kMaintenanceIn:
      if ((cdb[1] & 0x1f) == op::kSaReportTargetPortGroups) {
        handle_report_target_port_groups(unit, task);
        return;
      }
      if ((cdb[1] & 0x1f) == op::kSaReportSupportedOpcodes) {
        handle_report_supported_opcodes(unit, task);
        return;
      }
      if ((cdb[1] & 0x1f) == op::kSaReportSupportedTmfs) {
        handle_report_supported_tmfs(unit, task);
        return;
      }
      unit.fail(task, invalid_field_in_cdb(1, 4));
      return;
    case op::kRead6:
    case op::kRead10:
    case op::kRead12:
    case op::kRead16:
      handle_read(unit, task);
      return;
    case op::kWrite6:
    case op::kWrite10:
    case op::kWrite12:
    case op::kWrite16:
      handle_write(unit, task);
      return;
    case op::kUnmap:
      handle_unmap(unit, task);
      return;
    case op::kWriteSame10:
    case op::kWriteSame16:
      handle_write_same(unit, task);
      return;
    case op::kVerify10:
    case op::kVerify12:
    case op::kVerify16:
      handle_verify(unit, task);
      return;
    case op::kWriteAndVerify10:
    case op::kWriteAndVerify12:
    case op::kWriteAndVerify16:
      handle_write_and_verify(unit, task);
      return;
    case op::kPreFetch10:
    case op::kPreFetch16:
      handle_pre_fetch(unit, task);
      return;
    case op::kReadDefectData10:
    case op::kReadDefectData12:
      handle_read_defect_data(unit, task);
      return;
    case op::kOrWrite16:
      handle_orwrite(unit, task);
      return;
    case op::kPreventAllowMediumRemoval:
      handle_prevent_allow_medium_removal(unit, task);
      return;
    case op::kStartStopUnit:
      handle_start_stop_unit(unit, task);
      return;
    case op::kPersistentReserveIn:
      handle_persistent_reserve_in(unit, task);
      return;
    case op::kPersistentReserveOut:
      handle_persistent_reserve_out(unit, task);
      return;
    case op::kReserve6:
    case op::kRelease6:
    case op::kReserve10:
    case op::kRelease10:
      handle_spc2_reserve_release(unit, task);
      return;
    case op::kCompareAndWrite:
      handle_compare_and_write(unit, task);
      return;
    case op::kExtendedCopy:
      handle_extended_copy(unit, task);
      return;
    case op::kReceiveCopyResults:
      handle_receive_copy_results(unit, task);
      return;
    case op::kSanitize:
      handle_sanitize(unit, task);
      return;
    case op::kWriteAtomic16:
      handle_write_atomic(unit, task);
      return;
    case op::kSynchronizeCache10:
    case op::kSynchronizeCache16:
      handle_synchronize_cache(unit, task);
      return;
    default:
      unit.fail(task, illegal_request(asc::kInvalidCommandOperationCode));
      return;
  }
}

}  // namespace portico::scsi
