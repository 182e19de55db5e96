// Fuzzes the NVMe/TCP PDU decoder and encoders. Input: one byte that picks the negotiated
// connection parameters, then the bytes of a PDU. A PDU that decodes must re-encode to a PDU
// that decodes to the same header and data, no longer than the input's PLEN (encoders pad
// minimally) and with valid digests; re-encoding that gives the same bytes again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"
#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"

namespace {

using namespace portico::nvmeof;

// bit 0: this side is a host (decodes C2H PDUs); bits 1-2: header/data digests; bits 3-4: CPDA;
// bits 5-6: HPDA; bit 7: small limits (MAXH2CDATA 4096, no in-capsule data) or large ones.
ConnectionParams params_from(uint8_t selector) {
  static constexpr uint8_t kPda[] = {0, 1, 3, 31};
  ConnectionParams p;
  p.receive = (selector & 0x01) != 0 ? Direction::controller_to_host : Direction::host_to_controller;
  p.header_digest = (selector & 0x02) != 0;
  p.data_digest = (selector & 0x04) != 0;
  p.cpda = kPda[(selector >> 3) & 3];
  p.hpda = kPda[(selector >> 5) & 3];
  const bool small = (selector & 0x80) == 0;
  p.max_h2c_data = small ? kMinMaxH2cData : 128 * 1024;
  p.max_in_capsule_data = small ? 0 : 8192;
  return p;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_error(const PduError& e) {
  const auto fes = static_cast<uint16_t>(e.fes);
  check(fes >= 0x01 && fes <= 0x06);
  check(fei_is_field_offset(e.fes) ? e.fei < kMaxHeaderLength : e.fei == 0);
  check(!e.message.empty());
}

// The layout stays inside PLEN and agrees with what the CH path alone decides.
void check_layout(const PduLayout& l, std::span<const uint8_t> bytes, const ConnectionParams& params) {
  check(l.total_length() <= bytes.size());
  check(l.header_bytes() <= l.total_length());
  check(uint64_t{l.data_digest_offset()} + (l.data_digest ? kDigestSize : 0) <= l.total_length());
  auto ch = decode_common_header(bytes.first<kCommonHeaderSize>(), params);
  check(ch.ok() && ch->data_offset == l.data_offset && ch->data_length == l.data_length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const ConnectionParams params = params_from(data[0]);
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  auto pdu = decode_pdu(bytes, params);
  if (!pdu.ok()) {
    check_error(pdu.error());
    return 0;
  }
  check_layout(pdu->layout, bytes, params);
  const CommonHeader& in = pdu->layout.common;

  std::vector<uint8_t> again;
  check(encode_pdu(in.type, pdu->header, pdu->data, params, again));
  check(again.size() <= in.plen);
  auto back = decode_pdu(again, params);
  check(back.ok());
  const CommonHeader& out = back->layout.common;
  check(out.type == in.type && out.flags == in.flags && out.hlen == in.hlen && out.plen == again.size());
  check(back->header == pdu->header);
  check(std::equal(back->data.begin(), back->data.end(), pdu->data.begin(), pdu->data.end()));
  check(back->data_digest_ok);

  std::vector<uint8_t> third;
  check(encode_pdu(out.type, back->header, back->data, params, third));
  check(third == again);
  return 0;
}
