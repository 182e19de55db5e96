#include "core/scsi/reservations/access_rules.h"

#include "core/reservations/conflict_table.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

using Access = MediumAccess;

using op::kPersistentReserveIn;
using op::kPersistentReserveOut;
using op::kRelease10;
using op::kRelease6;
using op::kReserve10;
using op::kReserve6;

Access classify(std::span<const uint8_t> cdb) {
  switch (cdb[0]) {
    // Allowed whatever the reservation (SPC-4 Table 59 "Allowed" in every column).
    case op::kInquiry:
    case op::kReportLuns:
    case op::kRequestSense:
    case op::kTestUnitReady:
    case op::kReadCapacity10:
    case kPersistentReserveIn:
    case kPersistentReserveOut:  // the PR OUT engine decides
    case op::kMaintenanceIn:     // REPORT TARGET PORT GROUPS, REPORT SUPPORTED OPCODES / TMFS
      return Access::unrestricted;
    case op::kServiceActionIn16:
      // READ CAPACITY(16) is allowed; GET LBA STATUS reads.
      return (cdb[1] & 0x1f) == op::kSaReadCapacity16 ? Access::unrestricted : Access::read;
    case op::kRead6:
    case op::kRead10:
    case op::kRead12:
    case op::kRead16:
    case op::kVerify10:
    case op::kVerify12:
    case op::kVerify16:
    case op::kPreFetch10:
    case op::kPreFetch16:
    case op::kModeSense6:
    case op::kModeSense10:
    case op::kReadDefectData10:
    case op::kReadDefectData12:
    // EXTENDED COPY and RECEIVE COPY RESULTS are judged like a read on the unit that receives
    // them (through write exclusive, not through exclusive access); the copy itself is then
    // judged on its source as a read and its destination as a write (extended_copy.cc), so a
    // copy never writes where a WRITE from the same nexus would conflict.
    case op::kExtendedCopy:
    case op::kReceiveCopyResults:
      return Access::read;
    default:
      return Access::write;  // WRITE*, WRITE SAME, UNMAP, COMPARE AND WRITE, SYNCHRONIZE CACHE, ...
  }
}

// SPC-2 5.5.1: what a nexus that does not hold an SPC-2 reservation may still run on the
// reserved logical unit (RELEASE is the SPC-2 engine's: GOOD without effect).
bool allowed_for_spc2_non_holder(std::span<const uint8_t> cdb) {
  switch (cdb[0]) {
    case op::kInquiry:
    case op::kReportLuns:
    case op::kRequestSense:
      return true;
    case op::kPreventAllowMediumRemoval:
      return (cdb[4] & 0x03) == 0;  // only PREVENT = 0 (allow removal)
    case op::kServiceActionIn16:
      return (cdb[1] & 0x1f) == op::kSaReadCapacity16;
    case op::kMaintenanceIn:
      // REPORT TARGET PORT GROUPS: multipath must see the paths of a reserved unit.
      return (cdb[1] & 0x1f) == op::kSaReportTargetPortGroups;
    default:
      return false;
  }
}

}  // namespace

bool reservation_conflict(const ReservationState& state, const ItNexus& nexus, std::span<const uint8_t> cdb) {
  const uint8_t opcode = cdb[0];
  const bool spc2_command = opcode == kReserve6 || opcode == kRelease6 || opcode == kReserve10 || opcode == kRelease10;
  // RESERVE and RELEASE against persistent reservations and each other are the SPC-2 engine's
  // (spc2_reservation.h): it decides on the stored state, not this cache.
  if (spc2_command) return false;
  if (!state.spc2_holder.empty()) {
    // SPC-2 5.5.1: while an SPC-2 reservation exists, every PERSISTENT RESERVE IN and OUT
    // conflicts, whichever nexus sends it.
    if (opcode == kPersistentReserveIn || opcode == kPersistentReserveOut) return true;
    if (state.spc2_holder != nexus.key()) return !allowed_for_spc2_non_holder(cdb);
  }
  return reservation_blocks(state, nexus, classify(cdb));
}

}  // namespace portico::scsi
