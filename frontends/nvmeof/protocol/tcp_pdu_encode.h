// Encoders for NVMe/TCP 1.0 PDUs: those a controller sends (ICResp, CapsuleResp, C2HData, R2T,
// C2HTermReq) and those a host sends (ICReq, CapsuleCmd, H2CData, H2CTermReq). Each appends one
// whole PDU to `out`, laid out by plan_layout(): CH and PDU-specific header, HDGST when header
// digests were negotiated, zero padding up to PDO, the data, DDGST when data digests were
// negotiated and the PDU carries data. Reserved bytes are zero. Appending lets a connection
// batch several PDUs into one send.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"

namespace portico::nvmeof {

// Connection establishment: never digests, PDO 0, PLEN 128.
void encode_ic_req(const IcReq& f, std::vector<uint8_t>& out);
void encode_ic_resp(const IcResp& f, std::vector<uint8_t>& out);

// Termination requests carry no digests and at most kTermReqMaxErrorData bytes of error data
// (the offending PDU header); longer error data is cut there.
void encode_h2c_term_req(const TermReq& f, std::span<const uint8_t> error_data, std::vector<uint8_t>& out);
void encode_c2h_term_req(const TermReq& f, std::span<const uint8_t> error_data, std::vector<uint8_t>& out);
// The FES and FEI a decode error asks for.
TermReq term_req_for(const PduError& error);

// A command capsule with optional in-capsule data (the caller keeps it within what the
// controller accepts). H2C data is aligned to params.cpda.
void encode_capsule_cmd(const CapsuleCmd& f, std::span<const uint8_t> in_capsule_data, const ConnectionParams& params,
                        std::vector<uint8_t>& out);
void encode_capsule_resp(const CapsuleResp& f, const ConnectionParams& params, std::vector<uint8_t>& out);

// Data PDUs: DATAL is data.size() (f.datal is not consulted); LAST_PDU from f.last_pdu, and for
// C2HData SUCCESS from f.success, which implies LAST_PDU. H2CData ignores f.success; C2HData
// writes TTAG as reserved (zero). The data must not be empty; H2CData data stays within
// MAXH2CDATA. C2H data is aligned to params.hpda, H2C data to params.cpda.
void encode_h2c_data(const DataPdu& f, std::span<const uint8_t> data, const ConnectionParams& params,
                     std::vector<uint8_t>& out);
void encode_c2h_data(const DataPdu& f, std::span<const uint8_t> data, const ConnectionParams& params,
                     std::vector<uint8_t>& out);

// A C2HData PDU for a sender that passes the data itself, uncopied (scatter-gather): appends to
// `out` what comes before the data (CH, header, HDGST, padding up to PDO); returns the DDGST that
// follows the data when data digests were negotiated. The PDU on the wire is `out`'s new bytes,
// then `data`, then the digest: the same bytes encode_c2h_data() writes.
std::optional<std::array<uint8_t, 4>> encode_c2h_data_frame(const DataPdu& f, std::span<const uint8_t> data,
                                                            const ConnectionParams& params, std::vector<uint8_t>& out);
void encode_r2t(const R2t& f, const ConnectionParams& params, std::vector<uint8_t>& out);

// Re-encodes a decoded PDU (the PDU-specific header and data) under `params`: what a proxy or a
// test needs. The CH type picks the encoder; for termination requests the data is the error data.
// False (and nothing appended) if `header` is not the alternative `type` uses.
bool encode_pdu(PduType type, const PduSpecificHeader& header, std::span<const uint8_t> data,
                const ConnectionParams& params, std::vector<uint8_t>& out);

}  // namespace portico::nvmeof
