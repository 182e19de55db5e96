// Fuzzes what an NVMe/RDMA queue reads from a host before anything reaches the core: the RDMA CM
// connect request's private data (decoded, negotiated against device limits the input picks) and
// a received command capsule (the SQE, where its SGL puts the data, the in-capsule bytes, and a
// Connect's data when the capsule carries it). Input: a selector byte, a length byte, that many
// bytes of private data, then the capsule.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/nvme/fabrics.h"
#include "core/nvme/nvme_command.h"
#include "core/nvme/sqe.h"
#include "frontends/nvmeof/protocol/rdma_cm_data.h"
#include "frontends/nvmeof/rdma/rdma_data_plan.h"

namespace {

using namespace portico;
using namespace portico::nvmeof;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void fuzz_private_data(std::span<const uint8_t> bytes, uint8_t selector) {
  auto decoded = decode_rdma_cm_request(bytes);
  if (const auto* status = std::get_if<RdmaCmRejectStatus>(&decoded)) {
    check(*status == RdmaCmRejectStatus::invalid_length || *status == RdmaCmRejectStatus::invalid_record_format);
    check(!rdma_cm_reject_name(*status).empty());
    const auto reject = encode_rdma_cm_reject(*status);
    check(reject[0] == 0 && reject[1] == 0 && reject[2] == static_cast<uint8_t>(*status));
    return;
  }
  const auto& request = std::get<RdmaCmRequest>(decoded);
  check(bytes.size() >= kRdmaCmRequestSize && request.record_format == 0);
  // The request survives a round trip through its encoder.
  const auto again = std::get<RdmaCmRequest>(decode_rdma_cm_request(encode_rdma_cm_request(request)));
  check(again.queue_id == request.queue_id && again.host_receive_queue_size == request.host_receive_queue_size &&
        again.host_send_queue_size == request.host_send_queue_size && again.controller_id == request.controller_id);
  RdmaQueueLimits limits;
  limits.io_queues = static_cast<uint16_t>(selector & 0x0f);
  limits.io_queue_entries = (selector & 0x10) != 0 ? 1024 : 128;
  limits.device_work_requests = (selector & 0x20) != 0 ? 64 : 16384;
  limits.device_read_depth = (selector & 0x40) != 0 ? 0 : 16;
  const auto host_read_responders = static_cast<uint8_t>(selector & 0x80 ? 0 : bytes.size());
  auto shape = negotiate_rdma_queue(request, host_read_responders, limits);
  if (const auto* accepted = std::get_if<RdmaQueueShape>(&shape)) {
    const uint32_t most = accepted->queue_id == 0 ? limits.admin_queue_entries : limits.io_queue_entries;
    check(accepted->queue_id <= limits.io_queues);
    check(accepted->entries >= 2 && accepted->entries <= most && accepted->entries <= limits.device_work_requests);
    check(accepted->host_receive_entries >= 1);
    check(accepted->read_depth >= 1 && accepted->read_depth <= limits.device_read_depth &&
          accepted->read_depth <= host_read_responders);
    const auto accept = encode_rdma_cm_accept(accepted->entries);
    check((accept[2] | accept[3] << 8) == accepted->entries);
  }
}

void fuzz_capsule(std::span<const uint8_t> capsule, uint8_t selector) {
  if (capsule.size() < nvme::kSqeSize) return;  // the queue closes: no SQE
  const auto decoded = nvme::decode_sqe(capsule.first<nvme::kSqeSize>());
  if (!decoded) return;
  nvme::NvmeCommand command;
  command.sqe = *decoded;
  const uint32_t data_out = command.data_out_length();
  const uint32_t data_in = command.data_in_limit();
  const auto in_capsule = capsule.subspan(nvme::kSqeSize);
  const uint32_t limit = (selector & 0x01) != 0 ? 8192 : 0;
  auto plan = plan_rdma_data(command.sqe, data_out, data_in, static_cast<uint32_t>(in_capsule.size()), limit);
  if (const auto* status = std::get_if<nvme::CompletionStatus>(&plan)) {
    check(!status->ok() && status->do_not_retry);
    return;
  }
  const auto& p = std::get<RdmaDataPlan>(plan);
  if (p.where == RdmaDataPlan::Where::none) {
    check(data_out == 0 && data_in == 0);
    return;
  }
  check(p.length == (p.to_controller ? data_out : data_in));
  if (p.where == RdmaDataPlan::Where::in_capsule) {
    // The data is inside what arrived and within what the queue takes.
    check(p.to_controller && p.capsule_offset <= limit);
    check(uint64_t{p.capsule_offset} + p.length <= in_capsule.size());
    const auto data = in_capsule.subspan(p.capsule_offset, p.length);
    if (command.sqe.is_fabrics()) {
      auto fabrics = nvme::decode_fabrics_command(command.sqe);
      const auto* f = std::get_if<nvme::FabricsCommand>(&fabrics);
      if (f != nullptr && f->type == nvme::FabricsType::connect) (void)nvme::decode_connect_data(data);
    }
    return;
  }
  check(p.remote_address + p.length >= p.remote_address);  // never wraps
  check(p.invalidate_key == (command.sqe.sgl.identifier == kSglKeyedInvalidate));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t selector = data[0];
  const size_t private_length = std::min<size_t>(data[1] % 64, size - 2);
  fuzz_private_data(std::span<const uint8_t>(data + 2, private_length), selector);
  fuzz_capsule(std::span<const uint8_t>(data + 2 + private_length, size - 2 - private_length), selector);
  return 0;
}
