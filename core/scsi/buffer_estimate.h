// How much memory the core allocates to execute a command: its data-in buffer (READ), or the
// scratch it reads the medium into (VERIFY, WRITE AND VERIFY, ORWRITE, COMPARE AND WRITE, EXTENDED
// COPY). A front-end charges this against its buffer budget before it executes the command, so
// that a peer with many commands in flight turns into back-pressure instead of unbounded memory.
// Data-out buffers are the front-end's own and are not counted here.
#pragma once

#include <cstdint>
#include <span>

namespace portico::scsi {

// What a command that moves no blocks may allocate at most: a parameter list or response of
// INQUIRY, MODE SENSE, REPORT LUNS, PERSISTENT RESERVE IN, GET LBA STATUS, ...
inline constexpr uint64_t kSmallCommandBufferBytes = 64 * 1024;

// The estimate from the CDB alone, for a unit of `block_size` whose largest transfer is
// `max_transfer_bytes` (the core refuses a larger transfer before allocating). An upper bound,
// never less than what the command allocates.
uint64_t core_buffer_bytes(std::span<const uint8_t> cdb, uint32_t block_size, uint32_t max_transfer_bytes);

}  // namespace portico::scsi
