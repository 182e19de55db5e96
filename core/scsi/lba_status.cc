// GET LBA STATUS (SBC-3 5.16): mapped / deallocated extents from the starting LBA, as the
// backend reports them.
#include <algorithm>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {

void handle_get_lba_status(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint64_t start = load_be64(cdb.data() + 2);
  const uint32_t allocation_length = load_be32(cdb.data() + 10);
  const uint64_t capacity = unit.block_count();
  if (start >= capacity) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  const uint32_t block_size = unit.block_size();
  // As many descriptors as the allocation length can hold (at least one, at most 64), each at
  // most 2^32-1 blocks long.
  const size_t max_descriptors = std::min<size_t>(allocation_length <= 24 ? 1 : (allocation_length - 8) / 16, 64);
  const uint64_t span = std::min<uint64_t>(capacity - start, uint64_t{0xffffffff} * max_descriptors);
  unit.device().allocation(
      *task.core.executor, start * block_size, span * block_size, max_descriptors,
      [&unit, &task, start, block_size, allocation_length, max_descriptors](int error, std::vector<AllocationExtent> extents) {
        if (error != 0) {
          unit.fail_io(task, error, IoDirection::read);
          return;
        }
        if (extents.empty()) {  // the backend broke its contract (at least one extent)
          unit.fail(task, SenseData{SenseKey::hardware_error, asc::kInternalTargetFailure, std::nullopt, std::nullopt});
          return;
        }
        std::vector<uint8_t> out(8, 0);
        uint64_t lba = start;
        for (const auto& extent : extents) {
          // SBC-3 5.16.2: a descriptor covers whole blocks, at least one, at most 2^32-1.
          for (uint64_t blocks = std::max<uint64_t>(1, extent.length / block_size); blocks > 0;) {
            if ((out.size() - 8) / 16 == max_descriptors) break;
            const uint64_t run = std::min<uint64_t>(blocks, 0xffffffff);
            const size_t at = out.size();
            out.resize(at + 16, 0);
            store_be64(out.data() + at, lba);
            store_be32(out.data() + at + 8, static_cast<uint32_t>(run));
            out[at + 12] = extent.mapped ? 0x00 : 0x01;  // provisioning status: mapped / deallocated
            lba += run;
            blocks -= run;
          }
        }
        store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
        respond_with_data(task, out, allocation_length);
        unit.complete(task);
      });
}

}  // namespace portico::scsi
