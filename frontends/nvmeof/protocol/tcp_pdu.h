// NVMe/TCP PDU framing (NVM Express TCP Transport Specification 1.0): PDU types and flags, the
// 8-byte common header (CH), and the validating decoder that turns a CH into the PDU's layout
// given what the connection negotiated. The PDU-specific headers are in tcp_pdu_headers.h, the
// encoders in tcp_pdu_encode.h.
//
// Every multi-byte NVMe/TCP field is little-endian. A PDU is laid out as
//   CH (8) | PDU-specific header | HDGST (4, optional) | PAD | PDU data | DDGST (4, optional)
// where HLEN covers CH + PDU-specific header, PDO is where the data starts and PLEN is the
// whole PDU. Field offsets and values below were checked against include/linux/nvme-tcp.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "frontends/nvmeof/protocol/pdu_error.h"

namespace portico::nvmeof {

inline constexpr size_t kCommonHeaderSize = 8;
inline constexpr uint32_t kDigestSize = 4;

enum class PduType : uint8_t {
  ic_req = 0x00,
  ic_resp = 0x01,
  h2c_term_req = 0x02,
  c2h_term_req = 0x03,
  capsule_cmd = 0x04,
  capsule_resp = 0x05,
  h2c_data = 0x06,
  c2h_data = 0x07,
  r2t = 0x09,
};
std::string_view pdu_type_name(PduType type);

// CH FLAGS bits. HDGSTF/DDGSTF say a header/data digest is present; LAST_PDU and SUCCESS are
// defined for data PDUs only.
inline constexpr uint8_t kFlagHdgst = 0x01;
inline constexpr uint8_t kFlagDdgst = 0x02;
inline constexpr uint8_t kFlagLastPdu = 0x04;
inline constexpr uint8_t kFlagSuccess = 0x08;  // C2HData only, and only with LAST_PDU

// HLEN of each PDU type: CH plus PDU-specific header.
inline constexpr uint8_t kIcHeaderLength = 128;          // ICReq, ICResp
inline constexpr uint8_t kTermReqHeaderLength = 24;      // H2CTermReq, C2HTermReq
inline constexpr uint8_t kCapsuleCmdHeaderLength = 72;   // CH + 64-byte SQE
inline constexpr uint8_t kCapsuleRespHeaderLength = 24;  // CH + 16-byte CQE
inline constexpr uint8_t kDataHeaderLength = 24;         // H2CData, C2HData
inline constexpr uint8_t kR2tHeaderLength = 24;
inline constexpr size_t kMaxHeaderLength = kIcHeaderLength;

// A termination request carries at most 128 bytes of the offending PDU header, so its PLEN is
// 24..152 (Linux: NVME_TCP_MIN_C2HTERM_PLEN, NVME_TCP_MAX_C2HTERM_PLEN).
inline constexpr uint32_t kTermReqMaxErrorData = 128;

inline constexpr uint16_t kPduFormatVersion10 = 0x0000;  // ICReq/ICResp PFV
inline constexpr uint8_t kMaxPduDataAlignment = 31;      // HPDA/CPDA: 0's based dwords, up to 128 bytes
inline constexpr uint32_t kMinMaxH2cData = 4096;         // least MAXH2CDATA a controller may announce

// PDU direction: the low bit of the type is 0 for host-to-controller PDUs, 1 for
// controller-to-host ones (R2T, 09h, included).
enum class Direction : uint8_t { host_to_controller, controller_to_host };
constexpr Direction direction_of(PduType type) {
  return (static_cast<uint8_t>(type) & 1) != 0 ? Direction::controller_to_host : Direction::host_to_controller;
}

// What the connection negotiated in ICReq/ICResp, plus this side's limits. The decoder takes the
// PDUs of `receive` direction only: a controller decodes H2C PDUs, a host (the load generator)
// C2H ones. Encoders use the same record for digests and padding.
struct ConnectionParams {
  Direction receive = Direction::host_to_controller;
  bool header_digest = false;
  bool data_digest = false;
  // ICReq HPDA: the host's alignment for data in C2H PDUs. ICResp CPDA: the controller's for
  // data in H2C PDUs. Both 0's based in dwords: 0 is 4 bytes, 31 is 128.
  uint8_t hpda = 0;
  uint8_t cpda = 0;
  uint32_t max_h2c_data = kMinMaxH2cData;  // ICResp MAXH2CDATA: data bytes per H2CData PDU
  uint32_t max_in_capsule_data = 0;        // data bytes a CapsuleCmd may carry in the capsule

  // Bytes the data of a PDU travelling in `direction` must be aligned to (its PDO a multiple of).
  [[nodiscard]] uint32_t data_alignment(Direction direction) const {
    return (uint32_t{direction == Direction::host_to_controller ? cpda : hpda} + 1) * 4;
  }
};

// The 8-byte common header, as received.
struct CommonHeader {
  PduType type = PduType::ic_req;
  uint8_t flags = 0;
  uint8_t hlen = 0;
  uint8_t pdo = 0;
  uint32_t plen = 0;
};

// Where the parts of a validated PDU sit, counted from its first byte.
struct PduLayout {
  CommonHeader common;
  bool header_digest = false;  // HDGST follows the HLEN bytes
  bool data_digest = false;    // DDGST follows the data
  uint32_t data_offset = 0;    // PDO; HLEN for termination requests, which carry data with PDO 0
  uint32_t data_length = 0;    // PDU data, without padding or digest

  // Bytes a receiver needs before it can decode the PDU-specific header: HLEN plus HDGST.
  [[nodiscard]] uint32_t header_bytes() const { return common.hlen + (header_digest ? kDigestSize : 0); }
  [[nodiscard]] uint32_t data_digest_offset() const { return data_offset + data_length; }
  [[nodiscard]] uint32_t total_length() const { return common.plen; }
};

// Validates a received common header against the negotiated parameters: type and direction,
// flags (reserved bits, digest flags as negotiated, SUCCESS only with LAST_PDU), HLEN for the
// type, PLEN bounds, PDO (0 without data; otherwise past the header digest, aligned as the
// receiver asked, inside PLEN), and data limits (MAXH2CDATA, in-capsule data size). The checks
// run in that fixed order, so the FES/FEI reported for a given PDU is deterministic.
PduResult<PduLayout> decode_common_header(std::span<const uint8_t, kCommonHeaderSize> bytes,
                                          const ConnectionParams& params);

// The layout a sender gives a PDU of `type` with `data_length` data bytes: digests as negotiated
// (never for ICReq/ICResp/TermReq), the smallest PDO the receiver's alignment allows, PDO 0 when
// there is no data. `type_flags` holds LAST_PDU/SUCCESS; the digest flags are added here.
PduLayout plan_layout(PduType type, uint8_t type_flags, uint32_t data_length, const ConnectionParams& params);

}  // namespace portico::nvmeof
