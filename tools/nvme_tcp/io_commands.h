// NVM command set I/O commands (NVM Command Set 1.0): Read, Write, Flush, Compare, and Compare
// fused with Write (NVMe Base 2.0, "Fused Operations"), the NVMe counterpart of SCSI COMPARE AND
// WRITE. Builders make the Command for pipelining (the load generator keeps many in flight);
// the helpers run one command and hand back its completion, whose status the caller judges.
#pragma once

#include <cstdint>
#include <span>

#include "core/common/result.h"
#include "tools/nvme_tcp/command.h"
#include "tools/nvme_tcp/host_queue.h"

namespace portico::nvme_host {

namespace io_opcode {
inline constexpr uint8_t kFlush = 0x00;
inline constexpr uint8_t kWrite = 0x01;
inline constexpr uint8_t kRead = 0x02;
inline constexpr uint8_t kCompare = 0x05;
}  // namespace io_opcode

// NLB is 16 bits, 0's based: a command covers 1..65536 blocks.
inline constexpr uint32_t kMaxBlocksPerCommand = 65536;

struct LbaRange {
  uint32_t nsid = 1;
  uint64_t slba = 0;
  uint32_t blocks = 1;
};

// CDW10-11 SLBA, CDW12 NLB (15:0), FUA (bit 30).
Command read_command(const LbaRange& range, std::span<uint8_t> buffer, bool fua = false);
Command write_command(const LbaRange& range, std::span<const uint8_t> data, bool fua = false);
Command compare_command(const LbaRange& range, std::span<const uint8_t> data);
Command flush_command(uint32_t nsid);

Result<Completion> read(Queue& queue, const LbaRange& range, std::span<uint8_t> buffer, bool fua = false);
Result<Completion> write(Queue& queue, const LbaRange& range, std::span<const uint8_t> data, bool fua = false);
Result<Completion> compare(Queue& queue, const LbaRange& range, std::span<const uint8_t> data);
Result<Completion> flush(Queue& queue, uint32_t nsid);

struct FusedCompletion {
  Completion compare;
  Completion write;
  [[nodiscard]] bool ok() const { return compare.ok() && write.ok(); }
};

// Compare `expected` with the blocks and, if they match, write `data` to them, atomically. When
// the compare fails the write completes with Command Aborted due to Failed Fused Command.
Result<FusedCompletion> compare_and_write(Queue& queue, const LbaRange& range, std::span<const uint8_t> expected,
                                          std::span<const uint8_t> data);

}  // namespace portico::nvme_host
