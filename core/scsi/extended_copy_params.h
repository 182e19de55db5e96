// Decoding of the EXTENDED COPY (LID1) parameter list (SPC-4 6.4.3): the header, identification
// target descriptors (E4h, SPC-4 6.4.5.6) and block -> block segment descriptors (02h, SPC-4
// 6.4.6.5). Pure: bytes in, a copy plan or the sense data that refuses the list out. What needs
// the target's logical units (which unit a designator names, LBA ranges) is checked by the copy.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "core/scsi/sense.h"

namespace portico::scsi {

struct CopyTargetDescriptor {
  uint16_t offset = 0;  // in the parameter list, for field pointers
  bool null_device = false;  // NUL: no I/O may be done to this copy target
  // The designator names a logical unit by its 8-byte NAA (the only kind matched here).
  std::optional<uint64_t> naa;
  uint32_t disk_block_length = 0;
};

struct BlockCopySegment {
  uint16_t offset = 0;
  uint16_t source = 0;       // target descriptor indexes
  uint16_t destination = 0;
  bool destination_count = false;  // DC: the block count is in destination blocks
  uint16_t blocks = 0;
  uint64_t source_lba = 0;
  uint64_t destination_lba = 0;
};

struct CopyParameters {
  uint8_t list_id = 0;
  // LIST ID USAGE 11b: no status is kept, the list identifier means nothing.
  bool keep_status = true;
  std::vector<CopyTargetDescriptor> targets;
  std::vector<BlockCopySegment> segments;
};

// `list` is the parameter list as received (at most the CDB's PARAMETER LIST LENGTH bytes), at
// least one byte long.
std::variant<CopyParameters, SenseData> parse_extended_copy_parameters(std::span<const uint8_t> list);

}  // namespace portico::scsi
