#include "core/nvme/cqe.h"

#include "core/common/little_endian.h"

namespace portico::nvme {

uint16_t encode_status_field(const CompletionStatus& status, bool phase) {
  unsigned field = phase ? 1u : 0u;
  field |= static_cast<unsigned>(status.code) << 1;
  field |= (static_cast<unsigned>(status.type) & 0x7u) << 9;
  field |= (status.retry_delay & 0x3u) << 12;
  if (status.more) field |= 1u << 14;
  if (status.do_not_retry) field |= 1u << 15;
  return static_cast<uint16_t>(field);
}

CompletionStatus decode_status_field(uint16_t field) {
  CompletionStatus s;
  s.code = static_cast<uint8_t>(field >> 1);
  s.type = static_cast<StatusCodeType>((field >> 9) & 0x7);
  s.retry_delay = static_cast<uint8_t>((field >> 12) & 0x3);
  s.more = (field & (1u << 14)) != 0;
  s.do_not_retry = (field & (1u << 15)) != 0;
  return s;
}

std::array<uint8_t, kCqeSize> encode_cqe(const CompletionEntry& entry) {
  std::array<uint8_t, kCqeSize> out{};
  store_le32(out.data(), entry.dw0);
  store_le32(out.data() + 4, entry.dw1);
  store_le16(out.data() + 8, entry.sq_head);
  store_le16(out.data() + 10, entry.sq_id);
  store_le16(out.data() + 12, entry.cid);
  store_le16(out.data() + 14, encode_status_field(entry.status, entry.phase));
  return out;
}

CompletionEntry decode_cqe(std::span<const uint8_t, kCqeSize> bytes) {
  const uint8_t* p = bytes.data();
  CompletionEntry e;
  e.dw0 = load_le32(p);
  e.dw1 = load_le32(p + 4);
  e.sq_head = load_le16(p + 8);
  e.sq_id = load_le16(p + 10);
  e.cid = load_le16(p + 12);
  const uint16_t field = load_le16(p + 14);
  e.status = decode_status_field(field);
  e.phase = (field & 1u) != 0;
  return e;
}

}  // namespace portico::nvme
