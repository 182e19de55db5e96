// READ, WRITE (6/10/12/16) and SYNCHRONIZE CACHE (10/16): SBC-3 5.8-5.11, 5.24-5.27, 5.22-5.23.
#include <algorithm>
#include <memory>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/cdb.h"
#include "core/scsi/commands.h"
#include "core/scsi/data_out_length.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

// Byte of the TRANSFER LENGTH field, for the field pointer of an over-long transfer.
uint16_t transfer_length_byte(uint8_t opcode) {
  switch (opcode) {
    case op::kRead6:
    case op::kWrite6: return 4;
    case op::kRead10:
    case op::kWrite10: return 7;
    case op::kRead12:
    case op::kWrite12: return 6;
    default: return 10;
  }
}

// Checks the range against the capacity and the largest transfer; nullopt when fine.
std::optional<SenseData> check_range(const LogicalUnit& unit, uint8_t opcode, const BlockRange& range) {
  const uint64_t blocks = unit.block_count();
  if (range.lba > blocks || range.blocks > blocks - range.lba) return illegal_request(asc::kLbaOutOfRange);
  const uint64_t bytes = uint64_t{range.blocks} * unit.block_size();
  if (bytes > unit.device().info().max_transfer_bytes) return invalid_field_in_cdb(transfer_length_byte(opcode));
  return std::nullopt;
}

// Straight into the front-end's buffers (first_bytes: the initiator may offer more than the
// CDB asks for).
void read_in_place(LogicalUnit& unit, ScsiTask& task, const BlockRange& range, uint32_t bytes) {
  auto segments = std::make_shared<std::vector<std::span<uint8_t>>>(first_bytes(task.data_in_segments, bytes));
  unit.device().readv(*task.core.executor, range.lba * unit.block_size(), *segments,
                      [&unit, &task, bytes, segments](IoStatus status) {
                        if (!status.ok()) {
                          unit.fail_io(task, status.error, IoDirection::read);
                          return;
                        }
                        task.status = ScsiStatus::good;
                        task.data_in_length = bytes;
                        task.data_in_placed = true;
                        unit.complete(task);
                      });
}

// The data-out the initiator sent in pieces: as writable_data_out() does for one buffer, whole
// blocks of what came are written (an overflow), a partial block is refused.
void write_segments(LogicalUnit& unit, ScsiTask& task, const BlockRange& range, uint32_t bytes) {
  const uint64_t sent = segments_bytes(task.data_out_segments);
  if (sent < bytes && sent % unit.block_size() != 0) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  auto segments = std::make_shared<std::vector<std::span<const uint8_t>>>(
      first_bytes(task.data_out_segments, std::min<uint64_t>(sent, bytes)));
  if (segments->empty()) {
    task.status = ScsiStatus::good;
    unit.complete(task);
    return;
  }
  unit.device().writev(*task.core.executor, range.lba * unit.block_size(), *segments, range.fua,
                       [&unit, &task, segments](IoStatus status) {
                         if (!status.ok()) {
                           unit.fail_io(task, status.error, IoDirection::write);
                           return;
                         }
                         task.status = ScsiStatus::good;
                         unit.complete(task);
                       });
}

}  // namespace

void handle_read(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  auto decoded = decode_read_write(cdb);
  if (auto* sense = std::get_if<SenseData>(&decoded)) {
    unit.fail(task, *sense);
    return;
  }
  const auto range = std::get<BlockRange>(decoded);
  if (auto bad = check_range(unit, cdb[0], range)) {
    unit.fail(task, *bad);
    return;
  }
  const auto bytes = static_cast<uint32_t>(range.blocks * unit.block_size());
  if (bytes == 0) {  // SBC-3 5.10: a transfer length of zero is not an error
    task.status = ScsiStatus::good;
    unit.complete(task);
    return;
  }
  if (segments_bytes(task.data_in_segments) >= bytes) return read_in_place(unit, task, range, bytes);
  if (task.data_in.size() < bytes) task.data_in = IoBuffer(bytes);
  unit.device().read(*task.core.executor, range.lba * unit.block_size(), {task.data_in.data(), bytes},
                     [&unit, &task, bytes](IoStatus status) {
                       if (!status.ok()) {
                         unit.fail_io(task, status.error, IoDirection::read);
                         return;
                       }
                       task.status = ScsiStatus::good;
                       task.data_in_length = bytes;
                       unit.complete(task);
                     });
}

void handle_write(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  auto decoded = decode_read_write(cdb);
  if (auto* sense = std::get_if<SenseData>(&decoded)) {
    unit.fail(task, *sense);
    return;
  }
  const auto range = std::get<BlockRange>(decoded);
  if (auto bad = check_range(unit, cdb[0], range)) {
    unit.fail(task, *bad);
    return;
  }
  const auto bytes = static_cast<uint32_t>(range.blocks * unit.block_size());
  task.data_out_length_needed = bytes;
  if (bytes == 0) {
    task.status = ScsiStatus::good;
    unit.complete(task);
    return;
  }
  if (task.data_out.empty() && !task.data_out_segments.empty()) return write_segments(unit, task, range, bytes);
  const auto writable = writable_data_out(task, bytes, unit.block_size());
  if (!writable) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  if (*writable == 0) {
    task.status = ScsiStatus::good;
    unit.complete(task);
    return;
  }
  unit.device().write(*task.core.executor, range.lba * unit.block_size(), task.data_out.first(*writable), range.fua,
                      [&unit, &task](IoStatus status) {
                        if (!status.ok()) {
                          unit.fail_io(task, status.error, IoDirection::write);
                          return;
                        }
                        task.status = ScsiStatus::good;
                        unit.complete(task);
                      });
}

void handle_synchronize_cache(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool sixteen = cdb[0] == op::kSynchronizeCache16;
  const uint64_t lba = sixteen ? load_be64(cdb.data() + 2) : load_be32(cdb.data() + 2);
  const uint64_t blocks = sixteen ? load_be32(cdb.data() + 10) : load_be16(cdb.data() + 7);
  const uint64_t capacity = unit.block_count();
  // SBC-3 5.22: NUMBER OF LOGICAL BLOCKS 0 means "to the end"; the range must fit.
  if (lba > capacity || blocks > capacity - lba) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  unit.device().flush(*task.core.executor, [&unit, &task](IoStatus status) {
    if (!status.ok()) {
      unit.fail_io(task, status.error, IoDirection::write);
      return;
    }
    task.status = ScsiStatus::good;
    unit.complete(task);
  });
}

}  // namespace portico::scsi
