// PDU-specific header decoding and checks (NVMe/TCP 1.0, the ICReq, ICResp, H2CTermReq,
// C2HTermReq, CapsuleCmd, CapsuleResp, H2CData, C2HData and R2T PDUs).
#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <optional>
#include <string>

#include "frontends/common/crc32c.h"
#include "core/common/little_endian.h"

namespace portico::nvmeof {
namespace {


// Offsets of the PDU-specific fields that can be in error (FEI).
constexpr uint32_t kPfvOffset = 8;
constexpr uint32_t kPdaOffset = 10;         // HPDA in ICReq, CPDA in ICResp
constexpr uint32_t kMaxH2cDataOffset = 12;  // ICResp
constexpr uint32_t kLengthOffset = 16;      // DATAL, R2TL

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

PduError field_error(uint32_t offset, const std::string& what) {
  return pdu_error(FatalErrorStatus::invalid_pdu_header_field, offset, "nvme/tcp: " + what);
}

// ICReq/ICResp share PFV and the PDA range (0..31 dwords, 0's based).
std::optional<PduError> check_ic(const char* name, uint16_t pfv, uint8_t pda) {
  if (pfv != kPduFormatVersion10) return field_error(kPfvOffset, std::string(name) + " PFV " + std::to_string(pfv));
  if (pda > kMaxPduDataAlignment) return field_error(kPdaOffset, std::string(name) + " PDA " + std::to_string(pda));
  return std::nullopt;
}

// Data past the 32-bit offset space (its last byte beyond offset 2^32 - 1) belongs to no command.
std::optional<PduError> check_range(const char* name, uint32_t offset, uint32_t length) {
  if (uint64_t{offset} + length <= uint64_t{UINT32_MAX} + 1) return std::nullopt;
  return pdu_error(FatalErrorStatus::data_transfer_out_of_range, kLengthOffset,
                   "nvme/tcp: " + std::string(name) + " offset " + std::to_string(offset) + " + length " +
                       std::to_string(length) + " overflows");
}

PduResult<PduSpecificHeader> decode_checked(std::span<const uint8_t> h, const PduLayout& layout) {
  switch (layout.common.type) {
    case PduType::ic_req: {
      const IcReq f = read_ic_req(h.first<kIcHeaderLength>());
      if (auto e = check_ic("ICReq", f.pfv, f.hpda)) return std::move(*e);
      return PduSpecificHeader{f};
    }
    case PduType::ic_resp: {
      const IcResp f = read_ic_resp(h.first<kIcHeaderLength>());
      if (auto e = check_ic("ICResp", f.pfv, f.cpda)) return std::move(*e);
      // Linux's host refuses a MAXH2CDATA below 4096 or not a multiple of 4.
      if (f.maxh2cdata < kMinMaxH2cData || f.maxh2cdata % 4 != 0) {
        return field_error(kMaxH2cDataOffset, "ICResp MAXH2CDATA " + std::to_string(f.maxh2cdata));
      }
      return PduSpecificHeader{f};
    }
    case PduType::h2c_term_req:
    case PduType::c2h_term_req:
      return PduSpecificHeader{read_term_req(h.first<kTermReqHeaderLength>())};
    case PduType::capsule_cmd:
      return PduSpecificHeader{read_capsule_cmd(h.first<kCapsuleCmdHeaderLength>())};
    case PduType::capsule_resp:
      return PduSpecificHeader{read_capsule_resp(h.first<kCapsuleRespHeaderLength>())};
    case PduType::h2c_data:
    case PduType::c2h_data: {
      const DataPdu f = read_data_pdu(h.first<kDataHeaderLength>());
      const std::string name(pdu_type_name(layout.common.type));
      // Linux's target: DATAL must be non-zero and equal to what PLEN leaves for data.
      if (f.datal == 0 || f.datal != layout.data_length) {
        return field_error(kLengthOffset, name + " DATAL " + std::to_string(f.datal) + " but " +
                                              std::to_string(layout.data_length) + " data bytes");
      }
      if (auto e = check_range(name.c_str(), f.datao, f.datal)) return std::move(*e);
      return PduSpecificHeader{f};
    }
    case PduType::r2t: {
      const R2t f = read_r2t(h.first<kR2tHeaderLength>());
      // Linux's host treats an R2T for no data as a protocol error.
      if (f.r2tl == 0) return field_error(kLengthOffset, "R2T with R2TL 0");
      if (auto e = check_range("R2T", f.r2to, f.r2tl)) return std::move(*e);
      return PduSpecificHeader{f};
    }
  }
  return field_error(0, "unknown PDU type");  // decode_common_header admits none
}

}  // namespace

IcReq read_ic_req(std::span<const uint8_t, kIcHeaderLength> header) {
  const uint8_t* p = header.data();
  return IcReq{load_le16(p + 8), p[10], (p[11] & 0x01) != 0, (p[11] & 0x02) != 0, load_le32(p + 12)};
}

IcResp read_ic_resp(std::span<const uint8_t, kIcHeaderLength> header) {
  const uint8_t* p = header.data();
  return IcResp{load_le16(p + 8), p[10], (p[11] & 0x01) != 0, (p[11] & 0x02) != 0, load_le32(p + 12)};
}

TermReq read_term_req(std::span<const uint8_t, kTermReqHeaderLength> header) {
  return TermReq{load_le16(header.data() + 8), load_le32(header.data() + 10)};
}

CapsuleCmd read_capsule_cmd(std::span<const uint8_t, kCapsuleCmdHeaderLength> header) {
  CapsuleCmd f;
  std::copy(header.begin() + 8, header.end(), f.sqe.begin());
  return f;
}

CapsuleResp read_capsule_resp(std::span<const uint8_t, kCapsuleRespHeaderLength> header) {
  CapsuleResp f;
  std::copy(header.begin() + 8, header.end(), f.cqe.begin());
  return f;
}

DataPdu read_data_pdu(std::span<const uint8_t, kDataHeaderLength> header) {
  const uint8_t* p = header.data();
  DataPdu f;
  f.cccid = load_le16(p + 8);
  if (p[0] == static_cast<uint8_t>(PduType::h2c_data)) f.ttag = load_le16(p + 10);  // reserved in C2HData
  f.datao = load_le32(p + 12);
  f.datal = load_le32(p + 16);
  f.last_pdu = (p[1] & kFlagLastPdu) != 0;
  f.success = (p[1] & kFlagSuccess) != 0;
  return f;
}

R2t read_r2t(std::span<const uint8_t, kR2tHeaderLength> header) {
  const uint8_t* p = header.data();
  return R2t{load_le16(p + 8), load_le16(p + 10), load_le32(p + 12), load_le32(p + 16)};
}

PduResult<PduSpecificHeader> decode_header(std::span<const uint8_t> header, const PduLayout& layout) {
  assert(header.size() >= layout.header_bytes());
  const uint32_t hlen = layout.common.hlen;
  // The header digest covers the HLEN bytes; a mismatch makes every field suspect, so it is
  // checked first (Linux verifies it before looking at the PDU-specific header).
  if (layout.header_digest) {
    const uint32_t expected = wire::crc32c(header.first(hlen));
    const uint32_t received = load_le32(header.data() + hlen);
    if (expected != received) {
      return pdu_error(FatalErrorStatus::header_digest_error, 0,
                       "nvme/tcp: " + std::string(pdu_type_name(layout.common.type)) + " header digest " +
                           hex32(received) + ", computed " + hex32(expected));
    }
  }
  return decode_checked(header.first(hlen), layout);
}

PduResult<DecodedPdu> decode_pdu(std::span<const uint8_t> bytes, const ConnectionParams& params) {
  constexpr uint32_t kPlenOffset = 4;
  if (bytes.size() < kCommonHeaderSize) {
    return field_error(kPlenOffset, std::to_string(bytes.size()) + " bytes cannot hold a PDU");
  }
  auto layout = decode_common_header(bytes.first<kCommonHeaderSize>(), params);
  if (!layout.ok()) return layout.error();
  if (bytes.size() < layout->total_length()) {
    return field_error(kPlenOffset, "PLEN " + std::to_string(layout->total_length()) + " but " +
                                        std::to_string(bytes.size()) + " bytes given");
  }
  auto header = decode_header(bytes, *layout);
  if (!header.ok()) return header.error();
  DecodedPdu pdu{*layout, *header, bytes.subspan(layout->data_offset, layout->data_length), true};
  if (layout->data_digest) {
    pdu.data_digest_ok = wire::crc32c(pdu.data) == load_le32(bytes.data() + layout->data_digest_offset());
  }
  return pdu;
}

}  // namespace portico::nvmeof
