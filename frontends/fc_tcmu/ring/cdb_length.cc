#include "frontends/fc_tcmu/ring/cdb_length.h"

#include <array>

namespace portico::tcmu {

size_t fixed_cdb_length(uint8_t opcode) {
  // scsi_command_size_tbl (drivers/scsi/scsi_common.c), indexed by the group code (bits 7-5).
  static constexpr std::array<uint8_t, 8> kGroupLength = {6, 10, 10, 12, 16, 12, 10, 10};
  if (opcode == kVariableLengthCdb) return 0;
  return kGroupLength[opcode >> 5];
}

}  // namespace portico::tcmu
