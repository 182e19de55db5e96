#include "core/scsi/cdb.h"

#include "core/common/big_endian.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {

size_t cdb_length_for_opcode(uint8_t opcode) {
  switch (opcode >> 5) {
    case 0: return 6;
    case 1:
    case 2: return 10;
    case 4: return 16;
    case 5: return 12;
    default: return 0;  // group 3 (variable / reserved), 6 and 7 (vendor specific)
  }
}

std::optional<SenseData> check_control_byte(std::span<const uint8_t> cdb) {
  const size_t length = cdb_length_for_opcode(cdb[0]);
  if (length == 0 || length > cdb.size()) return std::nullopt;
  const uint8_t control = cdb[length - 1];
  if ((control & 0x04) != 0) return invalid_field_in_cdb(static_cast<uint16_t>(length - 1), 2);  // NACA
  return std::nullopt;
}

std::variant<BlockRange, SenseData> decode_read_write(std::span<const uint8_t> cdb) {
  BlockRange range;
  const uint8_t opcode = cdb[0];
  const size_t length = cdb_length_for_opcode(opcode);
  if (cdb.size() < length || length == 0) return illegal_request(asc::kInvalidCommandOperationCode);
  if (opcode == op::kRead6 || opcode == op::kWrite6) {
    range.lba = load_be24(cdb.data() + 1) & 0x1fffff;
    range.blocks = cdb[4] == 0 ? 256 : cdb[4];
    return range;
  }
  // Byte 1: RDPROTECT/WRPROTECT (bits 7-5), DPO (4), FUA (3).
  if ((cdb[1] & 0xe0) != 0) return invalid_field_in_cdb(1, 7);
  range.fua = (cdb[1] & 0x08) != 0;
  switch (opcode) {
    case op::kRead10:
    case op::kWrite10:
      range.lba = load_be32(cdb.data() + 2);
      range.blocks = load_be16(cdb.data() + 7);
      break;
    case op::kRead12:
    case op::kWrite12:
      range.lba = load_be32(cdb.data() + 2);
      range.blocks = load_be32(cdb.data() + 6);
      break;
    case op::kRead16:
    case op::kWrite16:
      range.lba = load_be64(cdb.data() + 2);
      range.blocks = load_be32(cdb.data() + 10);
      break;
    default:
      return illegal_request(asc::kInvalidCommandOperationCode);
  }
  return range;
}

}  // namespace portico::scsi
