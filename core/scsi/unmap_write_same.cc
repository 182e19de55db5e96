// UNMAP (SBC-3 5.28) and WRITE SAME (10/16) (SBC-3 5.45, 5.46), including UNMAP=1 and NDOB.
// Large ranges are processed in bounded chunks, one after the other, so that one command never
// needs more than kChunkBytes of buffer.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/opcodes.h"
#include "core/scsi/provisioning.h"

namespace portico::scsi {
namespace {

constexpr uint64_t kChunkBytes = 1u << 20;

struct Extent {
  uint64_t offset;
  uint64_t length;
};

// Runs `step` for each extent in turn; completes the task after the last, or fails on the
// first error.
struct ExtentRun : std::enable_shared_from_this<ExtentRun> {
  LogicalUnit* unit = nullptr;
  ScsiTask* task = nullptr;
  std::vector<Extent> extents;
  size_t next = 0;
  UniqueFunction<void(const Extent&, IoCallback)> step;

  // Iterates instead of recursing when the backend completes inline (memory), so that a
  // command of thousands of chunks does not grow the stack.
  void go() {
    for (;;) {
      if (next == extents.size()) {
        task->status = ScsiStatus::good;
        unit->complete(*task);
        return;
      }
      const Extent extent = extents[next++];
      in_step = true;
      inline_status.reset();
      step(extent, [self = shared_from_this()](IoStatus status) {
        if (self->in_step) {
          self->inline_status = status;
          return;
        }
        if (self->finish_step(status)) self->go();
      });
      in_step = false;
      if (!inline_status) return;  // completes later, on the executor
      if (!finish_step(*inline_status)) return;
    }
  }

  bool finish_step(const IoStatus& status) {
    if (status.ok()) return true;
    unit->fail_io(*task, status.error, IoDirection::write);
    return false;
  }

  bool in_step = false;
  std::optional<IoStatus> inline_status;
};

std::vector<Extent> split(uint64_t offset, uint64_t length, uint64_t chunk) {
  std::vector<Extent> out;
  for (uint64_t done = 0; done < length; done += chunk) out.push_back({offset + done, std::min(chunk, length - done)});
  return out;
}

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

void handle_unmap(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint32_t parameter_length = load_be16(cdb.data() + 7);
  task.data_out_length_needed = parameter_length;
  if (!offers_unmap(unit)) {
    unit.fail(task, illegal_request(asc::kInvalidCommandOperationCode));
    return;
  }
  if ((cdb[1] & 0x01) != 0) {  // ANCHOR: anchored state is not offered (ANC_SUP=0)
    unit.fail(task, invalid_field_in_cdb(1, 0));
    return;
  }
  if (parameter_length == 0) {
    unit.complete(task);
    return;
  }
  if (parameter_length < 8 || task.data_out.size() < parameter_length) {
    unit.fail(task, illegal_request(asc::kParameterListLengthError));
    return;
  }
  const auto list = task.data_out.first(parameter_length);
  const uint32_t descriptor_bytes = std::min<uint32_t>(load_be16(list.data() + 2), parameter_length - 8);
  const uint32_t count = descriptor_bytes / 16;
  if (count > kMaxUnmapBlockDescriptors) {
    unit.fail(task, invalid_field_in_parameter_list(2));
    return;
  }
  const uint64_t capacity = unit.block_count();
  auto run = std::make_shared<ExtentRun>();
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* d = list.data() + 8 + 16 * i;
    const uint64_t lba = load_be64(d);
    const uint32_t blocks = load_be32(d + 8);
    if (lba > capacity || blocks > capacity - lba) {
      unit.fail(task, illegal_request(asc::kLbaOutOfRange));
      return;
    }
    if (blocks > kMaxUnmapLbaCount) {
      unit.fail(task, invalid_field_in_parameter_list(static_cast<uint16_t>(8 + 16 * i + 8)));
      return;
    }
    if (blocks > 0) run->extents.push_back({lba * unit.block_size(), uint64_t{blocks} * unit.block_size()});
  }
  run->unit = &unit;
  run->task = &task;
  run->step = [&unit, &task](const Extent& e, IoCallback done) {
    unit.device().discard(*task.core.executor, e.offset, e.length, std::move(done));
  };
  run->go();
}

void handle_write_same(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool sixteen = cdb[0] == op::kWriteSame16;
  if ((cdb[1] & 0xe0) != 0) {
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  if ((cdb[1] & 0x10) != 0) {  // ANCHOR
    unit.fail(task, invalid_field_in_cdb(1, 4));
    return;
  }
  const bool unmap = (cdb[1] & 0x08) != 0;
  const bool ndob = sixteen && (cdb[1] & 0x01) != 0;
  const uint64_t lba = sixteen ? load_be64(cdb.data() + 2) : load_be32(cdb.data() + 2);
  const uint64_t requested = sixteen ? load_be32(cdb.data() + 10) : load_be16(cdb.data() + 7);
  const uint32_t block_size = unit.block_size();
  const uint16_t blocks_byte = sixteen ? 10 : 7;
  task.data_out_length_needed = ndob ? 0 : block_size;
  if (unmap && !offers_unmap(unit)) {
    unit.fail(task, invalid_field_in_cdb(1, 3));
    return;
  }
  const uint64_t capacity = unit.block_count();
  if (lba > capacity || requested > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  // SBC-3 5.45 with WSNZ 0: zero blocks is every block from the LBA to the last one.
  const uint64_t blocks = requested == 0 ? capacity - lba : requested;
  if (blocks > max_write_same_blocks(unit)) {
    unit.fail(task, invalid_field_in_cdb(blocks_byte));
    return;
  }
  if (blocks == 0) {  // LBA is one past the last block and NUMBER OF LOGICAL BLOCKS 0
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  // The data-out is the one block to replicate (none with NDOB). Any other length means the
  // initiator and the CDB disagree on what to write, so nothing is written on a guess.
  if (task.data_out.size() != task.data_out_length_needed) {
    unit.fail(task, ndob ? invalid_field_in_cdb(1, 0) : invalid_field_in_cdb(blocks_byte));
    return;
  }
  const auto pattern = ndob ? std::span<const uint8_t>() : task.data_out.first(block_size);
  const uint64_t offset = lba * block_size;
  const uint64_t length = blocks * block_size;
  auto run = std::make_shared<ExtentRun>();
  run->unit = &unit;
  run->task = &task;
  if (ndob || all_zero(pattern)) {
    // SBC-3 4.7.3.4: zeroes with UNMAP=1 may deallocate when deallocated blocks read as zeroes.
    const bool deallocate = unmap && unit.device().info().discard_zeroes;
    run->extents = split(offset, length, uint64_t{1} << 30);
    run->step = [&unit, &task, deallocate](const Extent& e, IoCallback done) {
      if (deallocate) {
        unit.device().discard(*task.core.executor, e.offset, e.length, std::move(done));
      } else {
        unit.device().write_zeroes(*task.core.executor, e.offset, e.length, std::move(done));
      }
    };
    run->go();
    return;
  }
  // A non-zero pattern: replicate it into one chunk buffer and write chunk by chunk.
  const uint64_t chunk = std::min<uint64_t>(length, kChunkBytes / block_size * block_size);
  auto buffer = std::make_shared<IoBuffer>(chunk);
  for (uint64_t at = 0; at < chunk; at += block_size) std::memcpy(buffer->data() + at, pattern.data(), block_size);
  run->extents = split(offset, length, chunk);
  run->step = [&unit, &task, buffer](const Extent& e, IoCallback done) {
    unit.device().write(*task.core.executor, e.offset, {buffer->data(), e.length}, false, std::move(done));
  };
  run->go();
}

}  // namespace portico::scsi
