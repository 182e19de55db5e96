// READ CAPACITY (10) and (16): SBC-3 5.15, 5.16.
#include <array>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/provisioning.h"

namespace portico::scsi {

void handle_read_capacity10(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  // SBC-3 5.15: PMI is obsolete-ish; with PMI=0 the LOGICAL BLOCK ADDRESS field must be zero.
  const bool pmi = (cdb[8] & 0x01) != 0;
  if (!pmi && load_be32(cdb.data() + 2) != 0) {
    unit.fail(task, invalid_field_in_cdb(2));
    return;
  }
  std::array<uint8_t, 8> data{};
  const uint64_t last_lba = unit.block_count() - 1;
  // A capacity that does not fit says 0xFFFFFFFF: the initiator must use READ CAPACITY (16).
  store_be32(data.data(), last_lba > 0xfffffffeull ? 0xffffffffu : static_cast<uint32_t>(last_lba));
  store_be32(data.data() + 4, unit.block_size());
  respond_with_data(task, data, static_cast<uint32_t>(data.size()));
  unit.complete(task);
}

void handle_read_capacity16(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint32_t allocation_length = load_be32(cdb.data() + 10);
  std::array<uint8_t, 32> data{};
  store_be64(data.data(), unit.block_count() - 1);
  store_be32(data.data() + 8, unit.block_size());
  data[13] = static_cast<uint8_t>(unit.physical_block_exponent() & 0x0f);
  // LBPME when the device is thin (UNMAP offered); LBPRZ follows the device.
  if (offers_unmap(unit)) data[14] |= 0x80;
  if (unit.device().info().discard_zeroes) data[14] |= 0x40;
  respond_with_data(task, data, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
