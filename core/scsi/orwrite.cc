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
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {
namespace {

constexpr int kMaxRounds = 64;  // per segment, against a writer that keeps changing it
constexpr size_t kParallelSegments = 16;  // segments in flight: a backend whose atomic unit is
                                          // small (RBD: one sector) still finishes in a few rounds
constexpr uint16_t kTransferLengthByte = 10;

// One ORWRITE: its segments run read → OR → compare-and-write independently, up to
// kParallelSegments at a time. Every callback runs on the task's executor, so no lock.
struct OrWrite : std::enable_shared_from_this<OrWrite> {
  struct Slot {
    uint32_t at = 0;  // segment offset within the transfer
    uint32_t n = 0;   // segment length
    int rounds = 0;
    uint8_t* before = nullptr;
    uint8_t* after = nullptr;
  };

  LogicalUnit* unit = nullptr;
  ScsiTask* task = nullptr;
  uint64_t offset = 0;    // of the whole transfer on the device
  uint32_t length = 0;    // of the whole transfer
  uint32_t segment = 0;   // largest atomic piece, whole blocks
  uint64_t boundary = 0;  // the backend's atomic boundary (0 = none): a piece never crosses it
  uint32_t next = 0;      // bytes handed to segments so far
  size_t running = 0;
  struct Failure {
    int error;
    IoDirection direction;
  };
  std::optional<Failure> failure;  // the first backend error
  IoBuffer buffers;
  std::vector<Slot> slots;

  void start() {
    const size_t count = std::min<size_t>(kParallelSegments, (length + segment - 1) / segment);
    buffers = IoBuffer(count * 2 * segment);
    slots.resize(count);
    for (size_t i = 0; i < count; ++i) {
      slots[i].before = buffers.data() + (2 * i) * segment;
      slots[i].after = buffers.data() + (2 * i + 1) * segment;
    }
    // Counted as running while launching, so that segments finishing inline cannot end the
    // command before every slot had its chance.
    ++running;
    for (auto& slot : slots) launch(slot);
    segment_ended();
  }

  [[nodiscard]] uint32_t piece_at(uint32_t at) const {
    uint64_t n = std::min(segment, length - at);
    if (boundary != 0) n = std::min<uint64_t>(n, boundary - (offset + at) % boundary);
    return static_cast<uint32_t>(n);
  }

  void launch(Slot& slot) {
    if (failure || next == length) return;
    slot.at = next;
    slot.n = piece_at(next);
    slot.rounds = 0;
    next += slot.n;
    ++running;
    round(slot);
  }

  void round(Slot& slot) {
    ++slot.rounds;
    unit->device().read(*task->core.executor, offset + slot.at, {slot.before, slot.n},
                        [self = shared_from_this(), &slot](IoStatus status) { self->on_read(slot, status); });
  }

  void on_read(Slot& slot, const IoStatus& status) {
    if (!status.ok()) return fail({status.error, IoDirection::read});
    const uint8_t* in = task->data_out.data() + slot.at;
    for (uint32_t i = 0; i < slot.n; ++i) slot.after[i] = static_cast<uint8_t>(slot.before[i] | in[i]);
    unit->device().compare_and_write(*task->core.executor, offset + slot.at, {slot.before, slot.n},
                                     {slot.after, slot.n},
                                     [self = shared_from_this(), &slot](IoStatus written) {
                                       self->on_written(slot, written);
                                     });
  }

  void on_written(Slot& slot, const IoStatus& status) {
    if (status.miscompare && slot.rounds < kMaxRounds) {
      round(slot);  // a concurrent write changed the blocks: OR into the new contents
      return;
    }
    // Still miscomparing after kMaxRounds: other writers keep changing the blocks, so the host
    // is told to retry (BUSY) rather than that the medium failed.
    if (status.miscompare) return fail({EAGAIN, IoDirection::write});
    if (!status.ok()) return fail({status.error, IoDirection::write});
    launch(slot);  // the slot takes the next segment, if any
    segment_ended();
  }

  void fail(Failure what) {
    if (!failure) failure = what;
    segment_ended();
  }

  void segment_ended() {
    if (--running != 0) return;
    if (failure) {
      unit->fail_io(*task, failure->error, failure->direction);
    } else {
      unit->complete(*task);
    }
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
  op->boundary = unit.device().info().atomic_boundary_bytes;
  op->start();
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
