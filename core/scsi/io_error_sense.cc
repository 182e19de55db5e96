// Why each errno gets its answer (io_error_sense.h). What a Linux host does with a status is
// decided in three places, all read for this choice:
//  - drivers/scsi/scsi_error.c scsi_check_sense() and scsi_decide_disposition(): DATA PROTECT
//    27/07 ("thin provisioning hard threshold reached") becomes SCSIML_STAT_NOSPC; any other
//    DATA PROTECT, and HARDWARE ERROR (unless the device is flagged retry_hwerror), becomes
//    SCSIML_STAT_TGT_FAILURE; MEDIUM ERROR with ASC 11h/13h/14h becomes SCSIML_STAT_MED_ERROR,
//    other MEDIUM ERRORs are retried (NEEDS_RETRY); NOT READY is passed up unless it is 04/01
//    (becoming ready); BUSY and TASK SET FULL are requeued (ADD_TO_MLQUEUE, TASK SET FULL also
//    lowering the queue depth) until the command's time budget runs out.
//  - drivers/scsi/scsi_lib.c scsi_result_to_blk_status() and scsi_io_completion_action(): the
//    scsi-ml byte gives BLK_STS_NOSPC / BLK_STS_TARGET / BLK_STS_MEDIUM; a CHECK CONDITION
//    without one gives BLK_STS_IOERR. NOT READY 04/0A (asymmetric access state transition) is
//    requeued on the same device after 1 s in current kernels (ACTION_DELAYED_REPREP; older ones
//    failed it with BLK_STS_TRANSPORT after the retries), so it does not move I/O to another
//    path promptly; scsi_dh_alua's alua_check_sense() handles only that NOT READY code.
//  - include/linux/blk_types.h blk_path_error(), used by dm-multipath's end_io: NOTSUPP, NOSPC,
//    TARGET, NEXUS/RESV_CONFLICT, MEDIUM and PROTECTION are not path errors (the I/O fails);
//    anything else (IOERR included) fails the path and the I/O is retried on another one.
// So a lost backend answers NOT READY with ASC 08h: a CHECK CONDITION that no layer retries in
// place and that ends as BLK_STS_IOERR, a path error.
#include "core/scsi/io_error_sense.h"

#include <spdlog/spdlog.h>

#include <cerrno>

#include "core/scsi/logical_unit.h"

namespace portico::scsi {
namespace {

constexpr Asc kLogicalUnitCommunicationTimeOut{0x08, 0x01};
constexpr Asc kSpaceAllocationFailedWriteProtect{0x27, 0x07};

IoErrorAnswer check_condition(IoFailure failure, SenseKey key, Asc asc) {
  return {failure, ScsiStatus::check_condition, SenseData{key, asc, std::nullopt, std::nullopt}};
}

}  // namespace

IoErrorAnswer io_error_answer(int error, IoDirection direction) {
  const IoFailure failure = classify_io_error(error);
  switch (failure) {
    case IoFailure::path_lost:
      // SPC-4 Annex D: LOGICAL UNIT COMMUNICATION FAILURE, or TIME-OUT for a backend that timed out.
      return check_condition(failure, SenseKey::not_ready,
                             error == ETIMEDOUT || error == ETIME ? kLogicalUnitCommunicationTimeOut
                                                                  : asc::kLogicalUnitCommunicationFailure);
    case IoFailure::out_of_space:
      // SBC-3 4.7 (logical block provisioning), resource exhaustion: a write that needs space the
      // thin-provisioned unit cannot allocate.
      return check_condition(failure, SenseKey::data_protect, kSpaceAllocationFailedWriteProtect);
    case IoFailure::write_protected:
      // SBC-3 4.10: the medium is write protected.
      return check_condition(failure, SenseKey::data_protect, asc::kWriteProtected);
    case IoFailure::medium:
      return check_condition(failure, SenseKey::medium_error,
                             direction == IoDirection::read ? asc::kUnrecoveredReadError : asc::kWriteError);
    case IoFailure::busy:
      // SAM-5 5.3.1: BUSY, the logical unit cannot accept the command right now.
      return {failure, ScsiStatus::busy, std::nullopt};
    case IoFailure::resources:
      // SAM-5 5.3.1: TASK SET FULL, the logical unit lacks resources for the command.
      return {failure, ScsiStatus::task_set_full, std::nullopt};
    case IoFailure::internal:
      break;
  }
  return check_condition(IoFailure::internal, SenseKey::hardware_error, asc::kInternalTargetFailure);
}

void LogicalUnit::fail_io(ScsiTask& task, int error, IoDirection direction) {
  const IoErrorAnswer answer = io_error_answer(error, direction);
  io_error_log_.report(name(), error, answer.failure, [&task, &answer]() {
    const auto cdb = task.cdb();
    std::string answered =
        answer.sense ? "CHECK CONDITION" : (answer.status == ScsiStatus::busy ? "BUSY" : "TASK SET FULL");
    if (answer.sense) {
      answered += fmt::format(" {:x}h {:02x}h/{:02x}h", static_cast<unsigned>(answer.sense->key),
                              answer.sense->asc.code, answer.sense->asc.qualifier);
    }
    return std::pair{fmt::format("opcode {:02x}h", cdb.empty() ? 0 : cdb[0]), answered};
  });
  if (answer.sense) {
    fail(task, *answer.sense);
  } else {
    fail(task, answer.status);
  }
}

}  // namespace portico::scsi
