// Where an NVMe/RDMA command's data is: the SGL forms Linux's host sends (drivers/nvme/host/
// rdma.c: nvme_rdma_map_sg_inline for in-capsule data, nvme_rdma_map_sg_fr for a keyed SGL with
// Invalidate Key) and the ones a controller refuses.
#include "frontends/nvmeof/rdma/rdma_data_plan.h"

#include <gtest/gtest.h>

namespace portico::nvmeof {
namespace {

nvme::SubmissionEntry sqe_with(uint8_t identifier, uint64_t address, uint32_t length, uint32_t key = 0) {
  nvme::SubmissionEntry sqe;
  sqe.psdt = nvme::DataPointerType::sgl_metadata_buffer;
  sqe.sgl.identifier = identifier;
  sqe.sgl.address = address;
  sqe.sgl.length = length;
  sqe.sgl.key = key;
  return sqe;
}

nvme::GenericStatus refusal(const std::variant<RdmaDataPlan, nvme::CompletionStatus>& plan) {
  const auto& status = std::get<nvme::CompletionStatus>(plan);
  EXPECT_TRUE(status.do_not_retry);
  EXPECT_EQ(status.type, nvme::StatusCodeType::generic);
  return static_cast<nvme::GenericStatus>(status.code);
}

TEST(RdmaDataPlan, KeyedWriteIsReadFromTheHost) {
  auto plan = plan_rdma_data(sqe_with(kSglKeyedInvalidate, 0x7f0000001000, 65536, 0x1234), 65536, 0, 0, 8192);
  ASSERT_TRUE(std::holds_alternative<RdmaDataPlan>(plan));
  const auto& p = std::get<RdmaDataPlan>(plan);
  EXPECT_EQ(p.where, RdmaDataPlan::Where::host_memory);
  EXPECT_TRUE(p.to_controller);
  EXPECT_EQ(p.length, 65536u);
  EXPECT_EQ(p.remote_address, 0x7f0000001000u);
  EXPECT_EQ(p.remote_key, 0x1234u);
  EXPECT_TRUE(p.invalidate_key);
}

TEST(RdmaDataPlan, KeyedReadIsWrittenToTheHost) {
  auto plan = plan_rdma_data(sqe_with(kSglKeyedAddress, 0x2000, 4096, 7), 0, 4096, 0, 8192);
  const auto& p = std::get<RdmaDataPlan>(plan);
  EXPECT_EQ(p.where, RdmaDataPlan::Where::host_memory);
  EXPECT_FALSE(p.to_controller);
  EXPECT_FALSE(p.invalidate_key);
}

TEST(RdmaDataPlan, InCapsuleWriteAtItsOffset) {
  auto plan = plan_rdma_data(sqe_with(nvme::kSglInCapsule, 0, 4096), 4096, 0, 4096, 8192);
  const auto& p = std::get<RdmaDataPlan>(plan);
  EXPECT_EQ(p.where, RdmaDataPlan::Where::in_capsule);
  EXPECT_EQ(p.capsule_offset, 0u);
  auto offset = plan_rdma_data(sqe_with(nvme::kSglInCapsule, 512, 1024), 1024, 0, 2048, 8192);
  EXPECT_EQ(std::get<RdmaDataPlan>(offset).capsule_offset, 512u);
}

TEST(RdmaDataPlan, InCapsuleDataMustHaveArrived) {
  // The SGL says 4096 bytes, the capsule carried 1024.
  EXPECT_EQ(refusal(plan_rdma_data(sqe_with(nvme::kSglInCapsule, 0, 4096), 4096, 0, 1024, 8192)),
            nvme::GenericStatus::data_sgl_length_invalid);
  // An offset past what arrived, and past what the queue takes.
  EXPECT_EQ(refusal(plan_rdma_data(sqe_with(nvme::kSglInCapsule, 2048, 16), 16, 0, 1024, 8192)),
            nvme::GenericStatus::sgl_offset_invalid);
  EXPECT_EQ(refusal(plan_rdma_data(sqe_with(nvme::kSglInCapsule, 1u << 20, 16), 16, 0, 1024, 8192)),
            nvme::GenericStatus::sgl_offset_invalid);
  // Offset plus length beyond the data, with an offset that would wrap if added carelessly.
  EXPECT_EQ(refusal(plan_rdma_data(sqe_with(nvme::kSglInCapsule, 1000, 100), 100, 0, 1024, 8192)),
            nvme::GenericStatus::data_sgl_length_invalid);
}

TEST(RdmaDataPlan, InCapsuleDataCannotReturnData) {
  EXPECT_EQ(refusal(plan_rdma_data(sqe_with(nvme::kSglInCapsule, 0, 4096), 0, 4096, 0, 8192)),
            nvme::GenericStatus::sgl_descriptor_type_invalid);
}

TEST(RdmaDataPlan, OtherSglFormsAreRefused) {
  // NVMe/TCP's transport data block, a plain address data block, a segment, a keyed descriptor
  // with a reserved sub type.
  for (uint8_t identifier : {uint8_t{0x5a}, uint8_t{0x00}, uint8_t{0x20}, uint8_t{0x41}}) {
    EXPECT_EQ(refusal(plan_rdma_data(sqe_with(identifier, 0, 4096), 4096, 0, 0, 8192)),
              nvme::GenericStatus::sgl_descriptor_type_invalid)
        << int{identifier};
  }
}

TEST(RdmaDataPlan, KeyedRangeMustNotWrap) {
  EXPECT_EQ(refusal(plan_rdma_data(sqe_with(kSglKeyedAddress, ~uint64_t{0} - 10, 4096, 1), 4096, 0, 0, 8192)),
            nvme::GenericStatus::data_sgl_length_invalid);
}

TEST(RdmaDataPlan, NoDataNeedsNoPlace) {
  auto plan = plan_rdma_data(sqe_with(kSglKeyedAddress, 0, 0, 0), 0, 0, 0, 8192);
  EXPECT_EQ(std::get<RdmaDataPlan>(plan).where, RdmaDataPlan::Where::none);
}

}  // namespace
}  // namespace portico::nvmeof
