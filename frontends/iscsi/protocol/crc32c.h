// CRC32C (Castagnoli) as iSCSI uses it for header and data digests (RFC 7143 §13.1, RFC 3720
// B.4 test vectors). Computed with ISA-L's crc32_iscsi.
#pragma once

#include <cstdint>
#include <span>

namespace portico::iscsi {

// One-shot digest of `bytes`: initial value all ones, final complement (RFC 3720 B.4).
uint32_t crc32c(std::span<const uint8_t> bytes);

// Incremental digest: update() with consecutive pieces, value() gives the digest so far.
class Crc32c {
 public:
  void update(std::span<const uint8_t> bytes);
  [[nodiscard]] uint32_t value() const { return ~state_; }

 private:
  uint32_t state_ = 0xffffffffu;
};

// Digests travel least significant byte first (the byte order the RFC 3720 B.4 examples show,
// and what Linux and libiscsi put on the wire).
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline void store_le32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace portico::iscsi
