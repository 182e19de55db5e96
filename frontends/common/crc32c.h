// CRC32C (Castagnoli), the digest of iSCSI (RFC 7143 §13.1, test vectors in RFC 3720 B.4) and of
// NVMe/TCP (NVMe/TCP 1.0: the PDU header and data digests, HDGST and DDGST). Both use the same
// algorithm (initial value all ones, reflected polynomial 0x1EDC6F41, final complement) and put
// the 32-bit result on the wire least significant byte first (store_le32 in core/common/little_endian.h).
// Computed with ISA-L's crc32_iscsi.
#pragma once

#include <cstdint>
#include <span>

namespace portico::wire {

// One-shot digest of `bytes`.
uint32_t crc32c(std::span<const uint8_t> bytes);

// Incremental digest: update() with consecutive pieces, value() gives the digest so far.
class Crc32c {
 public:
  void update(std::span<const uint8_t> bytes);
  [[nodiscard]] uint32_t value() const { return ~state_; }

 private:
  uint32_t state_ = 0xffffffffu;
};

}  // namespace portico::wire
