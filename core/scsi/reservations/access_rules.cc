#include "core/scsi/reservations/access_rules.h"

#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

enum class Access : uint8_t { always, read, write };

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
      return Access::always;
    case op::kServiceActionIn16:
      // READ CAPACITY(16) is allowed; GET LBA STATUS reads.
      return (cdb[1] & 0x1f) == op::kSaReadCapacity16 ? Access::always : Access::read;
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
      return Access::read;
    default:
      return Access::write;  // WRITE*, WRITE SAME, UNMAP, COMPARE AND WRITE, SYNCHRONIZE CACHE, ...
  }
}

}  // namespace

bool reservation_conflict(const ReservationState& state, const ItNexus& nexus, std::span<const uint8_t> cdb) {
  const uint8_t opcode = cdb[0];
  const bool spc2_command = opcode == kReserve6 || opcode == kRelease6 || opcode == kReserve10 || opcode == kRelease10;
  if (spc2_command) {
    // SPC-4 5.12.3: while any persistent registration exists, RESERVE and RELEASE conflict.
    return !state.registrants.empty() || state.reservation.has_value();
  }
  if (!state.spc2_holder.empty() && state.spc2_holder != nexus.key()) {
    // SPC-2 7.21: a reserved LU refuses other nexuses except for a few informational commands.
    return !(opcode == op::kInquiry || opcode == op::kReportLuns || opcode == op::kRequestSense ||
             (opcode == op::kServiceActionIn16 && (cdb[1] & 0x1f) == op::kSaReadCapacity16));
  }
  if (!state.reservation) return false;
  const Access access = classify(cdb);
  if (access == Access::always || state.is_holder(nexus)) return false;
  const bool registered = state.is_registered(nexus);
  switch (state.reservation->type) {
    case ReservationType::write_exclusive: return access == Access::write;
    case ReservationType::exclusive_access: return true;
    case ReservationType::write_exclusive_registrants_only:
    case ReservationType::write_exclusive_all_registrants: return access == Access::write && !registered;
    case ReservationType::exclusive_access_registrants_only:
    case ReservationType::exclusive_access_all_registrants: return !registered;
  }
  return false;
}

}  // namespace portico::scsi
