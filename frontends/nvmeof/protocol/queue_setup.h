// The receive side of one NVMe/TCP queue (a TCP connection) on the controller: connection
// initialization (NVMe/TCP 1.0 "Connection Management": the host's ICReq, the controller's
// ICResp) and then PDU framing on the byte stream. Pure: the server feeds it what arrived and
// sends what it says; no sockets.
//
// Sequence rules (FES 02h PDU Sequence Error): the first PDU must be an ICReq, and an ICReq after
// that is an error. Before the ICReq the negotiated parameters are the defaults (no digests), and
// an ICReq never carries one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "frontends/nvmeof/protocol/tcp_pdu.h"
#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"

namespace portico::nvmeof {

// What this controller offers, from the configuration.
struct ControllerTransportLimits {
  bool header_digest = true;        // accepted when the host asks for it
  bool data_digest = true;
  uint8_t cpda = 0;                 // alignment asked of H2C data (0's based dwords); Linux sends 0
  uint32_t max_h2c_data = 128 * 1024;  // MAXH2CDATA: data bytes per H2CData PDU (>= 4096, a multiple of 4)
  uint32_t in_capsule_data = 8192;  // data a CapsuleCmd may carry (IOCCSZ - 64 bytes of SQE)
};

// The controller's answer to an ICReq and the parameters the queue uses from then on.
struct QueueParameters {
  IcResp response;
  ConnectionParams params;
  uint32_t host_max_r2t = 0;  // MAXR2T (0's based): outstanding R2Ts per command the host takes
};

// Checks the host's ICReq against what this controller supports and negotiates: PFV must be 1.0
// (FES 01h, FEI at PFV), HPDA at most 31 (FES 01h, FEI at HPDA); each digest is enabled when the
// host asks for it and the configuration allows it. A host that asked for a digest the
// controller refuses sees the cleared bit in the ICResp and ends the connection itself (as
// Linux's host does), which is the answer NVMe/TCP gives for it.
PduResult<QueueParameters> accept_ic_req(const IcReq& request, const ControllerTransportLimits& limits);

class QueueReceiver {
 public:
  explicit QueueReceiver(ControllerTransportLimits limits) : limits_(limits) {}

  // The whole length of the PDU at the start of `buffered`, once its common header is there
  // (std::nullopt: fewer than 8 bytes buffered). Every PDU this returns a length for is within
  // the negotiated limits, so a caller may wait for that many bytes: a peer cannot make it
  // buffer more than one PDU's bound (kMaxHeaderLength, digests and the data limits).
  PduResult<std::optional<uint32_t>> frame(std::span<const uint8_t> buffered) const;

  // Decodes the complete PDU at the start of `pdu` (exactly frame()'s length): its header digest,
  // PDU-specific header and data digest, and the sequence rules. An ICReq establishes the queue:
  // `established()` then holds the parameters and the ICResp to send.
  PduResult<DecodedPdu> receive(std::span<const uint8_t> pdu);

  [[nodiscard]] const std::optional<QueueParameters>& established() const { return queue_; }
  [[nodiscard]] const ConnectionParams& params() const { return queue_ ? queue_->params : initial_; }

 private:
  ControllerTransportLimits limits_;
  ConnectionParams initial_;  // before the ICReq: no digests, host-to-controller PDUs
  std::optional<QueueParameters> queue_;
};

}  // namespace portico::nvmeof
