// REPORT SUPPORTED OPERATION CODES (SPC-4 6.35) and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS
// (SPC-4 6.37). The table below is the list of what dispatch_command() implements.
#include <array>
#include <optional>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

struct CommandInfo {
  uint8_t opcode;
  std::optional<uint8_t> service_action;
  uint8_t cdb_length;
};

constexpr CommandInfo kCommands[] = {
    {op::kTestUnitReady, std::nullopt, 6},
    {op::kRequestSense, std::nullopt, 6},
    {op::kRead6, std::nullopt, 6},
    {op::kWrite6, std::nullopt, 6},
    {op::kInquiry, std::nullopt, 6},
    {op::kModeSelect6, std::nullopt, 6},
    {op::kReserve6, std::nullopt, 6},
    {op::kRelease6, std::nullopt, 6},
    {op::kModeSense6, std::nullopt, 6},
    {op::kStartStopUnit, std::nullopt, 6},
    {op::kPreventAllowMediumRemoval, std::nullopt, 6},
    {op::kReadCapacity10, std::nullopt, 10},
    {op::kRead10, std::nullopt, 10},
    {op::kWrite10, std::nullopt, 10},
    {op::kWriteAndVerify10, std::nullopt, 10},
    {op::kVerify10, std::nullopt, 10},
    {op::kPreFetch10, std::nullopt, 10},
    {op::kSynchronizeCache10, std::nullopt, 10},
    {op::kReadDefectData10, std::nullopt, 10},
    {op::kWriteSame10, std::nullopt, 10},
    {op::kUnmap, std::nullopt, 10},
    {op::kSanitize, op::kSaSanitizeOverwrite, 10},
    {op::kSanitize, op::kSaSanitizeBlockErase, 10},
    {op::kSanitize, op::kSaSanitizeCryptographicErase, 10},
    {op::kSanitize, op::kSaSanitizeExitFailureMode, 10},
    {op::kModeSelect10, std::nullopt, 10},
    {op::kReserve10, std::nullopt, 10},
    {op::kRelease10, std::nullopt, 10},
    {op::kModeSense10, std::nullopt, 10},
    {op::kPersistentReserveIn, std::nullopt, 10},
    {op::kPersistentReserveOut, std::nullopt, 10},
    {op::kRead16, std::nullopt, 16},
    {op::kCompareAndWrite, std::nullopt, 16},
    {op::kExtendedCopy, op::kSaExtendedCopyLid1, 16},
    {op::kReceiveCopyResults, op::kSaCopyStatus, 16},
    {op::kReceiveCopyResults, op::kSaReceiveData, 16},
    {op::kReceiveCopyResults, op::kSaOperatingParameters, 16},
    {op::kReceiveCopyResults, op::kSaFailedSegmentDetails, 16},
    {op::kOrWrite16, std::nullopt, 16},
    {op::kWrite16, std::nullopt, 16},
    {op::kWriteAndVerify16, std::nullopt, 16},
    {op::kVerify16, std::nullopt, 16},
    {op::kPreFetch16, std::nullopt, 16},
    {op::kSynchronizeCache16, std::nullopt, 16},
    {op::kWriteSame16, std::nullopt, 16},
    {op::kWriteAtomic16, std::nullopt, 16},
    {op::kServiceActionIn16, op::kSaReadCapacity16, 16},
    {op::kServiceActionIn16, op::kSaGetLbaStatus, 16},
    {op::kReportLuns, std::nullopt, 12},
    {op::kMaintenanceIn, op::kSaReportTargetPortGroups, 12},
    {op::kMaintenanceIn, op::kSaReportSupportedOpcodes, 12},
    {op::kMaintenanceIn, op::kSaReportSupportedTmfs, 12},
    {op::kRead12, std::nullopt, 12},
    {op::kWrite12, std::nullopt, 12},
    {op::kReadDefectData12, std::nullopt, 12},
    {op::kWriteAndVerify12, std::nullopt, 12},
    {op::kVerify12, std::nullopt, 12},
};

bool has_service_actions(uint8_t opcode) {
  for (const auto& c : kCommands) {
    if (c.opcode == opcode && c.service_action) return true;
  }
  return false;
}

// SPC-4 6.35.3: the CDB usage data: which bits of each CDB byte the command looks at. Byte 0
// is the operation code, the service action bits come next, the control byte's NACA is not
// supported (so not usable).
std::vector<uint8_t> usage_data(const CommandInfo& c) {
  if (auto copy_usage = third_party_copy_cdb_usage(c.opcode, c.service_action)) return *copy_usage;
  std::vector<uint8_t> usage(c.cdb_length, 0xff);
  usage[0] = c.opcode;
  if (c.service_action) usage[1] = static_cast<uint8_t>(0xe0 | *c.service_action);
  usage.back() = 0x00;
  return usage;
}

// SPC-4 6.35.4: command timeouts descriptor (no timeout is reported: zero = not specified).
void append_timeouts(std::vector<uint8_t>& out) {
  const size_t at = out.size();
  out.resize(at + 12, 0);
  store_be16(out.data() + at, 0x0a);
}

}  // namespace

void handle_report_supported_opcodes(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool rctd = (cdb[2] & 0x80) != 0;
  const uint8_t options = cdb[2] & 0x07;
  const uint8_t requested_opcode = cdb[3];
  const uint16_t requested_sa = load_be16(cdb.data() + 4);
  const uint32_t allocation_length = load_be32(cdb.data() + 6);
  std::vector<uint8_t> out;
  if (options == 0) {
    out.assign(4, 0);
    for (const auto& c : kCommands) {
      const size_t at = out.size();
      out.resize(at + 8, 0);
      out[at] = c.opcode;
      if (c.service_action) store_be16(out.data() + at + 2, *c.service_action);
      out[at + 5] = static_cast<uint8_t>((rctd ? 0x02 : 0x00) | (c.service_action ? 0x01 : 0x00));
      store_be16(out.data() + at + 6, c.cdb_length);
      if (rctd) append_timeouts(out);
    }
    store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
  } else if (options == 1 || options == 2 || options == 3) {
    // 001b: opcode without service actions; 010b: opcode + service action; 011b: either.
    if (options == 1 && has_service_actions(requested_opcode)) {
      unit.fail(task, invalid_field_in_cdb(2, 2));
      return;
    }
    if (options == 2 && !has_service_actions(requested_opcode)) {
      unit.fail(task, invalid_field_in_cdb(2, 2));
      return;
    }
    const CommandInfo* found = nullptr;
    for (const auto& c : kCommands) {
      const bool sa_matches = !c.service_action || *c.service_action == requested_sa;
      if (c.opcode == requested_opcode && sa_matches) found = &c;
    }
    out.assign(4, 0);
    if (found == nullptr) {
      out[1] = 0x01;  // SUPPORT 001b: not supported
    } else {
      out[1] = static_cast<uint8_t>((rctd ? 0x80 : 0x00) | 0x03);  // CTDP, SUPPORT 011b
      const auto usage = usage_data(*found);
      store_be16(out.data() + 2, static_cast<uint16_t>(usage.size()));
      out.insert(out.end(), usage.begin(), usage.end());
      if (rctd) append_timeouts(out);
    }
  } else {
    unit.fail(task, invalid_field_in_cdb(2, 2));
    return;
  }
  respond_with_data(task, out, allocation_length);
  unit.complete(task);
}

void handle_report_supported_tmfs(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool extended = (cdb[2] & 0x80) != 0;  // REPD
  const uint32_t allocation_length = load_be32(cdb.data() + 6);
  std::vector<uint8_t> out(extended ? 16 : 4, 0);
  // ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, QUERY TASK, TARGET RESET;
  // QUERY ASYNCHRONOUS EVENT, QUERY TASK SET, I_T NEXUS RESET. No CLEAR ACA (NACA unsupported).
  out[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x04 | 0x02;
  out[1] = 0x04 | 0x02 | 0x01;
  if (extended) out[3] = 0x0c;
  respond_with_data(task, out, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
