#include "frontends/nvmeof/protocol/rdma_cm_data.h"

#include <algorithm>

#include "core/common/little_endian.h"

namespace portico::nvmeof {

std::string_view rdma_cm_reject_name(RdmaCmRejectStatus status) {
  switch (status) {
    case RdmaCmRejectStatus::invalid_length: return "invalid private data length";
    case RdmaCmRejectStatus::invalid_record_format: return "invalid record format";
    case RdmaCmRejectStatus::invalid_queue_id: return "invalid queue id";
    case RdmaCmRejectStatus::invalid_hsqsize: return "invalid HSQSIZE";
    case RdmaCmRejectStatus::invalid_hrqsize: return "invalid HRQSIZE";
    case RdmaCmRejectStatus::no_resources: return "no resources";
    case RdmaCmRejectStatus::invalid_ird: return "invalid IRD";
    case RdmaCmRejectStatus::invalid_ord: return "invalid ORD";
  }
  return "unknown";
}

std::variant<RdmaCmRequest, RdmaCmRejectStatus> decode_rdma_cm_request(std::span<const uint8_t> private_data) {
  if (private_data.size() < kRdmaCmRequestSize) return RdmaCmRejectStatus::invalid_length;
  const uint8_t* p = private_data.data();
  RdmaCmRequest request;
  request.record_format = load_le16(p);
  if (request.record_format != 0) return RdmaCmRejectStatus::invalid_record_format;
  request.queue_id = load_le16(p + 2);
  request.host_receive_queue_size = load_le16(p + 4);
  request.host_send_queue_size = load_le16(p + 6);
  request.controller_id = load_le16(p + 8);
  return request;
}

std::array<uint8_t, kRdmaCmRequestSize> encode_rdma_cm_request(const RdmaCmRequest& request) {
  std::array<uint8_t, kRdmaCmRequestSize> out{};
  store_le16(out.data(), request.record_format);
  store_le16(out.data() + 2, request.queue_id);
  store_le16(out.data() + 4, request.host_receive_queue_size);
  store_le16(out.data() + 6, request.host_send_queue_size);
  store_le16(out.data() + 8, request.controller_id);
  return out;
}

std::array<uint8_t, kRdmaCmAcceptSize> encode_rdma_cm_accept(uint16_t controller_receive_queue_size) {
  std::array<uint8_t, kRdmaCmAcceptSize> out{};  // RECFMT 0, CRQSIZE, reserved
  store_le16(out.data() + 2, controller_receive_queue_size);
  return out;
}

std::array<uint8_t, kRdmaCmRejectSize> encode_rdma_cm_reject(RdmaCmRejectStatus status) {
  std::array<uint8_t, kRdmaCmRejectSize> out{};  // RECFMT 0, STS
  store_le16(out.data() + 2, static_cast<uint16_t>(status));
  return out;
}

std::variant<RdmaQueueShape, RdmaCmRejectStatus> negotiate_rdma_queue(const RdmaCmRequest& request,
                                                                      uint8_t host_read_responders,
                                                                      const RdmaQueueLimits& limits) {
  if (request.queue_id > limits.io_queues) return RdmaCmRejectStatus::invalid_queue_id;
  const uint32_t entries = uint32_t{request.host_send_queue_size} + 1;
  const uint32_t most = request.queue_id == 0 ? limits.admin_queue_entries : limits.io_queue_entries;
  // A queue holds at least two entries (NVMe Base 2.0: a full queue keeps one empty); each entry
  // is a receive the controller posts, within what the device queues.
  if (request.host_send_queue_size == 0 || entries > most || entries > limits.device_work_requests) {
    return RdmaCmRejectStatus::invalid_hsqsize;
  }
  // Each response is one of the host's receives: it needs at least one.
  if (request.host_receive_queue_size == 0) return RdmaCmRejectStatus::invalid_hrqsize;
  if (host_read_responders == 0 || limits.device_read_depth == 0) return RdmaCmRejectStatus::invalid_ord;
  RdmaQueueShape shape;
  shape.queue_id = request.queue_id;
  shape.entries = static_cast<uint16_t>(entries);
  shape.host_receive_entries = request.host_receive_queue_size;
  shape.read_depth = std::min(host_read_responders, limits.device_read_depth);
  return shape;
}

}  // namespace portico::nvmeof
