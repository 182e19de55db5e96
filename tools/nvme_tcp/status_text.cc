#include "tools/nvme_tcp/status_text.h"

#include <cstdio>

namespace portico::nvme_host {
namespace {

using nvme::StatusCodeType;

std::string_view generic_name(uint8_t sc) {
  switch (sc) {
    case 0x00: return "Successful Completion";
    case 0x01: return "Invalid Command Opcode";
    case 0x02: return "Invalid Field in Command";
    case 0x03: return "Command ID Conflict";
    case 0x04: return "Data Transfer Error";
    case 0x05: return "Commands Aborted due to Power Loss Notification";
    case 0x06: return "Internal Error";
    case 0x07: return "Command Abort Requested";
    case 0x08: return "Command Aborted due to SQ Deletion";
    case 0x09: return "Command Aborted due to Failed Fused Command";
    case 0x0a: return "Command Aborted due to Missing Fused Command";
    case 0x0b: return "Invalid Namespace or Format";
    case 0x0c: return "Command Sequence Error";
    case 0x0d: return "Invalid SGL Segment Descriptor";
    case 0x0e: return "Invalid Number of SGL Descriptors";
    case 0x0f: return "Data SGL Length Invalid";
    case 0x10: return "Metadata SGL Length Invalid";
    case 0x11: return "SGL Descriptor Type Invalid";
    case 0x16: return "SGL Offset Invalid";
    case 0x18: return "Host Identifier Inconsistent Format";
    case 0x19: return "Keep Alive Timer Expired";
    case 0x1a: return "Keep Alive Timeout Invalid";
    case 0x1b: return "Command Aborted due to Preempt and Abort";
    case 0x1d: return "Sanitize In Progress";
    case 0x20: return "Namespace is Write Protected";
    case 0x21: return "Command Interrupted";
    case 0x22: return "Transient Transport Error";
    case 0x80: return "LBA Out of Range";
    case 0x81: return "Capacity Exceeded";
    case 0x82: return "Namespace Not Ready";
    case 0x83: return "Reservation Conflict";
    default: return "Unknown";
  }
}

std::string_view command_specific_name(uint8_t sc) {
  switch (sc) {
    case 0x00: return "Completion Queue Invalid";
    case 0x01: return "Invalid Queue Identifier";
    case 0x02: return "Invalid Queue Size";
    case 0x03: return "Abort Command Limit Exceeded";
    case 0x05: return "Asynchronous Event Request Limit Exceeded";
    case 0x09: return "Invalid Log Page";
    case 0x0d: return "Feature Identifier Not Saveable";
    case 0x0e: return "Feature Not Changeable";
    case 0x0f: return "Feature Not Namespace Specific";
    case 0x80: return "Connect Incompatible Format / Conflicting Attributes";
    case 0x81: return "Connect Controller Busy";
    case 0x82: return "Connect Invalid Parameters";
    case 0x83: return "Connect Restart Discovery";
    case 0x84: return "Connect Invalid Host";
    default: return "Unknown";
  }
}

std::string_view media_name(uint8_t sc) {
  switch (sc) {
    case 0x80: return "Write Fault";
    case 0x81: return "Unrecovered Read Error";
    case 0x82: return "End-to-end Guard Check Error";
    case 0x83: return "End-to-end Application Tag Check Error";
    case 0x84: return "End-to-end Reference Tag Check Error";
    case 0x85: return "Compare Failure";
    case 0x86: return "Access Denied";
    case 0x87: return "Deallocated or Unwritten Logical Block";
    default: return "Unknown";
  }
}

std::string_view path_name(uint8_t sc) {
  switch (sc) {
    case 0x00: return "Internal Path Error";
    case 0x01: return "Asymmetric Access Persistent Loss";
    case 0x02: return "Asymmetric Access Inaccessible";
    case 0x03: return "Asymmetric Access Transition";
    case 0x60: return "Controller Pathing Error";
    case 0x70: return "Host Pathing Error";
    case 0x71: return "Command Aborted By Host";
    default: return "Unknown";
  }
}

}  // namespace

std::string_view status_name(const nvme::CompletionStatus& status) {
  switch (status.type) {
    case StatusCodeType::generic: return generic_name(status.code);
    case StatusCodeType::command_specific: return command_specific_name(status.code);
    case StatusCodeType::media_error: return media_name(status.code);
    case StatusCodeType::path: return path_name(status.code);
    case StatusCodeType::vendor_specific: return "Vendor Specific";
  }
  return "Unknown";
}

std::string describe_status(const nvme::CompletionStatus& status) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "SCT 0x%x SC 0x%02x", static_cast<unsigned>(status.type),
                static_cast<unsigned>(status.code));
  std::string text = std::string(buf) + " (" + std::string(status_name(status)) + ")";
  if (status.do_not_retry) text += ", DNR";
  if (status.more) text += ", More";
  return text;
}

std::string_view fatal_error_status_name(uint16_t fes) {
  switch (fes) {
    case 0x01: return "Invalid PDU Header Field";
    case 0x02: return "PDU Sequence Error";
    case 0x03: return "Header Digest Error";
    case 0x04: return "Data Transfer Out of Range";
    case 0x05: return "Data Transfer Limit Exceeded";
    case 0x06: return "Unsupported Parameter";
    default: return "Unknown";
  }
}

Status command_failed(std::string_view what, const nvme::CompletionStatus& status) {
  return error(ErrorCode::io_error, std::string(what) + ": NVMe status " + describe_status(status));
}

Status require_success(const Result<Completion>& result, std::string_view what) {
  if (!result.ok()) return result.status();
  if (!result->ok()) return command_failed(what, result->cqe.status);
  return {};
}

}  // namespace portico::nvme_host
