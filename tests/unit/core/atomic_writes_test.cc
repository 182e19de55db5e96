// COMPARE AND WRITE's data-out checks, ORWRITE beyond the backend's atomic unit, and the
// configured physical block size.
#include <gtest/gtest.h>

#include "core/common/big_endian.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

std::vector<uint8_t> caw_cdb(uint64_t lba, uint8_t blocks) {
  std::vector<uint8_t> cdb(16, 0);
  cdb[0] = 0x89;
  store_be64(cdb.data() + 2, lba);
  cdb[13] = blocks;
  return cdb;
}

TEST(CompareAndWrite, DataOutThatIsNotTwiceTheBlocksIsRefusedAndWritesNothing) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  // Four blocks of data for a one-block command: the halves would be misaligned.
  auto small = f.run(*a, caw_cdb(0, 1), std::vector<uint8_t>(4 * 512, 0x11));
  ASSERT_EQ(small.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(small.task->sense[2] & 0x0f, 0x05);  // ILLEGAL REQUEST, not MISCOMPARE
  EXPECT_EQ(small.task->sense[12], 0x24);
  // Two blocks of data for a two-block command is one block short of each half.
  auto large = f.run(*a, caw_cdb(0, 2), std::vector<uint8_t>(2 * 512, 0));
  ASSERT_EQ(large.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(large.task->sense[2] & 0x0f, 0x05);
  for (size_t i = 0; i < 4 * 512; ++i) ASSERT_EQ(f.device->bytes()[i], 0) << "byte " << i;
}

TEST(CompareAndWrite, MoreBlocksThanTheBlockLimitIsAnInvalidFieldInTheCdb) {
  TargetFixture f;
  f.device->mutable_info().max_compare_and_write_bytes = 2 * 512;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto refused = f.run(*a, caw_cdb(0, 3), std::vector<uint8_t>(6 * 512, 0));
  ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(refused.task->sense[12], 0x24);
  EXPECT_EQ(load_be16(refused.task->sense.data() + 16), 13u);  // field pointer: NUMBER OF LOGICAL BLOCKS
}

TEST(OrWrite, ATransferLargerThanTheAtomicUnitIsOredSegmentBySegment) {
  TargetFixture f;
  f.device->mutable_info().max_compare_and_write_bytes = 3 * 512;  // segments of 3 blocks
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  for (size_t i = 0; i < 16 * 512; ++i) f.device->bytes()[i] = 0x0f;
  std::vector<uint8_t> cdb(16, 0);
  cdb[0] = 0x8b;
  store_be64(cdb.data() + 2, 2);
  store_be32(cdb.data() + 10, 10);  // LBA 2..11: four segments, the last one short
  auto ored = f.run(*a, cdb, std::vector<uint8_t>(10 * 512, 0xf0));
  ASSERT_EQ(ored.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[2 * 512 - 1], 0x0f);
  for (size_t i = 2 * 512; i < 12 * 512; ++i) ASSERT_EQ(f.device->bytes()[i], 0xff) << "byte " << i;
  EXPECT_EQ(f.device->bytes()[12 * 512], 0x0f);
}

TEST(OrWrite, SegmentsRunInParallelAndEveryOneIsOred) {
  TargetFixture f;
  f.device->mutable_info().max_compare_and_write_bytes = 512;  // one block per segment, as RBD
  f.device->mutable_info().atomic_boundary_bytes = 512;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  for (size_t i = 0; i < 64 * 512; ++i) f.device->bytes()[i] = 0x0f;
  std::vector<uint8_t> cdb(16, 0);
  cdb[0] = 0x8b;
  store_be64(cdb.data() + 2, 4);
  store_be32(cdb.data() + 10, 40);  // 40 one-block segments
  f.device->hold = true;
  auto ored = f.submit(*a, cdb, std::vector<uint8_t>(40 * 512, 0xf0));
  EXPECT_EQ(f.device->held(), 16u);  // the first reads are all in flight at once
  for (int guard = 0; guard < 100 && !*ored.finished; ++guard) f.device->release_all();
  ASSERT_TRUE(*ored.finished);
  ASSERT_EQ(ored.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[4 * 512 - 1], 0x0f);
  for (size_t i = 4 * 512; i < 44 * 512; ++i) ASSERT_EQ(f.device->bytes()[i], 0xff) << "byte " << i;
  EXPECT_EQ(f.device->bytes()[44 * 512], 0x0f);
}

TEST(PhysicalBlockSize, ConfiguredSizeIsReportedByReadCapacity16AndBlockLimits) {
  TargetFixture f(2048, [](LogicalUnitConfig& c) { c.physical_block_size = 4096; });
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto capacity = f.run(*a, {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0});
  ASSERT_EQ(capacity.task->status, ScsiStatus::good);
  EXPECT_EQ(capacity.task->data_in.data()[13] & 0x0f, 3);  // 8 logical blocks per physical block
  auto limits = f.run(*a, {0x12, 0x01, 0xb0, 0, 64, 0});
  ASSERT_EQ(limits.task->status, ScsiStatus::good);
  EXPECT_EQ(load_be16(limits.task->data_in.data() + 6), 8u);  // OPTIMAL TRANSFER LENGTH GRANULARITY
}

TEST(PhysicalBlockSize, ASizeThatIsNoMultipleOfTheBlockIsRefused) {
  cluster::LocalClusterState cluster;
  LogicalUnitConfig config;
  config.name = "bad";
  config.physical_block_size = 768;
  EXPECT_FALSE(LogicalUnit::create(config, std::make_shared<testing::FakeBlockDevice>(1 << 20), cluster).ok());
  config.physical_block_size = 256;
  EXPECT_FALSE(LogicalUnit::create(config, std::make_shared<testing::FakeBlockDevice>(1 << 20), cluster).ok());
}

}  // namespace
}  // namespace portico::scsi
