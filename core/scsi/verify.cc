// VERIFY (10/12/16) (SBC-3 5.33-5.35), WRITE AND VERIFY (10/12/16) (SBC-3 5.41-5.43) and
// PRE-FETCH (10/16) (SBC-3 5.12-5.13).
#include <algorithm>
#include <cstring>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/data_out_length.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

struct LbaAndLength {
  uint64_t lba;
  uint32_t blocks;
  uint16_t length_byte;  // for the field pointer
};

LbaAndLength decode(std::span<const uint8_t> cdb) {
  switch (cdb[0]) {
    case op::kVerify10:
    case op::kWriteAndVerify10:
    case op::kPreFetch10: return {load_be32(cdb.data() + 2), load_be16(cdb.data() + 7), 7};
    case op::kVerify12:
    case op::kWriteAndVerify12: return {load_be32(cdb.data() + 2), load_be32(cdb.data() + 6), 6};
    default: return {load_be64(cdb.data() + 2), load_be32(cdb.data() + 10), 10};
  }
}

bool in_range(const LogicalUnit& unit, const LbaAndLength& r) {
  const uint64_t capacity = unit.block_count();
  return r.lba <= capacity && r.blocks <= capacity - r.lba;
}

}  // namespace

void handle_verify(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  if ((cdb[1] & 0xe0) != 0) {  // VRPROTECT
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  const uint8_t bytchk = (cdb[1] >> 1) & 0x03;
  const auto r = decode(cdb);
  const uint32_t block_size = unit.block_size();
  if (bytchk == 0x02) {
    unit.fail(task, invalid_field_in_cdb(1, 2));
    return;
  }
  // BYTCHK 01b: the data-out holds every block; 11b: one block to compare with each.
  task.data_out_length_needed = bytchk == 0x01 ? r.blocks * block_size : (bytchk == 0x03 ? block_size : 0);
  if (!in_range(unit, r)) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  if (uint64_t{r.blocks} * block_size > unit.device().info().max_transfer_bytes) {
    unit.fail(task, invalid_field_in_cdb(r.length_byte));
    return;
  }
  if (bytchk == 0 || r.blocks == 0) {  // medium verification: the backend has no media errors
    unit.complete(task);
    return;
  }
  if (task.data_out.size() < task.data_out_length_needed) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  const uint32_t bytes = r.blocks * block_size;
  if (task.data_in.size() < bytes) task.data_in = IoBuffer(bytes);  // scratch for the medium's bytes
  unit.device().read(*task.core.executor, r.lba * block_size, {task.data_in.data(), bytes},
                     [&unit, &task, bytes, bytchk, block_size](IoStatus status) {
                       if (!status.ok()) {
                         unit.fail_io(task, status.error, IoDirection::read);
                         return;
                       }
                       const uint8_t* medium = task.data_in.data();
                       for (uint32_t i = 0; i < bytes; ++i) {
                         const uint8_t expected = bytchk == 0x01 ? task.data_out[i] : task.data_out[i % block_size];
                         if (medium[i] != expected) {
                           // SBC-3 5.33: MISCOMPARE with the offset of the first differing byte.
                           unit.fail(task, SenseData{SenseKey::miscompare, asc::kMiscompareDuringVerify,
                                                     std::nullopt, i});
                           return;
                         }
                       }
                       task.data_in_length = 0;
                       unit.complete(task);
                     });
}

void handle_write_and_verify(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  if ((cdb[1] & 0xe0) != 0) {
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  const auto r = decode(cdb);
  const uint32_t block_size = unit.block_size();
  task.data_out_length_needed = r.blocks * block_size;
  if (!in_range(unit, r)) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  if (uint64_t{r.blocks} * block_size > unit.device().info().max_transfer_bytes) {
    unit.fail(task, invalid_field_in_cdb(r.length_byte));
    return;
  }
  if (r.blocks == 0) {
    unit.complete(task);
    return;
  }
  const auto writable = writable_data_out(task, task.data_out_length_needed, block_size);
  if (!writable) {
    unit.fail(task, illegal_request(asc::kInvalidFieldInInformationUnit));
    return;
  }
  if (*writable == 0) {
    unit.complete(task);
    return;
  }
  // The write is made durable before status (FUA): what is verified is what the medium holds.
  unit.device().write(*task.core.executor, r.lba * block_size, task.data_out.first(*writable),
                      true, [&unit, &task](IoStatus status) {
                        if (!status.ok()) {
                          unit.fail_io(task, status.error, IoDirection::write);
                          return;
                        }
                        unit.complete(task);
                      });
}

void handle_pre_fetch(LogicalUnit& unit, ScsiTask& task) {
  const auto r = decode(task.cdb());
  if (!in_range(unit, r)) {
    unit.fail(task, illegal_request(asc::kLbaOutOfRange));
    return;
  }
  // SBC-3 5.12: there is no cache to load, so GOOD (not CONDITION MET) is the answer.
  unit.complete(task);
}

void handle_start_stop_unit(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  // SBC-3 5.20: a fixed, always-ready medium: power conditions and START are accepted as
  // no-ops; LOEJ has nothing to eject.
  const uint8_t power_condition = cdb[4] >> 4;
  if (power_condition != 0 && power_condition != 0x01 && power_condition != 0x02 && power_condition != 0x03 &&
      power_condition != 0x07 && power_condition != 0x0a && power_condition != 0x0b) {
    unit.fail(task, invalid_field_in_cdb(4, 7));
    return;
  }
  unit.complete(task);
}

}  // namespace portico::scsi
