// COMPARE AND WRITE (SBC-3 5.2): atomic in the backend (across every gateway for a shared
// backend), never a lock in the core. MISCOMPARE reports the offset of the first differing byte.
#include <algorithm>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {

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
  const uint32_t blocks = cdb[13];
  const uint32_t block_size = unit.block_size();
  task.data_out_length_needed = 2 * blocks * block_size;
  if (blocks == 0) {  // SBC-3 5.2: zero blocks is not an error and transfers nothing
    unit.complete(task);
    return;
  }
  if (blocks > max_compare_and_write_blocks(unit)) {
    unit.fail(task, invalid_field_in_cdb(13));
    return;
  }
  const uint64_t capacity = unit.block_count();
  if (lba > capacity || blocks > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  const uint32_t half = blocks * block_size;
  if (task.data_out.size() < 2 * size_t{half}) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
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
          unit.fail(task, SenseData{SenseKey::medium_error, asc::kWriteError, std::nullopt, std::nullopt});
          return;
        }
        task.status = ScsiStatus::good;
        unit.complete(task);
      });
}

}  // namespace portico::scsi
