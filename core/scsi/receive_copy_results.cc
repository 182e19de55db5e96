// RECEIVE COPY RESULTS (SPC-4 6.18, the LID1 service actions): what the copy manager of this
// logical unit knows about the EXTENDED COPY commands of this I_T nexus, and its limits.
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/copy_manager.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

// SPC-4 6.18.3 COPY MANAGER STATUS values.
constexpr uint8_t kCopyInProgress = 0x00;
constexpr uint8_t kCopyCompleted = 0x01;
constexpr uint8_t kCopyCompletedWithErrors = 0x02;

// SPC-4 6.18.3: the transfer count in the smallest unit (bytes, KiB, MiB, ...) that fits 32 bits.
std::vector<uint8_t> copy_status(const CopyRecord& record) {
  std::vector<uint8_t> out(12, 0);
  store_be32(out.data(), 8);
  out[4] = record.in_progress ? kCopyInProgress : (record.failed ? kCopyCompletedWithErrors : kCopyCompleted);
  store_be16(out.data() + 5, record.segments_processed);
  uint64_t count = record.bytes_transferred;
  uint8_t units = 0;
  while (count > 0xffffffffu) {
    count >>= 10;
    ++units;
  }
  out[7] = units;
  store_be32(out.data() + 8, static_cast<uint32_t>(count));
  return out;
}

// SPC-4 6.18.4 OPERATING PARAMETERS.
std::vector<uint8_t> operating_parameters() {
  using namespace copy_limits;
  const std::vector<uint8_t> implemented_descriptors{0x02, 0xe4};  // block -> block, identification
  std::vector<uint8_t> out(44, 0);
  out[4] = 0x01;  // SNLID: LIST ID USAGE 11b (no list identifier) is supported
  store_be16(out.data() + 8, kMaxTargetDescriptors);
  store_be16(out.data() + 10, kMaxSegmentDescriptors);
  store_be32(out.data() + 12, kMaxDescriptorListLength);
  store_be32(out.data() + 16, kMaxSegmentBytes);
  store_be32(out.data() + 20, kMaxInlineDataLength);
  store_be32(out.data() + 24, 0);  // HELD DATA LIMIT: block -> block copies hold no data
  store_be32(out.data() + 28, 0);  // MAXIMUM STREAM DEVICE TRANSFER SIZE: no stream devices
  store_be16(out.data() + 34, kMaxConcurrentCopies);
  out[36] = static_cast<uint8_t>(kMaxConcurrentCopies);
  out[37] = 9;  // DATA SEGMENT GRANULARITY: 2^9, the smallest logical block
  out[38] = 0;
  out[39] = 0;
  out[43] = static_cast<uint8_t>(implemented_descriptors.size());
  out.insert(out.end(), implemented_descriptors.begin(), implemented_descriptors.end());
  store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
  return out;
}

// SPC-4 6.18.5 FAILED SEGMENT DETAILS: the status and sense of a copy that failed; nothing for
// one that is running or succeeded.
std::vector<uint8_t> failed_segment_details(const CopyRecord& record) {
  if (record.in_progress || !record.failed) return std::vector<uint8_t>(4, 0);
  std::vector<uint8_t> out(60, 0);
  out[56] = record.status;
  store_be16(out.data() + 58, static_cast<uint16_t>(record.sense.size()));
  out.insert(out.end(), record.sense.begin(), record.sense.end());
  store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
  return out;
}

}  // namespace

void handle_receive_copy_results(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint8_t service_action = cdb[1] & 0x1f;
  const uint8_t list_id = cdb[2];
  const uint32_t allocation_length = load_be32(cdb.data() + 10);
  const std::string nexus_key = task.nexus->nexus().key();
  std::vector<uint8_t> data;
  if (service_action == op::kSaOperatingParameters) {
    data = operating_parameters();
  } else if (service_action == op::kSaCopyStatus || service_action == op::kSaReceiveData ||
             service_action == op::kSaFailedSegmentDetails) {
    // SPC-4 6.18.1: a list identifier this nexus has no copy for is an invalid field.
    const auto record = unit.copy_manager().find(nexus_key, list_id);
    if (!record) {
      unit.fail(task, invalid_field_in_cdb(2));
      return;
    }
    if (service_action == op::kSaCopyStatus) {
      data = copy_status(*record);
    } else if (service_action == op::kSaReceiveData) {
      data.assign(4, 0);  // SPC-4 6.18.2: block -> block segments hold no data to return
    } else {
      data = failed_segment_details(*record);
      if (!record->sense.empty()) unit.copy_manager().discard_failure_details(nexus_key, list_id);
    }
  } else {
    unit.fail(task, invalid_field_in_cdb(1, 4));
    return;
  }
  respond_with_data(task, data, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
