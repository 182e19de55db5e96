// WRITE ATOMIC (16) (SBC-4 5.48): a write that no other command sees half done (SBC-4 4.29).
// The atomicity is the backend's (BlockDevice::write_atomic), never a lock in the core; the
// limits come from the backend and are reported in the Block Limits VPD page (bytes 44-55).
#include <algorithm>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {
namespace {

constexpr uint16_t kLbaByte = 2;
constexpr uint16_t kTransferLengthByte = 12;

}  // namespace

AtomicWriteLimits atomic_write_limits(const LogicalUnit& unit) {
  const auto& info = unit.device().info();
  const uint32_t block = unit.block_size();
  AtomicWriteLimits limits;
  // The field is in blocks and never above the largest transfer (SBC-4 6.6.4).
  limits.max_blocks = std::min(info.max_atomic_write_bytes, info.max_transfer_bytes) / block;
  if (limits.max_blocks == 0) return {};
  limits.alignment_blocks = info.atomic_alignment_bytes / block;
  limits.granularity_blocks = info.atomic_granularity_bytes / block;
  return limits;
}

void handle_write_atomic(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const auto limits = atomic_write_limits(unit);
  if (limits.max_blocks == 0) {
    unit.fail(task, illegal_request(asc::kInvalidCommandOperationCode));
    return;
  }
  if ((cdb[1] & 0xe0) != 0) {  // WRPROTECT: no protection information
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  // DPO is a cache retention hint with nothing to act on here; FUA makes the write durable
  // before GOOD.
  const bool fua = (cdb[1] & 0x08) != 0;
  const uint64_t lba = load_be64(cdb.data() + kLbaByte);
  const uint32_t blocks = load_be16(cdb.data() + kTransferLengthByte);
  const uint32_t block_size = unit.block_size();
  const uint32_t bytes = blocks * block_size;
  task.data_out_length_needed = bytes;
  const uint64_t capacity = unit.block_count();
  if (lba > capacity || blocks > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  // SBC-4 5.48: a start that is not a multiple of ATOMIC ALIGNMENT, a length that is not a
  // multiple of ATOMIC TRANSFER LENGTH GRANULARITY, or more than MAXIMUM ATOMIC TRANSFER LENGTH
  // is an INVALID FIELD IN CDB.
  if (limits.alignment_blocks > 1 && lba % limits.alignment_blocks != 0) {
    unit.fail(task, invalid_field_in_cdb(kLbaByte));
    return;
  }
  if ((limits.granularity_blocks > 1 && blocks % limits.granularity_blocks != 0) || blocks > limits.max_blocks) {
    unit.fail(task, invalid_field_in_cdb(kTransferLengthByte));
    return;
  }
  if (blocks == 0) {  // SBC-4 5.48: zero blocks is not an error and writes nothing
    unit.complete(task);
    return;
  }
  // Part of an atomic write would not be atomic: the whole data-out or nothing.
  if (task.data_out.size() < bytes) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  unit.device().write_atomic(*task.core.executor, lba * block_size, task.data_out.first(bytes), fua,
                             [&unit, &task](IoStatus status) {
                               if (!status.ok()) {
                                 unit.fail_io(task, status.error, IoDirection::write);
                                 return;
                               }
                               task.status = ScsiStatus::good;
                               unit.complete(task);
                             });
}

}  // namespace portico::scsi
