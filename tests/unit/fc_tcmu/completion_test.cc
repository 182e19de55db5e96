// CommandRing::complete and release_consumed, checked by what the kernel's completion walk reads.
#include <gtest/gtest.h>

#include <numeric>

#include "tests/unit/fc_tcmu/ring_test_support.h"

namespace portico::tcmu::testing {
namespace {

using namespace layout;

// The length of the command entry at `ring_offset`.
uint32_t entry_length(FakeTcmuKernel& kernel, uint32_t ring_offset) {
  return load<uint32_t>(kernel.entry(ring_offset), kHdrLenOp) & ~kOpMask;
}

TEST(CommandRingComplete, WritesStatusAndSenseAndMovesTheTail) {
  FakeTcmuKernel kernel;
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);

  const std::vector<uint8_t> sense = {0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24};
  ASSERT_TRUE(ring.complete(id, kCheckCondition, sense));
  EXPECT_EQ(kernel.tail(), kernel.head());
  EXPECT_EQ(ring.outstanding(), 0u);

  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].cmd_id, id);
  EXPECT_EQ(done[0].scsi_status, kCheckCondition);
  EXPECT_EQ(done[0].uflags, 0);
  EXPECT_TRUE(std::equal(sense.begin(), sense.end(), done[0].sense.begin()));
  EXPECT_TRUE(std::all_of(done[0].sense.begin() + 13, done[0].sense.end(), [](uint8_t b) { return b == 0; }));
}

TEST(CommandRingComplete, ShortSenseClearsTheRequestBytesBehindIt) {
  FakeTcmuKernel kernel;
  // Four iovecs fill the request bytes that the sense buffer overlays.
  const uint16_t id = kernel.queue_command(cdb10(kRead10), {512, 512, 512, 512});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  ASSERT_TRUE(ring.complete(id, 0, {}));
  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].scsi_status, 0);
  EXPECT_TRUE(std::all_of(done[0].sense.begin(), done[0].sense.end(), [](uint8_t b) { return b == 0; }));
}

TEST(CommandRingComplete, SenseLongerThanTheBufferIsCutAndTheCdbAfterItIsKept) {
  FakeTcmuKernel kernel;
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  std::vector<uint8_t> sense(200);
  std::iota(sense.begin(), sense.end(), uint8_t{1});
  ASSERT_TRUE(ring.complete(id, kCheckCondition, sense));
  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(std::equal(done[0].sense.begin(), done[0].sense.end(), sense.begin()));
  EXPECT_EQ(kernel.entry(0)[kCmdEntrySize], kWrite10);  // the CDB, right after the response
}

TEST(CommandRingComplete, OutOfOrderCompletionAnswersInTheTailSlot) {
  FakeTcmuKernel kernel;
  const uint16_t first = kernel.queue_command(cdb10(kWrite10), {512});
  const uint32_t second_slot = kernel.head();
  const uint16_t second = kernel.queue_command(cdb10(kRead10), {4096, 4096});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  take<RingCommand>(ring);

  ASSERT_TRUE(ring.complete(second, 0, {}));
  EXPECT_EQ(kernel.tail(), second_slot);  // past the first slot only
  EXPECT_EQ(load<uint16_t>(kernel.entry(0), kHdrCmdId), second);
  auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].cmd_id, second);
  EXPECT_EQ(ring.outstanding(), 1u);

  ASSERT_TRUE(ring.complete(first, kCheckCondition, std::vector<uint8_t>{0x70}));
  EXPECT_EQ(kernel.tail(), kernel.head());
  done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].cmd_id, first);
  EXPECT_EQ(done[0].scsi_status, kCheckCondition);
  // The slot keeps the length the kernel wrote: its walk moves by it.
  EXPECT_EQ(entry_length(kernel, second_slot), kernel.head() - second_slot);
}

TEST(CommandRingComplete, PassesPadAndTmrEntriesAtTheTail) {
  FakeTcmuKernel kernel(1024);
  kernel.start_at(1024 - 64);
  kernel.queue_tmr(1, {});                                           // at 960, 32 bytes
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});  // PAD at 992, command at 0
  CommandRing ring = attach(kernel);
  take<RingTmr>(ring);
  take<RingCommand>(ring);
  ASSERT_TRUE(ring.complete(id, 0, {}));
  EXPECT_EQ(kernel.tail(), kernel.head());
  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].cmd_id, id);
}

TEST(CommandRingComplete, NeverPassesAnEntryNotYetRead) {
  FakeTcmuKernel kernel;
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  const uint32_t end_of_first = kernel.head();
  kernel.queue_tmr(1, {});
  kernel.queue_command(cdb10(kWrite10), {512});
  ASSERT_TRUE(ring.complete(id, 0, {}));
  EXPECT_EQ(kernel.tail(), end_of_first);
  ring.release_consumed();
  EXPECT_EQ(kernel.tail(), end_of_first);  // the TMR after it was not returned yet
}

TEST(CommandRingComplete, ReleaseConsumedPassesReturnedTmrsUpToAnOutstandingCommand) {
  FakeTcmuKernel kernel;
  kernel.queue_tmr(5, {});
  const uint32_t command_slot = kernel.head();
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  kernel.queue_tmr(1, {id});
  CommandRing ring = attach(kernel);
  take<RingTmr>(ring);
  take<RingCommand>(ring);
  take<RingTmr>(ring);
  ring.release_consumed();
  EXPECT_EQ(kernel.tail(), command_slot);
  ASSERT_TRUE(ring.complete(id, 0, {}));
  EXPECT_NE(kernel.tail(), kernel.head());  // the last TMR is still before cmd_tail
  ring.release_consumed();
  EXPECT_EQ(kernel.tail(), kernel.head());
  EXPECT_EQ(kernel.collect_completions().size(), 1u);
}

TEST(CommandRingComplete, ReadLengthIsReportedWhenTheKernelTakesIt) {
  FakeTcmuKernel kernel;
  const uint16_t id = kernel.queue_command(cdb10(kRead10), {4096});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  ASSERT_TRUE(ring.complete(id, 0, {}, 1536));
  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].uflags, kUflagReadLen);
  EXPECT_EQ(done[0].read_len, 1536u);
}

TEST(CommandRingComplete, ReadLengthIsLeftOutWithoutTheCapability) {
  FakeTcmuKernel kernel(4096, 64 * 1024, kCapOutOfOrderCompletion);
  const uint16_t id = kernel.queue_command(cdb10(kRead10), {4096});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  ASSERT_TRUE(ring.complete(id, 0, {}, 1536));
  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].uflags, 0);
  EXPECT_EQ(done[0].read_len, 0u);
}

TEST(CommandRingComplete, ClearsUserFlagsTheHandlerDidNotAskFor) {
  FakeTcmuKernel kernel;
  const uint16_t id = kernel.queue_command(cdb10(kRead10), {512});
  kernel.entry(0)[kHdrUflags] = 0x05;  // UNKNOWN_OP | KEEP_BUF
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  ASSERT_TRUE(ring.complete(id, 0, {}));
  EXPECT_EQ(kernel.collect_completions().at(0).uflags, 0);
}

TEST(CommandRingComplete, RefusesWhenNothingIsOutstanding) {
  FakeTcmuKernel kernel;
  CommandRing ring = attach(kernel);
  EXPECT_FALSE(ring.complete(1, 0, {}));
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  kernel.queue_tmr(1, {});
  EXPECT_FALSE(ring.complete(id, 0, {}));  // queued but not read
  take<RingCommand>(ring);
  take<RingTmr>(ring);
  ASSERT_TRUE(ring.complete(id, 0, {}));
  const uint32_t tail = kernel.tail();
  EXPECT_FALSE(ring.complete(id, 0, {}));
  EXPECT_EQ(kernel.tail(), tail);
}

TEST(CommandRingComplete, RefusesAnIdThatIsNotOutstanding) {
  FakeTcmuKernel kernel;
  const uint16_t id = kernel.queue_command(cdb10(kWrite10), {512});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  EXPECT_FALSE(ring.complete(static_cast<uint16_t>(id + 1), 0, {}));
  EXPECT_EQ(kernel.tail(), 0u);
  EXPECT_EQ(load<uint16_t>(kernel.entry(0), kHdrCmdId), id);
  EXPECT_EQ(ring.outstanding(), 1u);
}

TEST(CommandRingComplete, AReattachedRingRereadsTheCommandsStillOutstanding) {
  FakeTcmuKernel kernel;
  const uint16_t first = kernel.queue_command(cdb10(kWrite10), {512});
  const uint16_t second = kernel.queue_command(cdb10(kWrite10), {512});
  {
    CommandRing ring = attach(kernel);
    take<RingCommand>(ring);
    take<RingCommand>(ring);
    ASSERT_TRUE(ring.complete(first, 0, {}));
  }
  CommandRing again = attach(kernel);
  EXPECT_EQ(take<RingCommand>(again).cmd_id, second);
  EXPECT_FALSE(again.next().has_value());
}

}  // namespace
}  // namespace portico::tcmu::testing
