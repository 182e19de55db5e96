#include "frontends/nvmeof/protocol/queue_setup.h"

#include <string>

namespace portico::nvmeof {
namespace {

// ICReq field offsets (include/linux/nvme-tcp.h, struct nvme_tcp_icreq_pdu).
constexpr uint32_t kPfvOffset = 8;
constexpr uint32_t kHpdaOffset = 10;
constexpr uint32_t kTypeOffset = 0;

}  // namespace

PduResult<QueueParameters> accept_ic_req(const IcReq& request, const ControllerTransportLimits& limits) {
  if (request.pfv != kPduFormatVersion10) {
    return pdu_error(FatalErrorStatus::invalid_pdu_header_field, kPfvOffset,
                     "nvme/tcp: ICReq asks for PDU format version " + std::to_string(request.pfv) +
                         ", this controller speaks 1.0 (0)");
  }
  if (request.hpda > kMaxPduDataAlignment) {
    return pdu_error(FatalErrorStatus::invalid_pdu_header_field, kHpdaOffset,
                     "nvme/tcp: ICReq HPDA " + std::to_string(request.hpda) + " is above 31");
  }
  QueueParameters queue;
  queue.host_max_r2t = request.maxr2t;
  queue.response.pfv = kPduFormatVersion10;
  queue.response.cpda = limits.cpda;
  queue.response.header_digest = request.header_digest && limits.header_digest;
  queue.response.data_digest = request.data_digest && limits.data_digest;
  queue.response.maxh2cdata = limits.max_h2c_data;
  ConnectionParams& p = queue.params;
  p.receive = Direction::host_to_controller;
  p.header_digest = queue.response.header_digest;
  p.data_digest = queue.response.data_digest;
  p.hpda = request.hpda;
  p.cpda = limits.cpda;
  p.max_h2c_data = limits.max_h2c_data;
  p.max_in_capsule_data = limits.in_capsule_data;
  return queue;
}

PduResult<std::optional<uint32_t>> QueueReceiver::frame(std::span<const uint8_t> buffered) const {
  if (buffered.size() < kCommonHeaderSize) return std::optional<uint32_t>{};
  auto layout = decode_common_header(buffered.first<kCommonHeaderSize>(), params());
  if (!layout.ok()) return layout.error();
  const bool icreq = layout->common.type == PduType::ic_req;
  if (icreq == queue_.has_value()) {
    // NVMe/TCP 1.0: the ICReq is the first PDU on a connection and comes only once.
    return pdu_error(FatalErrorStatus::pdu_sequence_error, kTypeOffset,
                     icreq ? "nvme/tcp: a second ICReq on an initialized connection"
                           : "nvme/tcp: " + std::string(pdu_type_name(layout->common.type)) + " before the ICReq");
  }
  return std::optional<uint32_t>{layout->total_length()};
}

PduResult<DecodedPdu> QueueReceiver::receive(std::span<const uint8_t> pdu) {
  auto framed = frame(pdu);
  if (!framed.ok()) return framed.error();
  auto decoded = decode_pdu(pdu, params());
  if (!decoded.ok()) return decoded;
  if (decoded->layout.common.type == PduType::ic_req) {
    auto queue = accept_ic_req(std::get<IcReq>(decoded->header), limits_);
    if (!queue.ok()) return queue.error();
    queue_ = std::move(*queue);
  }
  return decoded;
}

}  // namespace portico::nvmeof
