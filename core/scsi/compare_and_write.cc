// COMPARE AND WRITE (SBC-3 5.2): atomic in the backend (across every gateway for a shared
// backend), never a lock in the core. MISCOMPARE reports the offset of the first differing byte.
#include <algorithm>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {
namespace {

constexpr uint16_t kNumberOfBlocksByte = 13;

}  // namespace

uint32_t max_compare_and_write_blocks(const LogicalUnit& unit) {
  // SBC-3 6.6.4: the field is one byte.
  return std::min<uint32_t>(255, unit.device().info().max_compare_and_write_bytes / unit.block_size());
}

void handle_compare_and_write(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  if ((cdb[1] & 0xe0) != 0) {  // WRPROTECT: no protection information
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  const bool fua = (cdb[1] & 0x08) != 0;
  const uint64_t lba = load_be64(cdb.data() + 2);
  const uint32_t blocks = cdb[kNumberOfBlocksByte];
  const uint32_t block_size = unit.block_size();
  const uint32_t half = blocks * block_size;
  task.data_out_length_needed = 2 * half;
  // SBC-3 5.2: more blocks than MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD) is an
  // INVALID FIELD IN CDB.
  if (blocks > max_compare_and_write_blocks(unit)) {
    unit.fail(task, invalid_field_in_cdb(kNumberOfBlocksByte));
    return;
  }
  const uint64_t capacity = unit.block_count();
  if (lba > capacity || blocks > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  // SBC-3 5.2: the Data-Out Buffer is the verify instance then the write instance, each
  // NUMBER OF LOGICAL BLOCKS long, and the split point comes from that field alone. A buffer of
  // any other length means the CDB does not describe the data (e.g. a count of 256 wrapped to 0
  // in the one-byte field), and comparing misaligned halves could write what the initiator
  // never meant, so the field is refused rather than the command run on a guess. This includes
  // zero blocks with data attached: only a bare zero-block command is the no-op of SBC-3 5.2.
  if (task.data_out.size() != size_t{2} * half) {
    unit.fail(task, invalid_field_in_cdb(kNumberOfBlocksByte));
    return;
  }
  if (blocks == 0) {  // SBC-3 5.2: zero blocks is not an error and transfers nothing
    unit.complete(task);
    return;
  }
  // A shared backend is atomic only within one of its objects (RBD: one RADOS object); a range
  // across a boundary is refused rather than done in two non-atomic halves. Hosts send ATS and
  // cluster heartbeats as one aligned block, which never crosses.
  if (const uint64_t boundary = unit.device().info().atomic_boundary_bytes; boundary != 0) {
    const uint64_t first = lba * block_size;
    if (first / boundary != (first + half - 1) / boundary) {
      unit.fail(task, invalid_field_in_cdb(2));
      return;
    }
  }
  (void)fua;  // the backend's compare-and-write is durable before it completes
  unit.device().compare_and_write(
      *task.core.executor, lba * block_size, task.data_out.first(half), task.data_out.subspan(half, half),
      [&unit, &task](IoStatus status) {
        if (status.miscompare) {
          unit.fail(task, SenseData{SenseKey::miscompare, asc::kMiscompareDuringVerify, std::nullopt,
                                    status.miscompare_offset});
          return;
        }
        if (!status.ok()) {
          unit.fail_io(task, status.error, IoDirection::write);
          return;
        }
        task.status = ScsiStatus::good;
        unit.complete(task);
      });
}

}  // namespace portico::scsi
