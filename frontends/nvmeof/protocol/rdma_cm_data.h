// The private data of an NVMe/RDMA queue's RDMA CM handshake (NVMe over Fabrics 1.1, "RDMA
// Transport": the connect request, accept and reject records; Linux: struct nvme_rdma_cm_req /
// _rep / _rej), and the controller's decision on a request. Pure: no verbs, no CM.
//
// A host asks for one queue per RDMA connection: RECFMT 0, the queue id the Connect command will
// name, HRQSIZE (the responses it can take: its receive queue) and HSQSIZE (its submission
// queue's size, 0's based). The controller accepts with CRQSIZE (the capsules it can take: the
// receives it posts) or rejects with a status the host logs by name.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

namespace portico::nvmeof {

// NVMe over Fabrics 1.1, "RDMA_CM_REJECT Private Data Format": STS values.
enum class RdmaCmRejectStatus : uint16_t {
  invalid_length = 0x01,         // the private data is shorter than the request record
  invalid_record_format = 0x02,  // RECFMT is not 0
  invalid_queue_id = 0x03,
  invalid_hsqsize = 0x04,
  invalid_hrqsize = 0x05,
  no_resources = 0x06,
  invalid_ird = 0x07,
  invalid_ord = 0x08,
};
std::string_view rdma_cm_reject_name(RdmaCmRejectStatus status);

inline constexpr size_t kRdmaCmRequestSize = 32;
inline constexpr size_t kRdmaCmAcceptSize = 32;
inline constexpr size_t kRdmaCmRejectSize = 4;

struct RdmaCmRequest {
  uint16_t record_format = 0;
  uint16_t queue_id = 0;
  uint16_t host_receive_queue_size = 0;  // HRQSIZE: entries
  uint16_t host_send_queue_size = 0;     // HSQSIZE: 0's based
  uint16_t controller_id = 0xffff;       // CNTLID: the admin queue's controller, for a host that sends it
};

// Reads the request from the CM's private data, which may be longer (the CM pads it: 56 bytes
// over RoCE). Shorter than 32 bytes: Invalid Private Data Length; RECFMT other than 0: Invalid
// Record Format.
std::variant<RdmaCmRequest, RdmaCmRejectStatus> decode_rdma_cm_request(std::span<const uint8_t> private_data);
std::array<uint8_t, kRdmaCmRequestSize> encode_rdma_cm_request(const RdmaCmRequest& request);

// CRQSIZE: the controller's receive queue (the capsules it can hold).
std::array<uint8_t, kRdmaCmAcceptSize> encode_rdma_cm_accept(uint16_t controller_receive_queue_size);
std::array<uint8_t, kRdmaCmRejectSize> encode_rdma_cm_reject(RdmaCmRejectStatus status);

// What this controller can serve per queue.
struct RdmaQueueLimits {
  uint16_t admin_queue_entries = 32;     // the admin queue's most entries (Linux: NVME_AQ_DEPTH)
  uint16_t io_queue_entries = 128;       // an I/O queue's most entries (MQES + 1)
  uint16_t io_queues = 64;               // the highest I/O queue id a host may open
  uint32_t device_work_requests = 16384; // the device's max_qp_wr: receives posted, sends queued
  uint8_t device_read_depth = 16;        // the device's max_qp_init_rd_atom: RDMA READs in flight
};

// An accepted queue's shape.
struct RdmaQueueShape {
  uint16_t queue_id = 0;
  uint16_t entries = 0;               // HSQSIZE + 1: capsules the host may have outstanding
  uint16_t host_receive_entries = 0;  // HRQSIZE: responses the host can take before it reposts
  uint8_t read_depth = 0;             // RDMA READs this queue may have outstanding at the host
};

// The controller's decision on a request. `host_read_responders` is the CM's initiator depth
// as the passive side sees it (the host's responder resources): how many RDMA READs of ours the
// host serves at once. Every RDMA READ needs one; none is Invalid ORD.
std::variant<RdmaQueueShape, RdmaCmRejectStatus> negotiate_rdma_queue(const RdmaCmRequest& request,
                                                                      uint8_t host_read_responders,
                                                                      const RdmaQueueLimits& limits);

}  // namespace portico::nvmeof
