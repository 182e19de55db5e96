// GET LBA STATUS (SBC-3 5.16): mapped / deallocated extents from the starting LBA, as the
// backend reports them.
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
  // As many descriptors as the allocation length can hold (at least one), each at most 2^32-1
  // blocks long.
  const size_t max_descriptors = allocation_length <= 24 ? 1 : (allocation_length - 8) / 16;
  std::vector<uint8_t> out(8, 0);
  uint64_t lba = start;
  for (size_t i = 0; i < std::min<size_t>(max_descriptors, 64) && lba < capacity; ++i) {
    const uint64_t remaining = std::min<uint64_t>(capacity - lba, 0xffffffffull);
    uint64_t run_bytes = 0;
    const bool mapped = unit.device().is_allocated(lba * block_size, remaining * block_size, run_bytes);
    const uint64_t run = std::max<uint64_t>(1, std::min<uint64_t>(run_bytes / block_size, remaining));
    const size_t at = out.size();
    out.resize(at + 16, 0);
    store_be64(out.data() + at, lba);
    store_be32(out.data() + at + 8, static_cast<uint32_t>(run));
    out[at + 12] = mapped ? 0x00 : 0x01;  // provisioning status: mapped / deallocated
    lba += run;
  }
  store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
  respond_with_data(task, out, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
