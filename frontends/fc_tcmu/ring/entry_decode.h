// Decoding of one command or TMR entry whose place in the ring CommandRing has already checked
// (inside the ring, before cmd_head, at least the entry type's minimum size). Everything inside
// the entry is still untrusted: counts are capped by what fits in the entry, offsets by the
// region, before a byte is touched or a vector sized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "frontends/fc_tcmu/ring/ring_entry.h"

namespace portico::tcmu {

// Where an entry is and which part of the region its buffers may point to.
struct EntryPlace {
  size_t offset = 0;       // of the entry, from the region's start
  size_t length = 0;       // hdr.len_op & ~7
  size_t data_offset = 0;  // the data area: [data_offset, region.size())
};

// A TCMU_OP_CMD entry. Bad iovecs or a bad CDB give a command with `malformed` set, never a fault:
// the entry's slot is sound, so the command can be answered.
RingCommand decode_command(std::span<uint8_t> region, const EntryPlace& place);

// A TCMU_OP_TMR entry, or why its cmd_cnt does not fit in it (a fault: the kernel sizes the entry
// from cmd_cnt in queue_tmr_ring, so a mismatch means the ring is corrupt).
std::variant<RingTmr, std::string> decode_tmr(std::span<const uint8_t> region, const EntryPlace& place);

}  // namespace portico::tcmu
