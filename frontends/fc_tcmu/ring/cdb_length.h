// How many CDB bytes the kernel copied into a command entry.
#pragma once

#include <cstddef>
#include <cstdint>

namespace portico::tcmu {

// queue_cmd_ring (drivers/target/target_core_user.c) copies scsi_command_size(cdb) bytes
// (include/scsi/scsi_common.h): 8 + ADDITIONAL CDB LENGTH (byte 7) for VARIABLE LENGTH (7Fh),
// otherwise the length of the opcode's group, {6, 10, 10, 12, 16, 12, 10, 10}. This is the
// kernel's table, not SPC's: it gives a length to the reserved and vendor-specific groups too,
// where core/scsi/cdb.h's cdb_length_for_opcode says "unknown".
inline constexpr uint8_t kVariableLengthCdb = 0x7f;
inline constexpr size_t kVariableLengthHeader = 8;  // bytes up to and including ADDITIONAL CDB LENGTH

// The length implied by the opcode alone; 0 for VARIABLE LENGTH, whose length is in byte 7.
size_t fixed_cdb_length(uint8_t opcode);

// The length of a VARIABLE LENGTH CDB from its byte 7.
constexpr size_t variable_cdb_length(uint8_t additional_cdb_length) {
  return kVariableLengthHeader + additional_cdb_length;
}

}  // namespace portico::tcmu
