// Decoding of CDB fields shared by many commands. Every decoder checks the CDB length it was
// given; a field that is wrong yields the byte/bit for the sense data's field pointer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "core/scsi/sense.h"

namespace portico::scsi {

// SPC-4 4.2.5.1: the CDB length implied by the group code of the operation code; 0 for the
// vendor-specific / reserved groups whose length we cannot know.
size_t cdb_length_for_opcode(uint8_t opcode);

// READ/WRITE (6/10/12/16) and the fields that matter to the core.
struct BlockRange {
  uint64_t lba = 0;
  uint32_t blocks = 0;
  bool fua = false;
};

// Decodes READ(6/10/12/16) and WRITE(6/10/12/16). RDPROTECT/WRPROTECT must be 0 (no protection
// information); READ(6)/WRITE(6) with transfer length 0 means 256 blocks (SBC-3 5.8).
std::variant<BlockRange, SenseData> decode_read_write(std::span<const uint8_t> cdb);

// SAM-5 5.2: the CONTROL byte's NACA bit asks for ACA, which we do not support.
std::optional<SenseData> check_control_byte(std::span<const uint8_t> cdb);

}  // namespace portico::scsi
