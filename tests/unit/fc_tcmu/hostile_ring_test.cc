// A ring whose lengths and offsets are not what the kernel writes: bad buffers make a command
// malformed (still answerable), a bad ring structure makes a RingFault; nothing is read or
// allocated out of bounds.
#include <gtest/gtest.h>

#include <limits>

#include "tests/unit/fc_tcmu/ring_test_support.h"

namespace portico::tcmu::testing {
namespace {

using namespace layout;

// Queues one WRITE with two buffers, lets `corrupt` change its entry, and reads it back.
template <typename Corrupt>
RingCommand read_corrupted(FakeTcmuKernel& kernel, std::optional<CommandRing>& ring, Corrupt corrupt) {
  kernel.queue_command(cdb10(kWrite10), {512, 512});
  corrupt(kernel.entry(kernel.last_entry()));
  ring.emplace(attach(kernel));
  return take<RingCommand>(*ring);
}

void expect_malformed_but_answerable(FakeTcmuKernel& kernel, CommandRing& ring, const RingCommand& command) {
  EXPECT_FALSE(command.malformed.empty());
  EXPECT_TRUE(command.data.empty());
  EXPECT_TRUE(command.bidi.empty());
  ASSERT_TRUE(ring.complete(command.cmd_id, kCheckCondition, {}));
  const auto done = kernel.collect_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].cmd_id, command.cmd_id);
}

void set_iovec(std::span<uint8_t> entry, size_t index, uint64_t base, uint64_t length) {
  store<uint64_t>(entry, kReqIov + index * kIovecSize + kIovecBase, base);
  store<uint64_t>(entry, kReqIov + index * kIovecSize + kIovecLen, length);
}

TEST(HostileRing, IovecBeyondTheRegionIsMalformed) {
  FakeTcmuKernel kernel;
  std::optional<CommandRing> ring;
  const size_t end = kernel.region().size();
  const auto command = read_corrupted(kernel, ring, [&](auto e) { set_iovec(e, 1, end, 1); });
  EXPECT_NE(command.malformed.find("iovec 1"), std::string::npos) << command.malformed;
  expect_malformed_but_answerable(kernel, *ring, command);
}

TEST(HostileRing, IovecWhoseEndOverflowsIsMalformed) {
  FakeTcmuKernel kernel;
  std::optional<CommandRing> ring;
  const uint64_t base = kernel.data_offset() + 4096;
  const auto command = read_corrupted(kernel, ring, [&](auto e) {
    set_iovec(e, 0, base, std::numeric_limits<uint64_t>::max() - base + 2);
  });
  expect_malformed_but_answerable(kernel, *ring, command);
}

TEST(HostileRing, IovecIntoTheRingOrTheMailboxIsMalformed) {
  for (uint64_t base : {uint64_t{0}, uint64_t{kMailboxCmdTail}, uint64_t{kMailboxSize},
                        uint64_t{kMailboxSize + 4000}}) {
    FakeTcmuKernel kernel;
    std::optional<CommandRing> ring;
    const auto command = read_corrupted(kernel, ring, [&](auto e) { set_iovec(e, 0, base, 64); });
    expect_malformed_but_answerable(kernel, *ring, command);
  }
  // Ending just past the ring's end reaches into the ring too.
  FakeTcmuKernel kernel;
  std::optional<CommandRing> ring;
  const uint64_t base = kernel.data_offset() - 8;
  const auto command = read_corrupted(kernel, ring, [&](auto e) { set_iovec(e, 0, base, 64); });
  expect_malformed_but_answerable(kernel, *ring, command);
}

TEST(HostileRing, IovecCountsBeyondTheEntryAreMalformedWithoutAllocating) {
  for (auto counts : {std::pair<uint32_t, uint32_t>{0xffffffffu, 0}, {0x80000000u, 0x80000000u}, {3, 3}}) {
    FakeTcmuKernel kernel;
    std::optional<CommandRing> ring;
    const auto command = read_corrupted(kernel, ring, [&](auto e) {
      store<uint32_t>(e, kReqIovCnt, counts.first);
      store<uint32_t>(e, kReqIovBidiCnt, counts.second);
    });
    EXPECT_NE(command.malformed.find("iovecs the entry holds"), std::string::npos) << command.malformed;
    expect_malformed_but_answerable(kernel, *ring, command);
  }
}

TEST(HostileRing, CdbOutsideTheEntryIsMalformed) {
  FakeTcmuKernel kernel;
  std::optional<CommandRing> ring;
  const uint64_t elsewhere = kernel.data_offset();
  const auto command = read_corrupted(kernel, ring, [&](auto e) { store<uint64_t>(e, kReqCdbOff, elsewhere); });
  EXPECT_TRUE(command.cdb.empty());
  EXPECT_NE(command.malformed.find("cdb_off"), std::string::npos) << command.malformed;
  expect_malformed_but_answerable(kernel, *ring, command);
}

TEST(HostileRing, CdbRunningPastTheEntryIsMalformed) {
  FakeTcmuKernel kernel;
  std::optional<CommandRing> ring;
  // A READ(32) whose ADDITIONAL CDB LENGTH claims 255 bytes in an entry with room for 32.
  std::vector<uint8_t> cdb(32, 0);
  cdb[0] = 0x7f;
  cdb[7] = 0xff;
  const uint16_t id = kernel.queue_command(cdb, {512});
  ring.emplace(attach(kernel));
  const auto command = take<RingCommand>(*ring);
  EXPECT_EQ(command.cmd_id, id);
  EXPECT_TRUE(command.cdb.empty());
  expect_malformed_but_answerable(kernel, *ring, command);
}

// The ring's structure: each of these is a RingFault, and stays one.
void expect_fault(CommandRing& ring, const std::string& words) {
  const auto fault = take<RingFault>(ring);
  EXPECT_NE(fault.reason.find(words), std::string::npos) << fault.reason;
  EXPECT_TRUE(ring.faulted());
  EXPECT_EQ(take<RingFault>(ring).reason, fault.reason);
}

void set_length(FakeTcmuKernel& kernel, uint32_t ring_offset, uint32_t len_op) {
  store<uint32_t>(kernel.entry(ring_offset), kHdrLenOp, len_op);
}

TEST(HostileRing, EntryOfLengthZeroIsAFault) {
  FakeTcmuKernel kernel;
  kernel.queue_command(cdb10(kWrite10), {512});
  set_length(kernel, 0, static_cast<uint32_t>(EntryOp::cmd));
  CommandRing ring = attach(kernel);
  expect_fault(ring, "length 0");
  // A PAD of length 0 would never move: the same fault, not a hang.
  set_length(kernel, 0, static_cast<uint32_t>(EntryOp::pad));
  CommandRing again = attach(kernel);
  expect_fault(again, "length 0");
}

TEST(HostileRing, EntryRunningPastTheRingsEndIsAFault) {
  FakeTcmuKernel kernel(1024);
  kernel.start_at(1024 - 128);
  kernel.queue_command(cdb10(kWrite10), {512});  // 128 bytes: ends exactly at the ring's end
  set_length(kernel, 1024 - 128, 256 | static_cast<uint32_t>(EntryOp::cmd));
  CommandRing ring = attach(kernel);
  expect_fault(ring, "past the ring's end");
}

TEST(HostileRing, EntryRunningPastCmdHeadIsAFault) {
  FakeTcmuKernel kernel;
  kernel.queue_command(cdb10(kWrite10), {512});
  set_length(kernel, 0, (kernel.head() + 8) | static_cast<uint32_t>(EntryOp::cmd));
  CommandRing ring = attach(kernel);
  expect_fault(ring, "past cmd_head");
}

TEST(HostileRing, UnknownOpcodeIsAFault) {
  FakeTcmuKernel kernel;
  kernel.queue_command(cdb10(kWrite10), {512});
  set_length(kernel, 0, kernel.head() | 5);
  CommandRing ring = attach(kernel);
  expect_fault(ring, "unknown opcode 5");
}

TEST(HostileRing, CommandTooShortForItsResponseIsAFault) {
  FakeTcmuKernel kernel;
  kernel.queue_command(cdb10(kWrite10), {512});
  set_length(kernel, 0, 64 | static_cast<uint32_t>(EntryOp::cmd));
  kernel.set_head(64);
  CommandRing ring = attach(kernel);
  expect_fault(ring, "command of 64 bytes");
}

TEST(HostileRing, TmrNamingMoreCommandsThanItHoldsIsAFault) {
  FakeTcmuKernel kernel;
  kernel.queue_tmr(1, {7});
  store<uint32_t>(kernel.entry(0), kTmrCmdCnt, 0xffffffffu);
  CommandRing ring = attach(kernel);
  expect_fault(ring, "names 4294967295 commands");
}

TEST(HostileRing, CmdHeadOutsideTheRingOrUnalignedIsAFault) {
  for (uint32_t head : {4096u, 0xfffffff8u, 12u}) {
    FakeTcmuKernel kernel;
    CommandRing ring = attach(kernel);
    kernel.set_head(head);
    expect_fault(ring, "cmd_head " + std::to_string(head));
  }
}

TEST(HostileRing, CmdHeadMovingBackOverReadEntriesIsAFault) {
  FakeTcmuKernel kernel;
  const uint16_t first = kernel.queue_command(cdb10(kWrite10), {512});
  const uint32_t end_of_first = kernel.head();
  kernel.queue_command(cdb10(kWrite10), {512});
  CommandRing ring = attach(kernel);
  take<RingCommand>(ring);
  take<RingCommand>(ring);
  kernel.set_head(end_of_first);
  expect_fault(ring, "moved back");
  // What was read before the fault can still be answered, so the kernel gets its commands back.
  EXPECT_TRUE(ring.complete(first, kCheckCondition, {}));
  EXPECT_EQ(kernel.collect_completions().size(), 1u);
  EXPECT_EQ(ring.outstanding(), 1u);
}

}  // namespace
}  // namespace portico::tcmu::testing
