// Logical block provisioning limits shared by UNMAP, WRITE SAME and the Block Limits VPD page.
#pragma once

#include <cstdint>

#include "core/scsi/logical_unit.h"

namespace portico::scsi {

inline constexpr uint32_t kMaxUnmapBlockDescriptors = 256;
inline constexpr uint32_t kMaxUnmapLbaCount = 1u << 20;      // per descriptor: 512 MiB at 512-byte blocks
inline constexpr uint64_t kMaxWriteSameBlocks = 1u << 22;    // per command

// SBC-3 4.7: the unit offers unmapping when its device deallocates (thin provisioning).
inline bool offers_unmap(const LogicalUnit& unit) { return unit.device().info().thin_provisioned; }

}  // namespace portico::scsi
