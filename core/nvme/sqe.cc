#include "core/nvme/sqe.h"

#include <algorithm>

#include "core/common/little_endian.h"

namespace portico::nvme {

SglDescriptor decode_sgl(std::span<const uint8_t, 16> bytes) {
  SglDescriptor d;
  d.identifier = bytes[15];
  d.address = load_le64(bytes.data());
  if (d.keyed()) {
    // Keyed SGL Data Block: a 3-byte length at 8, a 4-byte key at 11 (Linux: nvme_keyed_sgl_desc).
    d.length = load_le24(bytes.data() + 8);
    d.key = load_le32(bytes.data() + 11);
  } else {
    d.length = load_le32(bytes.data() + 8);  // bytes 12-14 are reserved
  }
  return d;
}

std::optional<SubmissionEntry> decode_sqe(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSqeSize) return std::nullopt;
  const uint8_t* p = bytes.data();
  SubmissionEntry e;
  std::copy(bytes.begin(), bytes.end(), e.raw.begin());
  e.opcode = p[0];
  e.fuse = static_cast<FusedOperation>(p[1] & 0x03);
  e.psdt = static_cast<DataPointerType>(p[1] >> 6);
  e.cid = load_le16(p + 2);
  e.nsid = load_le32(p + 4);
  e.cdw2 = load_le32(p + 8);
  e.cdw3 = load_le32(p + 12);
  e.mptr = load_le64(p + 16);
  e.sgl = decode_sgl(bytes.subspan<24, 16>());
  for (size_t i = 0; i < e.cdw10_15.size(); ++i) e.cdw10_15[i] = load_le32(p + 40 + 4 * i);
  return e;
}

}  // namespace portico::nvme
