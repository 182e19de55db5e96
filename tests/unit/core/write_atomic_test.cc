// WRITE ATOMIC (16) (SBC-4 5.48) and the Block Limits VPD atomic fields it is checked against.
#include <gtest/gtest.h>

#include "core/common/big_endian.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

std::vector<uint8_t> write_atomic_cdb(uint64_t lba, uint16_t blocks, uint8_t byte1 = 0) {
  std::vector<uint8_t> cdb(16, 0);
  cdb[0] = 0x9c;
  cdb[1] = byte1;
  store_be64(cdb.data() + 2, lba);
  store_be16(cdb.data() + 12, blocks);
  return cdb;
}

struct WriteAtomic : ::testing::Test {
  TargetFixture f;  // 2048 blocks of 512 bytes
  std::shared_ptr<NexusState> a = f.target.attach(testing::make_nexus("iqn.a"));
  void SetUp() override {
    auto& info = f.device->mutable_info();
    info.max_atomic_write_bytes = 64 * 512;
    info.atomic_alignment_bytes = 4 * 512;
    info.atomic_granularity_bytes = 2 * 512;
    f.clear_ua(*a);
  }
  void expect_invalid_field(const TargetFixture::Run& r, uint16_t byte) {
    ASSERT_EQ(r.task->status, ScsiStatus::check_condition);
    EXPECT_EQ(r.task->sense[2] & 0x0f, 0x05);
    EXPECT_EQ(r.task->sense[12], 0x24);
    EXPECT_EQ(load_be16(r.task->sense.data() + 16), byte);
  }
};

TEST_F(WriteAtomic, BlockLimitsReportsTheBackendsLimitsInBlocks) {
  auto limits = f.run(*a, {0x12, 0x01, 0xb0, 0, 64, 0});
  ASSERT_EQ(limits.task->status, ScsiStatus::good);
  const uint8_t* page = limits.task->data_in.data();
  EXPECT_GE(load_be16(page + 2) + 4u, 56u);  // the page length covers bytes 44-55
  EXPECT_EQ(load_be32(page + 44), 64u);      // MAXIMUM ATOMIC TRANSFER LENGTH
  EXPECT_EQ(load_be32(page + 48), 4u);       // ATOMIC ALIGNMENT
  EXPECT_EQ(load_be32(page + 52), 2u);       // ATOMIC TRANSFER LENGTH GRANULARITY
}

TEST_F(WriteAtomic, WritesTheWholeRangeWithFuaAndDpo) {
  auto written = f.run(*a, write_atomic_cdb(8, 4, 0x18), std::vector<uint8_t>(4 * 512, 0x5a));
  ASSERT_EQ(written.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[8 * 512 - 1], 0);
  for (size_t i = 8 * 512; i < 12 * 512; ++i) ASSERT_EQ(f.device->bytes()[i], 0x5a) << "byte " << i;
  EXPECT_EQ(f.device->bytes()[12 * 512], 0);
}

TEST_F(WriteAtomic, MisalignmentBadGranularityAndTooLongAreInvalidFieldsInTheCdb) {
  expect_invalid_field(f.run(*a, write_atomic_cdb(2, 4), std::vector<uint8_t>(4 * 512, 1)), 2);
  expect_invalid_field(f.run(*a, write_atomic_cdb(4, 3), std::vector<uint8_t>(3 * 512, 1)), 12);
  expect_invalid_field(f.run(*a, write_atomic_cdb(0, 66), std::vector<uint8_t>(66 * 512, 1)), 12);
  for (uint8_t b : f.device->bytes()) ASSERT_EQ(b, 0);
}

TEST_F(WriteAtomic, BeyondTheLastLbaIsOutOfRangeEvenForZeroBlocks) {
  for (auto [lba, blocks] : {std::pair<uint64_t, uint16_t>{2048, 2}, {2044, 8}, {2052, 0}, {1ull << 63, 2}}) {
    auto r = f.run(*a, write_atomic_cdb(lba, blocks), std::vector<uint8_t>(blocks * 512u, 1));
    ASSERT_EQ(r.task->status, ScsiStatus::check_condition) << lba;
    EXPECT_EQ(r.task->sense[12], 0x21) << lba;
  }
  EXPECT_EQ(f.run(*a, write_atomic_cdb(0, 0)).task->status, ScsiStatus::good);
}

TEST_F(WriteAtomic, ProtectionInformationIsRefused) {
  for (uint8_t wrprotect = 1; wrprotect < 8; ++wrprotect) {
    auto r = f.run(*a, write_atomic_cdb(0, 2, static_cast<uint8_t>(wrprotect << 5)), std::vector<uint8_t>(1024, 1));
    expect_invalid_field(r, 1);
  }
}

TEST(WriteAtomicOffer, ADeviceWithoutAtomicWritesRefusesTheOpcodeAndReportsZeroLimits) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto r = f.run(*a, write_atomic_cdb(0, 1), std::vector<uint8_t>(512, 1));
  ASSERT_EQ(r.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(r.task->sense[12], 0x20);  // INVALID COMMAND OPERATION CODE
  auto limits = f.run(*a, {0x12, 0x01, 0xb0, 0, 64, 0});
  EXPECT_EQ(load_be32(limits.task->data_in.data() + 44), 0u);
}

TEST(WriteAtomicOffer, ReadOnlyUnitIsDataProtect) {
  cluster::LocalClusterState cluster;
  testing::InlineExecutor executor;
  auto device = std::make_shared<testing::FakeBlockDevice>(1u << 20);
  device->mutable_info().max_atomic_write_bytes = 1u << 16;
  LogicalUnitConfig config;
  config.name = "ro";
  config.read_only = true;
  ScsiTarget target;
  target.add_lun(0, *LogicalUnit::create(config, device, cluster));
  auto a = target.attach(testing::make_nexus("iqn.a"));
  ScsiTask tur;
  target.execute(*a, tur, executor, []() {});
  ScsiTask task;
  const auto cdb = write_atomic_cdb(0, 1);
  std::copy(cdb.begin(), cdb.end(), task.cdb_bytes.begin());
  std::vector<uint8_t> data(512, 1);
  task.data_out = data;
  target.execute(*a, task, executor, []() {});
  ASSERT_EQ(task.status, ScsiStatus::check_condition);
  EXPECT_EQ(task.sense[2] & 0x0f, 0x07);
  EXPECT_EQ(device->bytes()[0], 0);
}

}  // namespace
}  // namespace portico::scsi
