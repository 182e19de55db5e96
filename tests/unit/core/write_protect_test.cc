// A read-only logical unit (SBC-3 4.10): writes refused with DATA PROTECT, reads served, WP set.
#include <gtest/gtest.h>

#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

std::pair<uint8_t, uint8_t> key_and_asc(const ScsiTask& task) {
  if (task.sense.size() < 14) return {0xff, 0xff};
  return {static_cast<uint8_t>(task.sense[2] & 0x0f), task.sense[12]};  // fixed format (D_SENSE=0)
}

// LUN 1 of the fixture's target: a write-protected unit over its own device.
struct ReadOnlyFixture : TargetFixture {
  ReadOnlyFixture() {
    read_only_device = std::make_shared<testing::FakeBlockDevice>(2048 * 512);
    LogicalUnitConfig config;
    config.name = "test lun 1";
    config.identity_seed = "iqn.2026-11.io.portico:test/lun/1";
    config.read_only = true;
    target.add_lun(1, *LogicalUnit::create(config, read_only_device, cluster));
  }
  std::shared_ptr<testing::FakeBlockDevice> read_only_device;
};

TEST(WriteProtect, ReadOnlyUnitRefusesEveryWritingCommandWithDataProtect) {
  ReadOnlyFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 1);
  const std::vector<std::vector<uint8_t>> writers = {
      {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0},                          // WRITE (10)
      {0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},        // WRITE (16)
      {0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0},                          // WRITE SAME (10)
      {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0},                         // UNMAP
      {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},        // COMPARE AND WRITE
      {0x2e, 0, 0, 0, 0, 0, 0, 0, 1, 0},                          // WRITE AND VERIFY (10)
  };
  for (const auto& cdb : writers) {
    auto run = f.run(*nexus, cdb, std::vector<uint8_t>(1024, 0x5a), 1);
    EXPECT_EQ(run.task->status, ScsiStatus::check_condition) << "opcode " << int{cdb[0]};
    EXPECT_EQ(key_and_asc(*run.task), std::make_pair(uint8_t{0x07}, uint8_t{0x27}))
        << "opcode " << int{cdb[0]};
  }
  EXPECT_EQ(f.read_only_device->bytes()[0], 0);
  auto read = f.run(*nexus, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 1);
  EXPECT_EQ(read.task->status, ScsiStatus::good);
}

TEST(WriteProtect, ModeSenseReportsWpOnlyForTheReadOnlyUnit) {
  ReadOnlyFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 1);
  auto writable = f.run(*nexus, {0x1a, 0, 0x3f, 0, 255, 0}, {}, 0);
  auto protected_unit = f.run(*nexus, {0x1a, 0, 0x3f, 0, 255, 0}, {}, 1);
  ASSERT_EQ(writable.task->status, ScsiStatus::good);
  ASSERT_EQ(protected_unit.task->status, ScsiStatus::good);
  EXPECT_EQ(writable.task->data_in.data()[2] & 0x80, 0);
  EXPECT_EQ(protected_unit.task->data_in.data()[2] & 0x80, 0x80);
}

}  // namespace
}  // namespace portico::scsi
