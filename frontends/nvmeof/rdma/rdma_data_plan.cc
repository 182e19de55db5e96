#include "frontends/nvmeof/rdma/rdma_data_plan.h"

namespace portico::nvmeof {
namespace {

nvme::CompletionStatus refuse(nvme::GenericStatus status) { return nvme::CompletionStatus(status).no_retry(); }

}  // namespace

std::variant<RdmaDataPlan, nvme::CompletionStatus> plan_rdma_data(const nvme::SubmissionEntry& sqe,
                                                                  uint32_t data_out, uint32_t data_in,
                                                                  uint32_t in_capsule_bytes,
                                                                  uint32_t in_capsule_limit) {
  RdmaDataPlan plan;
  if (data_out == 0 && data_in == 0) {
    // No data either way; data sent along anyway is ignored, as nvmet ignores it.
    return plan;
  }
  // Both directions at once (bidirectional opcodes) are not something one SGL can describe here.
  if (data_out != 0 && data_in != 0) return refuse(nvme::GenericStatus::invalid_field);
  plan.to_controller = data_out != 0;
  plan.length = plan.to_controller ? data_out : data_in;
  const nvme::SglDescriptor& sgl = sqe.sgl;
  if (sgl.identifier == nvme::kSglInCapsule) {
    if (!plan.to_controller) return refuse(nvme::GenericStatus::sgl_descriptor_type_invalid);
    if (sgl.address > in_capsule_limit || sgl.address > in_capsule_bytes) {
      return refuse(nvme::GenericStatus::sgl_offset_invalid);
    }
    if (plan.length > in_capsule_bytes - sgl.address) return refuse(nvme::GenericStatus::data_sgl_length_invalid);
    plan.where = RdmaDataPlan::Where::in_capsule;
    plan.capsule_offset = static_cast<uint32_t>(sgl.address);
    return plan;
  }
  if (sgl.identifier == kSglKeyedAddress || sgl.identifier == kSglKeyedInvalidate) {
    if (sgl.address + plan.length < sgl.address) return refuse(nvme::GenericStatus::data_sgl_length_invalid);
    plan.where = RdmaDataPlan::Where::host_memory;
    plan.remote_address = sgl.address;
    plan.remote_key = sgl.key;
    plan.invalidate_key = sgl.identifier == kSglKeyedInvalidate;
    return plan;
  }
  return refuse(nvme::GenericStatus::sgl_descriptor_type_invalid);
}

}  // namespace portico::nvmeof
