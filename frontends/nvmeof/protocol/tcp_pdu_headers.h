// The PDU-specific headers of NVMe/TCP 1.0 as typed values, and the decoders that verify a PDU's
// header digest and read them. Offsets are from the first byte of the PDU (the CH is 0..7) and
// match include/linux/nvme-tcp.h. Reserved bytes are ignored on receipt, as Linux does, and
// written as zero.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <variant>

#include "frontends/nvmeof/protocol/tcp_pdu.h"

namespace portico::nvmeof {

// ICReq (the host's connection request): PFV 8..9, HPDA 10, DGST 11, MAXR2T 12..15.
struct IcReq {
  uint16_t pfv = kPduFormatVersion10;
  uint8_t hpda = 0;  // 0's based dwords
  bool header_digest = false;  // DGST bit 0: HDGST_ENABLE
  bool data_digest = false;    // DGST bit 1: DDGST_ENABLE
  uint32_t maxr2t = 0;         // 0's based: outstanding R2Ts per command the host accepts
  bool operator==(const IcReq&) const = default;
};

// ICResp (the controller's answer): PFV 8..9, CPDA 10, DGST 11, MAXH2CDATA 12..15.
struct IcResp {
  uint16_t pfv = kPduFormatVersion10;
  uint8_t cpda = 0;
  bool header_digest = false;
  bool data_digest = false;
  uint32_t maxh2cdata = kMinMaxH2cData;
  bool operator==(const IcResp&) const = default;
};

// H2CTermReq / C2HTermReq: FES 8..9, FEI 10..13 (not 4-byte aligned: current Linux declares it
// as two __le16, FEIL and FEIU), reserved 14..23. The PDU data is the offending header, at most
// 128 bytes.
struct TermReq {
  uint16_t fes = 0;  // raw: a peer may send a value this side does not know
  uint32_t fei = 0;
  bool operator==(const TermReq&) const = default;
};

// CapsuleCmd: the 64-byte submission queue entry at 8..71, passed through undecoded.
struct CapsuleCmd {
  std::array<uint8_t, 64> sqe{};
  bool operator==(const CapsuleCmd&) const = default;
};

// CapsuleResp: the 16-byte completion queue entry at 8..23, passed through undecoded.
struct CapsuleResp {
  std::array<uint8_t, 16> cqe{};
  bool operator==(const CapsuleResp&) const = default;
};

// H2CData / C2HData: CCCID 8..9, TTAG 10..11 (reserved in C2HData), DATAO 12..15, DATAL 16..19.
struct DataPdu {
  uint16_t cccid = 0;  // command capsule CID
  uint16_t ttag = 0;   // transfer tag from the R2T (H2CData only)
  uint32_t datao = 0;  // offset of this data in the command's data
  uint32_t datal = 0;  // equals the PDU data length; encoders take it from the data they send
  bool last_pdu = false;
  bool success = false;  // C2HData only: the command succeeded, no CapsuleResp follows
  bool operator==(const DataPdu&) const = default;
};

// R2T: CCCID 8..9, TTAG 10..11, R2TO 12..15, R2TL 16..19.
struct R2t {
  uint16_t cccid = 0;
  uint16_t ttag = 0;
  uint32_t r2to = 0;
  uint32_t r2tl = 0;
  bool operator==(const R2t&) const = default;
};

// One alternative per PDU-specific header; the CH type tells H2C from C2H where two share one.
using PduSpecificHeader = std::variant<IcReq, IcResp, TermReq, CapsuleCmd, CapsuleResp, DataPdu, R2t>;

// Verifies the header digest (if the layout has one) and decodes and checks the PDU-specific
// header. `header` holds at least layout.header_bytes() bytes from the start of the PDU; the
// layout comes from decode_common_header on the same bytes.
PduResult<PduSpecificHeader> decode_header(std::span<const uint8_t> header, const PduLayout& layout);

// A whole PDU decoded from one buffer.
struct DecodedPdu {
  PduLayout layout;
  PduSpecificHeader header;
  std::span<const uint8_t> data;  // points into the buffer given to decode_pdu
  // A data digest mismatch is reported, not failed: what follows is the connection's choice.
  // SPDK's target completes the command with Transient Transport Error and keeps the queue;
  // Linux's target drops the queue.
  bool data_digest_ok = true;
};

// Common header, header digest, PDU-specific header, and data digest of the PDU at the start of
// `bytes`, which must hold all PLEN bytes (anything after them is ignored). A buffer too short
// for the PLEN it announces is reported against PLEN.
PduResult<DecodedPdu> decode_pdu(std::span<const uint8_t> bytes, const ConnectionParams& params);

// --- Field decoders without checks, for callers that validated the PDU already ---------------
IcReq read_ic_req(std::span<const uint8_t, kIcHeaderLength> header);
IcResp read_ic_resp(std::span<const uint8_t, kIcHeaderLength> header);
TermReq read_term_req(std::span<const uint8_t, kTermReqHeaderLength> header);
CapsuleCmd read_capsule_cmd(std::span<const uint8_t, kCapsuleCmdHeaderLength> header);
CapsuleResp read_capsule_resp(std::span<const uint8_t, kCapsuleRespHeaderLength> header);
DataPdu read_data_pdu(std::span<const uint8_t, kDataHeaderLength> header);  // H2CData or C2HData
R2t read_r2t(std::span<const uint8_t, kR2tHeaderLength> header);

}  // namespace portico::nvmeof
