// ORWRITE(16) (SBC-3 5.11, BMOP 000b): ORs the data-out into the medium. Atomic against other
// writers by going through the backend's compare-and-write: read, OR, compare-and-write the
// result against what was read, and start over if someone wrote in between.
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {
namespace {

constexpr int kMaxRounds = 64;

struct OrWrite : std::enable_shared_from_this<OrWrite> {
  LogicalUnit* unit = nullptr;
  ScsiTask* task = nullptr;
  uint64_t offset = 0;
  uint32_t length = 0;
  IoBuffer before;
  IoBuffer after;
  int rounds = 0;

  void round() {
    ++rounds;
    unit->device().read(*task->core.executor, offset, {before.data(), length},
                        [self = shared_from_this()](IoStatus status) { self->on_read(status); });
  }

  void on_read(const IoStatus& status) {
    if (!status.ok()) {
      unit->fail(*task, SenseData{SenseKey::medium_error, asc::kUnrecoveredReadError, std::nullopt, std::nullopt});
      return;
    }
    for (uint32_t i = 0; i < length; ++i) after.data()[i] = static_cast<uint8_t>(before.data()[i] | task->data_out[i]);
    unit->device().compare_and_write(*task->core.executor, offset, {before.data(), length}, {after.data(), length},
                                     [self = shared_from_this()](IoStatus written) { self->on_written(written); });
  }

  void on_written(const IoStatus& status) {
    if (status.miscompare && rounds < kMaxRounds) {
      round();  // a concurrent write changed the blocks: OR into the new contents
      return;
    }
    if (!status.ok()) {
      unit->fail(*task, SenseData{SenseKey::medium_error, asc::kWriteError, std::nullopt, std::nullopt});
      return;
    }
    unit->complete(*task);
  }
};

}  // namespace

void handle_orwrite(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  if ((cdb[1] & 0xe0) != 0) {  // ORPROTECT
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  const uint64_t lba = load_be64(cdb.data() + 2);
  const uint32_t blocks = load_be32(cdb.data() + 10);
  const uint32_t block_size = unit.block_size();
  task.data_out_length_needed = blocks * block_size;
  const uint64_t capacity = unit.block_count();
  if (lba > capacity || blocks > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  if (blocks == 0) {
    unit.complete(task);
    return;
  }
  if (uint64_t{blocks} * block_size > unit.device().info().max_compare_and_write_bytes) {
    unit.fail(task, invalid_field_in_cdb(10));
    return;
  }
  if (task.data_out.size() < task.data_out_length_needed) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  auto op = std::make_shared<OrWrite>();
  op->unit = &unit;
  op->task = &task;
  op->offset = lba * block_size;
  op->length = blocks * block_size;
  op->before = IoBuffer(op->length);
  op->after = IoBuffer(op->length);
  op->round();
}

void handle_prevent_allow_medium_removal(LogicalUnit& unit, ScsiTask& task) {
  // SBC-3 5.13 / SPC-4 6.13: the medium is not removable; PREVENT 00b/01b are accepted and have
  // nothing to lock, the obsolete values are invalid.
  const uint8_t prevent = task.cdb()[4] & 0x03;
  if (prevent > 1) {
    unit.fail(task, invalid_field_in_cdb(4, 1));
    return;
  }
  unit.complete(task);
}

}  // namespace portico::scsi
