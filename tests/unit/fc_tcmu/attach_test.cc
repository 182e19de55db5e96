// CommandRing::attach: the mailbox checks.
#include <gtest/gtest.h>

#include "tests/unit/fc_tcmu/ring_test_support.h"

namespace portico::tcmu::testing {
namespace {

using namespace layout;

TEST(RingAttach, AcceptsTheKernelsLayoutAndReportsItsCapabilities) {
  FakeTcmuKernel kernel;
  CommandRing ring = attach(kernel);
  EXPECT_TRUE(ring.out_of_order_completion());
  EXPECT_TRUE(ring.read_length());
  EXPECT_TRUE(ring.tmr_notifications());
  EXPECT_EQ(ring.outstanding(), 0u);
  EXPECT_FALSE(ring.next().has_value());

  FakeTcmuKernel old_kernel(4096, 4096, kCapOutOfOrderCompletion);
  CommandRing old_ring = attach(old_kernel);
  EXPECT_TRUE(old_ring.out_of_order_completion());
  EXPECT_FALSE(old_ring.read_length());
  EXPECT_FALSE(old_ring.tmr_notifications());
}

TEST(RingAttach, RejectsAnotherMailboxVersion) {
  FakeTcmuKernel kernel;
  store<uint16_t>(kernel.region(), kMailboxVersion, 3);
  auto ring = CommandRing::attach(kernel.region());
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), ErrorCode::unsupported);
  EXPECT_NE(ring.status().message().find("version 3"), std::string::npos);
}

TEST(RingAttach, RejectsARingBeyondTheRegion) {
  FakeTcmuKernel kernel;
  store<uint32_t>(kernel.region(), kMailboxCmdrSize, 1u << 30);
  EXPECT_EQ(CommandRing::attach(kernel.region()).status().code(), ErrorCode::out_of_range);
  // cmdr_off + cmdr_size overflowing 32 bits must not wrap into the region.
  store<uint32_t>(kernel.region(), kMailboxCmdrOff, 0xfffffff8u);
  store<uint32_t>(kernel.region(), kMailboxCmdrSize, 16);
  EXPECT_EQ(CommandRing::attach(kernel.region()).status().code(), ErrorCode::out_of_range);
}

TEST(RingAttach, RejectsARingThatLeavesNoDataArea) {
  FakeTcmuKernel kernel;
  const auto up_to_ring_end = kernel.region().first(kernel.data_offset());
  auto ring = CommandRing::attach(up_to_ring_end);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), ErrorCode::out_of_range);
  EXPECT_NE(ring.status().message().find("no data area"), std::string::npos);
}

TEST(RingAttach, RejectsARingOverTheMailboxOrOffItsAlignment) {
  for (auto [offset, size] : {std::pair<uint32_t, uint32_t>{64, 4096}, {0, 4096}, {132, 4096}, {128, 4100}, {128, 0}}) {
    FakeTcmuKernel kernel;
    store<uint32_t>(kernel.region(), kMailboxCmdrOff, offset);
    store<uint32_t>(kernel.region(), kMailboxCmdrSize, size);
    EXPECT_EQ(CommandRing::attach(kernel.region()).status().code(), ErrorCode::invalid_argument)
        << "cmdr_off " << offset << " cmdr_size " << size;
  }
}

TEST(RingAttach, RejectsARegionSmallerThanTheMailboxOrUnaligned) {
  FakeTcmuKernel kernel;
  EXPECT_EQ(CommandRing::attach(kernel.region().first(kMailboxSize - 1)).status().code(), ErrorCode::out_of_range);
  EXPECT_EQ(CommandRing::attach(kernel.region().subspan(4)).status().code(), ErrorCode::invalid_argument);
}

TEST(RingAttach, RejectsACmdTailOutsideTheRing) {
  for (uint32_t tail : {4096u, 4104u, 12u}) {
    FakeTcmuKernel kernel;
    store<uint32_t>(kernel.region(), kMailboxCmdTail, tail);
    EXPECT_EQ(CommandRing::attach(kernel.region()).status().code(), ErrorCode::invalid_argument) << tail;
  }
}

TEST(RingAttach, StartsReadingAtCmdTail) {
  FakeTcmuKernel kernel;
  kernel.start_at(1024);
  const uint16_t id = kernel.queue_command(cdb10(kRead10), {4096});
  CommandRing ring = attach(kernel);
  EXPECT_EQ(take<RingCommand>(ring).cmd_id, id);
  EXPECT_FALSE(ring.next().has_value());
}

}  // namespace
}  // namespace portico::tcmu::testing
