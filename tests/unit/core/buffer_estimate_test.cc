#include "core/scsi/buffer_estimate.h"

#include <gtest/gtest.h>

#include <array>

namespace portico::scsi {
namespace {

constexpr uint32_t kBlock = 512;
constexpr uint32_t kMaxTransfer = 8u << 20;

uint64_t estimate(std::initializer_list<uint8_t> bytes) {
  std::array<uint8_t, 16> cdb{};
  std::copy(bytes.begin(), bytes.end(), cdb.begin());
  return core_buffer_bytes(cdb, kBlock, kMaxTransfer);
}

TEST(BufferEstimate, ReadsCountTheirTransferLengthInEveryCdbSize) {
  EXPECT_EQ(estimate({0x08, 0, 0, 0, 8, 0}), 8u * kBlock);            // READ(6)
  EXPECT_EQ(estimate({0x08, 0, 0, 0, 0, 0}), 256u * kBlock);          // READ(6): 0 means 256
  EXPECT_EQ(estimate({0x28, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0}), 2048u * kBlock);  // READ(10)
  EXPECT_EQ(estimate({0xa8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0, 0}), 256u * kBlock);  // READ(12)
  EXPECT_EQ(estimate({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0}), 16u * kBlock);  // READ(16)
}

TEST(BufferEstimate, IsBoundedByTheLargestTransferWhichTheCoreRefusesBeyond) {
  EXPECT_EQ(estimate({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}), kMaxTransfer);
}

TEST(BufferEstimate, ScratchOfVerifyAndOrwrite) {
  EXPECT_EQ(estimate({0x2f, 0, 0, 0, 0, 0, 0, 0, 4, 0}), 4u * kBlock);              // VERIFY(10)
  EXPECT_EQ(estimate({0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0}), 8u * kBlock);  // ORWRITE: two
  EXPECT_EQ(estimate({0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}),          // COMPARE AND WRITE
            2u * kBlock + kSmallCommandBufferBytes);
}

TEST(BufferEstimate, WritesAllocateNothingInTheCoreAndOtherCommandsLittle) {
  EXPECT_EQ(estimate({0x2a, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0}), 0u);  // WRITE(10): the front-end's buffer
  EXPECT_EQ(estimate({0x12, 0, 0, 0xff, 0xff, 0}), kSmallCommandBufferBytes);  // INQUIRY
  EXPECT_EQ(estimate({0xa0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}), kSmallCommandBufferBytes);  // REPORT LUNS
  EXPECT_EQ(core_buffer_bytes({}, kBlock, kMaxTransfer), kSmallCommandBufferBytes);
}

TEST(BufferEstimate, ExtendedCopyCountsOneChunk) {
  EXPECT_EQ(estimate({0x83, 0}), uint64_t{kMaxTransfer} + kSmallCommandBufferBytes);
}

}  // namespace
}  // namespace portico::scsi
