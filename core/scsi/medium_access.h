// Which commands change the medium: refused on a write-protected (read-only) logical unit.
#pragma once

#include <cstdint>
#include <span>

namespace portico::scsi {

// SBC-3 4.10: a write-protected unit refuses every command that writes or deallocates blocks.
// EXTENDED COPY is judged per segment by the copy manager (its destination may be another unit).
inline bool modifies_medium(std::span<const uint8_t> cdb) {
  if (cdb.empty()) return false;
  switch (cdb[0]) {
    case 0x04:  // FORMAT UNIT
    case 0x0a:  // WRITE (6)
    case 0x2a:  // WRITE (10)
    case 0x2e:  // WRITE AND VERIFY (10)
    case 0x3f:  // WRITE LONG (10)
    case 0x41:  // WRITE SAME (10)
    case 0x42:  // UNMAP
    case 0x48:  // SANITIZE
    case 0x89:  // COMPARE AND WRITE
    case 0x8a:  // WRITE (16)
    case 0x8b:  // ORWRITE (16)
    case 0x8e:  // WRITE AND VERIFY (16)
    case 0x93:  // WRITE SAME (16)
    case 0x9c:  // WRITE ATOMIC (16)
    case 0xaa:  // WRITE (12)
    case 0xae:  // WRITE AND VERIFY (12)
      return true;
    default:
      return false;
  }
}

}  // namespace portico::scsi
