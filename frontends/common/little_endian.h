// Explicit little-endian readers and writers. NVMe/TCP puts every multi-byte field on the wire
// least significant byte first (NVMe/TCP 1.0 PDU formats; Linux declares them __le16/__le32 in
// include/linux/nvme-tcp.h), and both iSCSI and NVMe/TCP send their CRC32C digests that way.
// The counterpart of core/common/big_endian.h: decode fields with these, never by casting a
// packed struct onto bytes.
#pragma once

#include <cstdint>

namespace portico::wire {

inline uint16_t load_le16(const uint8_t* p) {
  return static_cast<uint16_t>(static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8));
}
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

inline void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void store_le32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace portico::wire
