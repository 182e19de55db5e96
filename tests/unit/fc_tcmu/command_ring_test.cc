// CommandRing::next: command and TMR entries as the kernel queues them.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/fc_tcmu/ring_test_support.h"

namespace portico::tcmu::testing {
namespace {

using namespace layout;

// The span lies inside the fake kernel's data area.
bool in_data_area(FakeTcmuKernel& kernel, std::span<uint8_t> buffer) {
  const uint8_t* data_start = kernel.region().data() + kernel.data_offset();
  const uint8_t* region_end = kernel.region().data() + kernel.region().size();
  return buffer.data() >= data_start && buffer.data() + buffer.size() <= region_end;
}

TEST(CommandRingNext, WriteCarriesItsCdbAndEveryDataOutBuffer) {
  FakeTcmuKernel kernel;
  const auto cdb = cdb10(kWrite10);
  const uint16_t id = kernel.queue_command(cdb, {4096, 512, 1000}, {}, 0xab);
  CommandRing ring = attach(kernel);

  const auto command = take<RingCommand>(ring);
  EXPECT_EQ(command.cmd_id, id);
  EXPECT_EQ(command.cdb, cdb);
  EXPECT_TRUE(command.malformed.empty());
  ASSERT_EQ(command.data.size(), 3u);
  EXPECT_EQ(command.data[0].size(), 4096u);
  EXPECT_EQ(command.data[1].size(), 512u);
  EXPECT_EQ(command.data[2].size(), 1000u);
  EXPECT_EQ(command.data_bytes(), 5608u);
  EXPECT_TRUE(command.bidi.empty());
  for (const auto& buffer : command.data) {
    EXPECT_TRUE(in_data_area(kernel, buffer));
    EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](uint8_t b) { return b == 0xab; }));
  }
  EXPECT_EQ(ring.outstanding(), 1u);
  EXPECT_FALSE(ring.next().has_value());
}

TEST(CommandRingNext, ReadBuffersAreTheRegionsOwnBytes) {
  FakeTcmuKernel kernel;
  kernel.queue_command(cdb10(kRead10), {8192});
  CommandRing ring = attach(kernel);
  const auto command = take<RingCommand>(ring);
  ASSERT_EQ(command.data.size(), 1u);
  std::fill(command.data[0].begin(), command.data[0].end(), uint8_t{0x5a});
  // Data-In written through the span is what the kernel copies out of its data area.
  EXPECT_EQ(kernel.region()[kernel.data_offset()], 0x5a);
  EXPECT_EQ(kernel.region()[kernel.data_offset() + 8191], 0x5a);
}

TEST(CommandRingNext, BidirectionalCommandSplitsDataOutFromDataIn) {
  FakeTcmuKernel kernel;
  kernel.queue_command(cdb10(0x53), {512}, {1024, 512});  // XDWRITEREAD(10)
  CommandRing ring = attach(kernel);
  const auto command = take<RingCommand>(ring);
  ASSERT_EQ(command.data.size(), 1u);
  ASSERT_EQ(command.bidi.size(), 2u);
  EXPECT_EQ(command.data_bytes(), 512u);
  EXPECT_EQ(command.bidi[0].size(), 1024u);
  EXPECT_EQ(command.bidi[1].size(), 512u);
}

TEST(CommandRingNext, CommandWithoutDataHasNoBuffers) {
  FakeTcmuKernel kernel;
  kernel.queue_command({0x00, 0, 0, 0, 0, 0}, {});  // TEST UNIT READY
  CommandRing ring = attach(kernel);
  const auto command = take<RingCommand>(ring);
  EXPECT_EQ(command.cdb.size(), 6u);
  EXPECT_TRUE(command.data.empty());
  EXPECT_EQ(command.data_bytes(), 0u);
}

TEST(CommandRingNext, SixteenAndVariableLengthCdbsAreCopiedWhole) {
  FakeTcmuKernel kernel;
  std::vector<uint8_t> read16(16, 0);
  read16[0] = 0x88;
  read16[15] = 0x77;
  std::vector<uint8_t> read32(32, 0);
  read32[0] = 0x7f;
  read32[7] = 0x18;  // ADDITIONAL CDB LENGTH: 24
  read32[9] = 0x09;  // SERVICE ACTION: READ(32)
  read32[31] = 0x33;
  kernel.queue_command(read16, {512});
  kernel.queue_command(read32, {512});
  CommandRing ring = attach(kernel);
  EXPECT_EQ(take<RingCommand>(ring).cdb, read16);
  const auto command = take<RingCommand>(ring);
  EXPECT_TRUE(command.malformed.empty()) << command.malformed;
  EXPECT_EQ(command.cdb, read32);
}

TEST(CommandRingNext, PadBeforeTheRingsEndIsSkipped) {
  FakeTcmuKernel kernel(1024);
  kernel.start_at(1024 - 64);  // a command entry (>= 112 bytes) does not fit in the last 64
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  ASSERT_EQ(kernel.last_entry(), 0u);
  CommandRing ring = attach(kernel);
  EXPECT_EQ(take<RingCommand>(ring).cmd_id, id);
  EXPECT_FALSE(ring.next().has_value());
  EXPECT_EQ(ring.outstanding(), 1u);
}

TEST(CommandRingNext, TmrNamesTheCommandsItAborts) {
  FakeTcmuKernel kernel;
  const uint16_t first = kernel.queue_command(cdb10(kWrite10), {512});
  const uint16_t second = kernel.queue_command(cdb10(kWrite10), {512});
  kernel.queue_tmr(5, {first, second});  // TCMU_TMR_LUN_RESET
  kernel.queue_tmr(1, {});               // an ABORT TASK for a command no longer in the ring
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  take<RingCommand>(ring);
  const auto reset = take<RingTmr>(ring);
  EXPECT_EQ(reset.type, 5);
  EXPECT_EQ(reset.cmd_ids, (std::vector<uint16_t>{first, second}));
  const auto abort = take<RingTmr>(ring);
  EXPECT_EQ(abort.type, 1);
  EXPECT_TRUE(abort.cmd_ids.empty());
  EXPECT_EQ(ring.outstanding(), 2u);
  EXPECT_FALSE(ring.next().has_value());
}

TEST(CommandRingNext, EntriesQueuedLaterArriveOnTheNextCall) {
  FakeTcmuKernel kernel;
  CommandRing ring = attach(kernel);
  EXPECT_FALSE(ring.next().has_value());
  const uint16_t first = kernel.queue_command(cdb10(kRead10), {512});
  EXPECT_EQ(take<RingCommand>(ring).cmd_id, first);
  EXPECT_FALSE(ring.next().has_value());
  const uint16_t second = kernel.queue_command(cdb10(kRead10), {512});
  EXPECT_EQ(take<RingCommand>(ring).cmd_id, second);
  EXPECT_EQ(ring.outstanding(), 2u);
}

}  // namespace
}  // namespace portico::tcmu::testing
