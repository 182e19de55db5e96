// READ and WRITE with the front-end's own buffers in pieces (ScsiTask::data_in_segments /
// data_out_segments, as the TCMU handler passes its data area): the data goes to and from the
// segments through the device's readv / writev, with the same checks, residual rules and
// errors as the one-buffer path.
#include <gtest/gtest.h>

#include <cerrno>
#include <numeric>
#include <vector>

#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

// A command with its data in pieces; the lists and buffers outlive the task, as a front-end's.
struct SegmentedRun {
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::span<uint8_t>> in;
  std::vector<std::span<const uint8_t>> out;
  ScsiTask task;
  bool finished = false;

  SegmentedRun(const std::vector<size_t>& sizes, uint8_t fill) {
    for (size_t size : sizes) buffers.emplace_back(size, fill);
    for (auto& b : buffers) {
      in.emplace_back(b);
      out.emplace_back(b);
    }
  }
  void run(TargetFixture& f, NexusState& nexus, std::vector<uint8_t> cdb, bool reading) {
    std::copy(cdb.begin(), cdb.end(), task.cdb_bytes.begin());
    if (reading) {
      task.data_in_segments = in;
    } else {
      task.data_out_segments = out;
    }
    f.target.execute(nexus, task, f.executor, [this]() { finished = true; });
  }
  [[nodiscard]] std::vector<uint8_t> joined() const {
    std::vector<uint8_t> all;
    for (const auto& b : buffers) all.insert(all.end(), b.begin(), b.end());
    return all;
  }
};

TEST(DataSegments, ReadFillsTheFrontEndsBuffersInPlace) {
  TargetFixture f;
  std::iota(f.device->bytes().begin(), f.device->bytes().end(), 0);
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  SegmentedRun read({1000, 24, 3072}, 0xee);  // 4 KiB = READ(10) of 8 blocks at LBA 2
  read.run(f, *a, {0x28, 0, 0, 0, 0, 2, 0, 0, 8, 0}, true);
  ASSERT_TRUE(read.finished);
  ASSERT_EQ(read.task.status, ScsiStatus::good);
  EXPECT_TRUE(read.task.data_in_placed);
  EXPECT_EQ(read.task.data_in_length, 4096u);
  EXPECT_EQ(read.task.data_in.size(), 0u);  // nothing went through the core's own buffer
  const std::vector<uint8_t> expected(f.device->bytes().begin() + 1024, f.device->bytes().begin() + 1024 + 4096);
  EXPECT_EQ(read.joined(), expected);
}

TEST(DataSegments, ReadIntoMoreThanTheCdbAsksLeavesTheRestUntouched) {
  TargetFixture f;
  std::fill(f.device->bytes().begin(), f.device->bytes().end(), 0x11);
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  SegmentedRun read({700, 700}, 0xee);  // 1400 offered, 1024 asked: an underflow
  read.run(f, *a, {0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0}, true);
  ASSERT_EQ(read.task.status, ScsiStatus::good);
  EXPECT_TRUE(read.task.data_in_placed);
  EXPECT_EQ(read.task.data_in_length, 1024u);
  EXPECT_EQ(read.buffers[1][323], 0x11);
  EXPECT_EQ(read.buffers[1][324], 0xee);
}

TEST(DataSegments, ReadIntoLessThanTheCdbAsksUsesTheCoresBuffer) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  SegmentedRun read({512}, 0xee);  // an overflow: the front-end copies what fits and reports it
  read.run(f, *a, {0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0}, true);
  ASSERT_EQ(read.task.status, ScsiStatus::good);
  EXPECT_FALSE(read.task.data_in_placed);
  EXPECT_EQ(read.task.data_in_length, 1024u);
  EXPECT_GE(read.task.data_in.size(), 1024u);
}

TEST(DataSegments, WriteTakesItsDataFromTheSegments) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  SegmentedRun write({100, 412, 1536}, 0);
  for (size_t i = 0; i < write.buffers.size(); ++i) std::fill(write.buffers[i].begin(), write.buffers[i].end(), i + 1);
  write.run(f, *a, {0x2a, 0x08, 0, 0, 0, 4, 0, 0, 4, 0}, false);  // FUA, LBA 4, 4 blocks
  ASSERT_TRUE(write.finished);
  ASSERT_EQ(write.task.status, ScsiStatus::good);
  const std::vector<uint8_t> stored(f.device->bytes().begin() + 2048, f.device->bytes().begin() + 4096);
  EXPECT_EQ(stored, write.joined());
  EXPECT_EQ(f.device->bytes()[2047], 0);
  EXPECT_EQ(f.device->bytes()[4096], 0);
}

TEST(DataSegments, AWriteShortOfWholeBlocksIsRefusedAndWholeBlocksAreWritten) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  SegmentedRun torn({512, 200}, 7);  // 4 blocks asked, 712 bytes sent: a partial block
  torn.run(f, *a, {0x2a, 0, 0, 0, 0, 0, 0, 0, 4, 0}, false);
  ASSERT_EQ(torn.task.status, ScsiStatus::check_condition);
  EXPECT_EQ(torn.task.sense[12], 0x0e);  // INVALID FIELD IN INFORMATION UNIT
  EXPECT_EQ(f.device->bytes()[0], 0);

  SegmentedRun whole({256, 256, 512}, 9);  // 4 blocks asked, 2 sent: those 2 are written
  whole.run(f, *a, {0x2a, 0, 0, 0, 0, 0, 0, 0, 4, 0}, false);
  ASSERT_EQ(whole.task.status, ScsiStatus::good);
  EXPECT_EQ(whole.task.data_out_length_needed, 2048u);
  EXPECT_EQ(f.device->bytes()[1023], 9);
  EXPECT_EQ(f.device->bytes()[1024], 0);
}

TEST(DataSegments, ABackendErrorKeepsItsMeaning) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  f.device->fail_with = ENOTCONN;
  SegmentedRun read({512, 512}, 0);
  read.run(f, *a, {0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0}, true);
  ASSERT_EQ(read.task.status, ScsiStatus::check_condition);
  EXPECT_FALSE(read.task.data_in_placed);
  EXPECT_EQ(read.task.sense[2] & 0x0f, 0x02);  // NOT READY, LOGICAL UNIT COMMUNICATION FAILURE
  EXPECT_EQ(read.task.sense[12], 0x08);
  SegmentedRun write({512, 512}, 0);
  write.run(f, *a, {0x2a, 0, 0, 0, 0, 0, 0, 0, 2, 0}, false);
  ASSERT_EQ(write.task.status, ScsiStatus::check_condition);
  EXPECT_EQ(write.task.sense[12], 0x08);
}

}  // namespace
}  // namespace portico::scsi
