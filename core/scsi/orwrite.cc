// ORWRITE(16) (SBC-3 5.11, BMOP 000b): ORs the data-out into the medium. Atomic against other
// writers by going through the backend's compare-and-write: read, OR, compare-and-write the
// result against what was read, and start over if someone wrote in between.
//
// The transfer length is bounded by MAXIMUM TRANSFER LENGTH only (SBC-3 6.6.4); MAXIMUM COMPARE
// AND WRITE LENGTH is COMPARE AND WRITE's limit, not ORWRITE's. A transfer larger than the
// backend's atomic compare-and-write unit is processed as consecutive segments of that unit,
// each atomic on its own: a concurrent writer can see one segment ORed before the next, but no
// bit set by a concurrent ORWRITE is ever lost, which is what the OR is for.
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {
namespace {

constexpr int kMaxRounds = 64;  // per segment, against a writer that keeps changing it
constexpr uint16_t kTransferLengthByte = 10;

struct OrWrite : std::enable_shared_from_this<OrWrite> {
  LogicalUnit* unit = nullptr;
  ScsiTask* task = nullptr;
  uint64_t offset = 0;   // of the whole transfer on the device
  uint32_t length = 0;   // of the whole transfer
  uint32_t segment = 0;  // largest atomic piece, whole blocks
  uint32_t ored = 0;     // bytes ORed so far
  IoBuffer before;
  IoBuffer after;
  int rounds = 0;

  [[nodiscard]] uint32_t piece() const { return std::min(segment, length - ored); }

  void next_segment() {
    if (ored == length) {
      unit->complete(*task);
      return;
    }
    rounds = 0;
    round();
  }

  void round() {
    ++rounds;
    unit->device().read(*task->core.executor, offset + ored, {before.data(), piece()},
                        [self = shared_from_this()](IoStatus status) { self->on_read(status); });
  }

  void on_read(const IoStatus& status) {
    if (!status.ok()) {
      unit->fail(*task, SenseData{SenseKey::medium_error, asc::kUnrecoveredReadError, std::nullopt, std::nullopt});
      return;
    }
    const uint32_t n = piece();
    const uint8_t* in = task->data_out.data() + ored;
    for (uint32_t i = 0; i < n; ++i) after.data()[i] = static_cast<uint8_t>(before.data()[i] | in[i]);
    unit->device().compare_and_write(*task->core.executor, offset + ored, {before.data(), n}, {after.data(), n},
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
    ored += piece();
    next_segment();
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
  const uint32_t blocks = load_be32(cdb.data() + kTransferLengthByte);
  const uint32_t block_size = unit.block_size();
  const uint64_t bytes = uint64_t{blocks} * block_size;
  task.data_out_length_needed = static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX));
  const uint64_t capacity = unit.block_count();
  if (lba > capacity || blocks > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  if (blocks == 0) {
    unit.complete(task);
    return;
  }
  // SBC-3 6.6.4: a transfer longer than MAXIMUM TRANSFER LENGTH is an INVALID FIELD IN CDB.
  if (bytes > unit.device().info().max_transfer_bytes) {
    unit.fail(task, invalid_field_in_cdb(kTransferLengthByte));
    return;
  }
  // Without an atomic compare-and-write in the backend the OR could lose a concurrent update.
  const uint32_t segment = unit.device().info().max_compare_and_write_bytes / block_size * block_size;
  if (segment == 0) {
    unit.fail(task, invalid_field_in_cdb(kTransferLengthByte));
    return;
  }
  if (task.data_out.size() < bytes) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  auto op = std::make_shared<OrWrite>();
  op->unit = &unit;
  op->task = &task;
  op->offset = lba * block_size;
  op->length = static_cast<uint32_t>(bytes);
  op->segment = segment;
  op->before = IoBuffer(std::min(segment, op->length));
  op->after = IoBuffer(std::min(segment, op->length));
  op->next_segment();
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
