#include "tools/nvme_tcp/command.h"

#include <cassert>

#include "core/common/little_endian.h"

namespace portico::nvme_host {
namespace {

constexpr size_t kFlagsOffset = 1;
constexpr size_t kCidOffset = 2;
constexpr size_t kNsidOffset = 4;
constexpr size_t kFctypeOffset = 4;
constexpr size_t kDptrOffset = 24;
constexpr size_t kCdw10Offset = 40;
constexpr uint8_t kPsdtSglMetaBuffer = 0x40;  // PSDT 01b: what Linux's fabrics hosts send

}  // namespace

Sqe make_sqe(uint8_t opcode, uint32_t nsid) {
  Sqe sqe{};
  sqe[0] = opcode;
  store_le32(&sqe[kNsidOffset], nsid);
  return sqe;
}

Sqe make_fabrics_sqe(nvme::FabricsType type) {
  Sqe sqe{};
  sqe[0] = nvme::kFabricsOpcode;
  sqe[kFctypeOffset] = static_cast<uint8_t>(type);
  return sqe;
}

void set_cdw(Sqe& sqe, unsigned n, uint32_t value) {
  assert(n >= 10 && n <= 15);
  store_le32(&sqe[kCdw10Offset + 4 * (n - 10)], value);
}

void set_fuse(Sqe& sqe, nvme::FusedOperation fuse) {
  sqe[kFlagsOffset] = static_cast<uint8_t>((sqe[kFlagsOffset] & ~0x03u) | static_cast<uint8_t>(fuse));
}

void set_cid(Sqe& sqe, uint16_t cid) { store_le16(&sqe[kCidOffset], cid); }

uint16_t cid_of(const Sqe& sqe) { return load_le16(&sqe[kCidOffset]); }

void set_sgl(Sqe& sqe, uint8_t identifier, uint32_t length) {
  sqe[kFlagsOffset] = static_cast<uint8_t>((sqe[kFlagsOffset] & 0x03u) | kPsdtSglMetaBuffer);
  uint8_t* d = &sqe[kDptrOffset];
  store_le64(d, 0);
  store_le32(d + 8, length);
  d[12] = d[13] = d[14] = 0;
  d[15] = identifier;
}

}  // namespace portico::nvme_host
