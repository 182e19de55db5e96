// NVMe/TCP common header validation and PDU layout (NVMe/TCP 1.0, PDU formats and PDU data
// alignment). The checks cover what Linux's target (drivers/nvme/target/tcp.c) and host
// (drivers/nvme/host/tcp.c) reject, add the PDO and flag rules they leave to their fixed
// CPDA/HPDA of 0, and name the FES and FEI a termination request carries.
#include "frontends/nvmeof/protocol/tcp_pdu.h"

#include <cassert>
#include <optional>
#include <string>

#include "core/common/little_endian.h"

namespace portico::nvmeof {
namespace {

// Byte offsets of the CH fields: the FEI of an invalid-header-field error.
constexpr uint32_t kTypeOffset = 0;
constexpr uint32_t kFlagsOffset = 1;
constexpr uint32_t kHlenOffset = 2;
constexpr uint32_t kPdoOffset = 3;
constexpr uint32_t kPlenOffset = 4;

enum class DataRule {
  none,         // PLEN is exactly HLEN (+ HDGST) and PDO is 0
  term,         // error data follows the header directly, PDO 0, PLEN 24..152
  with_digests, // data optional; when present, PDO is aligned and DDGST follows if negotiated
};

struct TypeRules {
  uint8_t hlen;
  uint8_t valid_flags;
  bool digests;  // HDGSTF/DDGSTF follow the negotiated digests (never for ICReq/ICResp/TermReq)
  DataRule data;
};

// Which flags each type defines; everything else in FLAGS is reserved.
std::optional<TypeRules> rules_for(uint8_t type) {
  constexpr uint8_t kDigestFlags = kFlagHdgst | kFlagDdgst;
  switch (static_cast<PduType>(type)) {
    case PduType::ic_req:
    case PduType::ic_resp:
      return TypeRules{kIcHeaderLength, 0, false, DataRule::none};
    case PduType::h2c_term_req:
    case PduType::c2h_term_req:
      return TypeRules{kTermReqHeaderLength, 0, false, DataRule::term};
    case PduType::capsule_cmd:
      return TypeRules{kCapsuleCmdHeaderLength, kDigestFlags, true, DataRule::with_digests};
    case PduType::capsule_resp:
      return TypeRules{kCapsuleRespHeaderLength, kFlagHdgst, true, DataRule::none};
    case PduType::h2c_data:
      return TypeRules{kDataHeaderLength, kDigestFlags | kFlagLastPdu, true, DataRule::with_digests};
    case PduType::c2h_data:
      return TypeRules{kDataHeaderLength, kDigestFlags | kFlagLastPdu | kFlagSuccess, true, DataRule::with_digests};
    case PduType::r2t:
      return TypeRules{kR2tHeaderLength, kFlagHdgst, true, DataRule::none};
  }
  return std::nullopt;
}

PduError header_field_error(uint32_t offset, const std::string& what) {
  return pdu_error(FatalErrorStatus::invalid_pdu_header_field, offset, "nvme/tcp: " + what);
}

std::string hex(unsigned v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  s += kDigits[(v >> 4) & 0xf];
  s += kDigits[v & 0xf];
  return s;
}

// FLAGS: reserved bits, digest flags against what was negotiated, SUCCESS only with LAST_PDU
// (Linux's target sends SUCCESS together with LAST_PDU only). DDGSTF against the presence of
// data is checked once PLEN and PDO are known.
std::optional<PduError> check_flags(const CommonHeader& ch, const TypeRules& rules, const ConnectionParams& params) {
  const std::string name(pdu_type_name(ch.type));
  if ((ch.flags & ~rules.valid_flags) != 0) {
    return header_field_error(kFlagsOffset, name + " with reserved flags " + hex(ch.flags));
  }
  if (rules.digests) {
    if (((ch.flags & kFlagHdgst) != 0) != params.header_digest) {
      return header_field_error(kFlagsOffset, name + (params.header_digest ? " without" : " with") +
                                                  " HDGSTF, header digests " +
                                                  (params.header_digest ? "negotiated" : "not negotiated"));
    }
    if ((ch.flags & kFlagDdgst) != 0 && !params.data_digest) {
      return header_field_error(kFlagsOffset, name + " with DDGSTF, data digests not negotiated");
    }
  }
  if ((ch.flags & (kFlagSuccess | kFlagLastPdu)) == kFlagSuccess) {
    return header_field_error(kFlagsOffset, name + " with SUCCESS but not LAST_PDU");
  }
  return std::nullopt;
}

// PLEN against HLEN; PDO and the data that follows it. Fills the layout's data fields.
std::optional<PduError> check_lengths(const TypeRules& rules, const ConnectionParams& params, PduLayout& l) {
  const CommonHeader& ch = l.common;
  const std::string name(pdu_type_name(ch.type));
  const uint32_t full_header = l.header_bytes();
  if (rules.data == DataRule::term) {
    if (ch.plen < kTermReqHeaderLength || ch.plen > kTermReqHeaderLength + kTermReqMaxErrorData) {
      return header_field_error(kPlenOffset, name + " PLEN " + std::to_string(ch.plen) + " outside 24..152");
    }
  } else if (rules.data == DataRule::none ? ch.plen != full_header : ch.plen < full_header) {
    return header_field_error(kPlenOffset, name + " PLEN " + std::to_string(ch.plen) +
                                               (rules.data == DataRule::none ? " is not " : " is below ") +
                                               std::to_string(full_header));
  }
  const bool has_data = ch.plen > full_header;
  if (rules.data != DataRule::with_digests || !has_data) {
    if (ch.pdo != 0) return header_field_error(kPdoOffset, name + " without data has PDO " + std::to_string(ch.pdo));
    l.data_offset = rules.data == DataRule::term ? ch.hlen : 0;
    l.data_length = rules.data == DataRule::term ? ch.plen - ch.hlen : 0;
    if ((ch.flags & kFlagDdgst) != 0) return header_field_error(kFlagsOffset, name + " with DDGSTF but no data");
    return std::nullopt;
  }
  // Data present: PDO past the header digest, a multiple of the receiver's alignment, and
  // before PLEN so that at least one data byte follows.
  const uint32_t alignment = params.data_alignment(direction_of(ch.type));
  if (ch.pdo < full_header || ch.pdo % alignment != 0 || ch.pdo >= ch.plen) {
    return header_field_error(kPdoOffset, name + " PDO " + std::to_string(ch.pdo) + " with HLEN " +
                                              std::to_string(ch.hlen) + ", PLEN " + std::to_string(ch.plen) +
                                              ", alignment " + std::to_string(alignment));
  }
  const bool ddgst = (ch.flags & kFlagDdgst) != 0;
  if (params.data_digest && !ddgst) {
    return header_field_error(kFlagsOffset, name + " carries data without DDGSTF, data digests negotiated");
  }
  if (ddgst && ch.plen - ch.pdo <= kDigestSize) {
    return header_field_error(kPlenOffset, name + " PLEN " + std::to_string(ch.plen) + " leaves no data before DDGST");
  }
  l.data_digest = ddgst;
  l.data_offset = ch.pdo;
  l.data_length = ch.plen - ch.pdo - (ddgst ? kDigestSize : 0);
  return std::nullopt;
}

// The limits the receiver announced: MAXH2CDATA for H2CData, its in-capsule data size for
// CapsuleCmd. A controller reports either as Data Transfer Limit Exceeded.
std::optional<PduError> check_limits(const PduLayout& l, const ConnectionParams& params) {
  const PduType type = l.common.type;
  const uint32_t limit = type == PduType::h2c_data      ? params.max_h2c_data
                         : type == PduType::capsule_cmd ? params.max_in_capsule_data
                                                        : UINT32_MAX;
  if (l.data_length <= limit) return std::nullopt;
  return pdu_error(FatalErrorStatus::data_transfer_limit_exceeded, kPlenOffset,
                   "nvme/tcp: " + std::string(pdu_type_name(type)) + " carries " + std::to_string(l.data_length) +
                       " data bytes, the limit is " + std::to_string(limit));
}

}  // namespace

std::string_view pdu_type_name(PduType type) {
  switch (type) {
    case PduType::ic_req: return "ICReq";
    case PduType::ic_resp: return "ICResp";
    case PduType::h2c_term_req: return "H2CTermReq";
    case PduType::c2h_term_req: return "C2HTermReq";
    case PduType::capsule_cmd: return "CapsuleCmd";
    case PduType::capsule_resp: return "CapsuleResp";
    case PduType::h2c_data: return "H2CData";
    case PduType::c2h_data: return "C2HData";
    case PduType::r2t: return "R2T";
  }
  return "unknown PDU";
}

PduResult<PduLayout> decode_common_header(std::span<const uint8_t, kCommonHeaderSize> bytes,
                                          const ConnectionParams& params) {
  const auto rules = rules_for(bytes[0]);
  if (!rules) return header_field_error(kTypeOffset, "unknown PDU type " + hex(bytes[0]));
  PduLayout l;
  l.common = CommonHeader{static_cast<PduType>(bytes[0]), bytes[1], bytes[2], bytes[3], load_le32(&bytes[4])};
  const CommonHeader& ch = l.common;
  if (direction_of(ch.type) != params.receive) {
    const bool h2c = params.receive == Direction::host_to_controller;
    return header_field_error(kTypeOffset, std::string(pdu_type_name(ch.type)) + " received where only " +
                                               (h2c ? "host-to-controller" : "controller-to-host") +
                                               " PDUs may arrive");
  }
  if (auto e = check_flags(ch, *rules, params)) return std::move(*e);
  if (ch.hlen != rules->hlen) {
    return header_field_error(kHlenOffset, std::string(pdu_type_name(ch.type)) + " HLEN " +
                                               std::to_string(ch.hlen) + ", expected " + std::to_string(rules->hlen));
  }
  l.header_digest = (ch.flags & kFlagHdgst) != 0;
  if (auto e = check_lengths(*rules, params, l)) return std::move(*e);
  if (auto e = check_limits(l, params)) return std::move(*e);
  return l;
}

PduLayout plan_layout(PduType type, uint8_t type_flags, uint32_t data_length, const ConnectionParams& params) {
  const auto rules = rules_for(static_cast<uint8_t>(type));
  PduLayout l;
  l.common.type = type;
  l.common.hlen = rules->hlen;
  l.header_digest = rules->digests && params.header_digest;
  l.data_digest = rules->data == DataRule::with_digests && params.data_digest && data_length > 0;
  l.common.flags = static_cast<uint8_t>((type_flags & rules->valid_flags) | (l.header_digest ? kFlagHdgst : 0) |
                                        (l.data_digest ? kFlagDdgst : 0));
  l.data_length = rules->data == DataRule::none ? 0 : data_length;
  const uint32_t full_header = l.header_bytes();
  if (rules->data == DataRule::term) {
    l.data_offset = full_header;
  } else if (l.data_length > 0) {
    const uint32_t alignment = params.data_alignment(direction_of(type));
    l.data_offset = (full_header + alignment - 1) / alignment * alignment;  // at most 128: fits PDO
    l.common.pdo = static_cast<uint8_t>(l.data_offset);
  }
  const uint64_t plen = uint64_t{l.data_length > 0 ? l.data_offset : full_header} + l.data_length +
                        (l.data_digest ? kDigestSize : 0);
  assert(plen <= UINT32_MAX && "the caller keeps a PDU's data within PLEN's range");
  l.common.plen = static_cast<uint32_t>(plen);
  return l;
}

}  // namespace portico::nvmeof
