#include "core/scsi/buffer_estimate.h"

#include <algorithm>

#include "core/common/big_endian.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

// TRANSFER LENGTH / VERIFICATION LENGTH in blocks, where SBC-3 puts it for each CDB size:
// byte 4 of a 6-byte CDB (0 means 256 for READ(6), SBC-3 5.14), bytes 7-8 of a 10-byte one,
// 6-9 of a 12-byte one, 10-13 of a 16-byte one. 0 when the CDB is too short to hold it.
uint64_t transfer_blocks(std::span<const uint8_t> cdb) {
  switch (cdb[0] >> 5) {
    case 0: return cdb.size() >= 6 ? (cdb[4] == 0 ? 256 : cdb[4]) : 0;
    case 1:
    case 2: return cdb.size() >= 10 ? load_be16(cdb.data() + 7) : 0;
    case 5: return cdb.size() >= 12 ? load_be32(cdb.data() + 6) : 0;
    case 4: return cdb.size() >= 16 ? load_be32(cdb.data() + 10) : 0;
    default: return 0;
  }
}

}  // namespace

uint64_t core_buffer_bytes(std::span<const uint8_t> cdb, uint32_t block_size, uint32_t max_transfer_bytes) {
  if (cdb.empty()) return kSmallCommandBufferBytes;
  // How many medium-sized buffers the command holds at once: ORWRITE keeps the medium's bytes
  // and the result side by side (orwrite.cc), COMPARE AND WRITE reads the compared half.
  uint64_t buffers = 0;
  switch (cdb[0]) {
    case op::kRead6:
    case op::kRead10:
    case op::kRead12:
    case op::kRead16:
    case op::kVerify10:
    case op::kVerify12:
    case op::kVerify16:
    case op::kWriteAndVerify10:
    case op::kWriteAndVerify12:
    case op::kWriteAndVerify16:
      buffers = 1;
      break;
    case op::kOrWrite16:
      buffers = 2;
      break;
    case op::kCompareAndWrite:
      // SBC-3 5.2: NUMBER OF LOGICAL BLOCKS in byte 13; the data-out holds twice that.
      return cdb.size() >= 14 ? uint64_t{cdb[13]} * block_size * 2 + kSmallCommandBufferBytes
                              : kSmallCommandBufferBytes;
    case op::kExtendedCopy:
      return uint64_t{max_transfer_bytes} + kSmallCommandBufferBytes;  // one chunk at a time
    case op::kWrite6:
    case op::kWrite10:
    case op::kWrite12:
    case op::kWrite16:
      return 0;  // written from the front-end's data-out buffer
    default:
      return kSmallCommandBufferBytes;
  }
  const uint64_t bytes = std::min(transfer_blocks(cdb) * block_size, uint64_t{max_transfer_bytes});
  return bytes * buffers;
}

}  // namespace portico::scsi
