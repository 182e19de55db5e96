// Logical block provisioning limits shared by UNMAP, WRITE SAME and the Block Limits VPD page.
#pragma once

#include <cstdint>

#include "core/scsi/logical_unit.h"

namespace portico::scsi {

inline constexpr uint32_t kMaxUnmapBlockDescriptors = 256;
inline constexpr uint32_t kMaxUnmapLbaCount = 1u << 20;      // per descriptor: 512 MiB at 512-byte blocks

// MAXIMUM WRITE SAME LENGTH: one WRITE SAME does no more backend work than the largest write,
// so that an abort, LUN reset or PREEMPT AND ABORT never waits behind an unbounded command.
// Bulk deallocation has UNMAP, whose descriptors go much further.
inline uint64_t max_write_same_blocks(const LogicalUnit& unit) {
  return unit.device().info().max_transfer_bytes / unit.block_size();
}

// SBC-3 4.7: the unit offers unmapping when its device deallocates (thin provisioning).
inline bool offers_unmap(const LogicalUnit& unit) { return unit.device().info().thin_provisioned; }

}  // namespace portico::scsi
