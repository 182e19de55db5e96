// NVMe/TCP 1.0 PDU encoders. Fields go to the offsets include/linux/nvme-tcp.h gives them; the
// layout (flags for digests, PDO, PLEN) comes from plan_layout so that encoder and decoder agree.
#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>

#include "frontends/common/crc32c.h"
#include "core/common/little_endian.h"

namespace portico::nvmeof {
namespace {


// A PDU header under construction: PDU-specific fields are written at their PDU offsets, the CH
// (bytes 0..7) by append().
using HeaderBytes = std::array<uint8_t, kMaxHeaderLength>;

void append_le32(std::vector<uint8_t>& out, uint32_t v) {
  std::array<uint8_t, 4> bytes{};
  store_le32(bytes.data(), v);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Appends the PDU to `out`, its data included when `with_data`; otherwise only what comes before
// the data (CH, header, HDGST, padding to PDO), and the DDGST goes to `digest`.
PduLayout append_framed(PduType type, uint8_t type_flags, HeaderBytes& header, std::span<const uint8_t> data,
                        const ConnectionParams& params, std::vector<uint8_t>& out, bool with_data,
                        std::optional<std::array<uint8_t, 4>>* digest) {
  const PduLayout l = plan_layout(type, type_flags, static_cast<uint32_t>(data.size()), params);
  assert(l.data_length == data.size() && "this PDU type carries no data");
  header[0] = static_cast<uint8_t>(type);
  header[1] = l.common.flags;
  header[2] = l.common.hlen;
  header[3] = l.common.pdo;
  store_le32(&header[4], l.common.plen);
  const auto hdr = std::span<const uint8_t>(header).first(l.common.hlen);
  const size_t start = out.size();
  out.reserve(start + (with_data ? l.total_length() : l.data_offset));
  out.insert(out.end(), hdr.begin(), hdr.end());
  if (l.header_digest) append_le32(out, wire::crc32c(hdr));
  if (l.data_length > 0) {
    out.resize(start + l.data_offset);  // zero padding up to PDO
    if (with_data) {
      out.insert(out.end(), data.begin(), data.end());
      if (l.data_digest) append_le32(out, wire::crc32c(data));
    } else if (l.data_digest) {
      std::array<uint8_t, 4> bytes{};
      store_le32(bytes.data(), wire::crc32c(data));
      *digest = bytes;
    }
  }
  return l;
}

void append(PduType type, uint8_t type_flags, HeaderBytes& header, std::span<const uint8_t> data,
            const ConnectionParams& params, std::vector<uint8_t>& out) {
  [[maybe_unused]] const size_t start = out.size();
  [[maybe_unused]] const PduLayout l = append_framed(type, type_flags, header, data, params, out, true, nullptr);
  assert(out.size() - start == l.total_length());
}

void append_ic(PduType type, uint16_t pfv, uint8_t pda, bool header_digest, bool data_digest, uint32_t last_field,
               std::vector<uint8_t>& out) {
  HeaderBytes h{};
  store_le16(&h[8], pfv);
  h[10] = pda;
  h[11] = static_cast<uint8_t>((header_digest ? 0x01 : 0) | (data_digest ? 0x02 : 0));
  store_le32(&h[12], last_field);
  append(type, 0, h, {}, ConnectionParams{}, out);
}

void append_term(PduType type, const TermReq& f, std::span<const uint8_t> error_data, std::vector<uint8_t>& out) {
  HeaderBytes h{};
  store_le16(&h[8], f.fes);
  store_le32(&h[10], f.fei);
  append(type, 0, h, error_data.first(std::min<size_t>(error_data.size(), kTermReqMaxErrorData)), ConnectionParams{},
         out);
}

HeaderBytes data_header(PduType type, const DataPdu& f, size_t data_length) {
  HeaderBytes h{};
  store_le16(&h[8], f.cccid);
  if (type == PduType::h2c_data) store_le16(&h[10], f.ttag);
  store_le32(&h[12], f.datao);
  store_le32(&h[16], static_cast<uint32_t>(data_length));
  return h;
}

void append_data(PduType type, const DataPdu& f, uint8_t type_flags, std::span<const uint8_t> data,
                 const ConnectionParams& params, std::vector<uint8_t>& out) {
  assert(!data.empty() && "a data PDU carries data");
  HeaderBytes h = data_header(type, f, data.size());
  append(type, type_flags, h, data, params, out);
}

// Runs `encode` if `header` holds a T.
template <typename T, typename Encode>
bool encode_as(const PduSpecificHeader& header, Encode encode) {
  const T* f = std::get_if<T>(&header);
  if (f != nullptr) encode(*f);
  return f != nullptr;
}

}  // namespace

void encode_ic_req(const IcReq& f, std::vector<uint8_t>& out) {
  append_ic(PduType::ic_req, f.pfv, f.hpda, f.header_digest, f.data_digest, f.maxr2t, out);
}

void encode_ic_resp(const IcResp& f, std::vector<uint8_t>& out) {
  append_ic(PduType::ic_resp, f.pfv, f.cpda, f.header_digest, f.data_digest, f.maxh2cdata, out);
}

void encode_h2c_term_req(const TermReq& f, std::span<const uint8_t> error_data, std::vector<uint8_t>& out) {
  append_term(PduType::h2c_term_req, f, error_data, out);
}

void encode_c2h_term_req(const TermReq& f, std::span<const uint8_t> error_data, std::vector<uint8_t>& out) {
  append_term(PduType::c2h_term_req, f, error_data, out);
}

TermReq term_req_for(const PduError& error) { return TermReq{static_cast<uint16_t>(error.fes), error.fei}; }

void encode_capsule_cmd(const CapsuleCmd& f, std::span<const uint8_t> in_capsule_data, const ConnectionParams& params,
                        std::vector<uint8_t>& out) {
  HeaderBytes h{};
  std::copy(f.sqe.begin(), f.sqe.end(), h.begin() + 8);
  append(PduType::capsule_cmd, 0, h, in_capsule_data, params, out);
}

void encode_capsule_resp(const CapsuleResp& f, const ConnectionParams& params, std::vector<uint8_t>& out) {
  HeaderBytes h{};
  std::copy(f.cqe.begin(), f.cqe.end(), h.begin() + 8);
  append(PduType::capsule_resp, 0, h, {}, params, out);
}

void encode_h2c_data(const DataPdu& f, std::span<const uint8_t> data, const ConnectionParams& params,
                     std::vector<uint8_t>& out) {
  append_data(PduType::h2c_data, f, f.last_pdu ? kFlagLastPdu : 0, data, params, out);
}

void encode_c2h_data(const DataPdu& f, std::span<const uint8_t> data, const ConnectionParams& params,
                     std::vector<uint8_t>& out) {
  const auto flags = static_cast<uint8_t>((f.last_pdu || f.success ? kFlagLastPdu : 0) | (f.success ? kFlagSuccess : 0));
  append_data(PduType::c2h_data, f, flags, data, params, out);
}

std::optional<std::array<uint8_t, 4>> encode_c2h_data_frame(const DataPdu& f, std::span<const uint8_t> data,
                                                            const ConnectionParams& params, std::vector<uint8_t>& out) {
  assert(!data.empty() && "a data PDU carries data");
  const uint8_t flags = static_cast<uint8_t>((f.last_pdu || f.success ? kFlagLastPdu : 0) | (f.success ? kFlagSuccess : 0));
  HeaderBytes h = data_header(PduType::c2h_data, f, data.size());
  std::optional<std::array<uint8_t, 4>> digest;
  append_framed(PduType::c2h_data, flags, h, data, params, out, false, &digest);
  return digest;
}

void encode_r2t(const R2t& f, const ConnectionParams& params, std::vector<uint8_t>& out) {
  HeaderBytes h{};
  store_le16(&h[8], f.cccid);
  store_le16(&h[10], f.ttag);
  store_le32(&h[12], f.r2to);
  store_le32(&h[16], f.r2tl);
  append(PduType::r2t, 0, h, {}, params, out);
}

bool encode_pdu(PduType type, const PduSpecificHeader& header, std::span<const uint8_t> data,
                const ConnectionParams& params, std::vector<uint8_t>& out) {
  switch (type) {
    case PduType::ic_req:
      return encode_as<IcReq>(header, [&](const IcReq& f) { encode_ic_req(f, out); });
    case PduType::ic_resp:
      return encode_as<IcResp>(header, [&](const IcResp& f) { encode_ic_resp(f, out); });
    case PduType::h2c_term_req:
      return encode_as<TermReq>(header, [&](const TermReq& f) { encode_h2c_term_req(f, data, out); });
    case PduType::c2h_term_req:
      return encode_as<TermReq>(header, [&](const TermReq& f) { encode_c2h_term_req(f, data, out); });
    case PduType::capsule_cmd:
      return encode_as<CapsuleCmd>(header, [&](const CapsuleCmd& f) { encode_capsule_cmd(f, data, params, out); });
    case PduType::capsule_resp:
      return encode_as<CapsuleResp>(header, [&](const CapsuleResp& f) { encode_capsule_resp(f, params, out); });
    case PduType::h2c_data:
      return encode_as<DataPdu>(header, [&](const DataPdu& f) { encode_h2c_data(f, data, params, out); });
    case PduType::c2h_data:
      return encode_as<DataPdu>(header, [&](const DataPdu& f) { encode_c2h_data(f, data, params, out); });
    case PduType::r2t:
      return encode_as<R2t>(header, [&](const R2t& f) { encode_r2t(f, params, out); });
  }
  return false;
}

}  // namespace portico::nvmeof
