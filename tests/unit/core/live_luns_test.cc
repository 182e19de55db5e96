// LUNs added to and removed from a SCSI target while nexuses are attached (a new configuration
// version applied live): what the hosts see, and when a removed unit may be closed.
#include <gtest/gtest.h>

#include "core/common/big_endian.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/scsi_target.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::sense_key_asc;
using testing::TargetFixture;

std::shared_ptr<LogicalUnit> second_unit(TargetFixture& f, std::shared_ptr<testing::FakeBlockDevice>& device) {
  device = std::make_shared<testing::FakeBlockDevice>(1024 * 512);
  LogicalUnitConfig config;
  config.name = "test lun 1";
  config.identity_seed = "iqn.2026-11.io.portico:test/lun/1";
  return *LogicalUnit::create(config, device, f.cluster);
}

std::vector<uint64_t> reported_luns(TargetFixture& f, NexusState& nexus) {
  auto report = f.run(nexus, {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
  EXPECT_EQ(report.task->status, ScsiStatus::good);
  std::vector<uint64_t> out;
  const auto& data = report.task->data_in;
  const uint32_t length = load_be32(data.data());
  for (uint32_t at = 8; at + 8 <= 8 + length && at + 8 <= report.task->data_in_length; at += 8) {
    out.push_back(load_be16(data.data() + at) & 0x3fff);
  }
  return out;
}

TEST(LiveLuns, AnAddedLunIsReportedChangedToAttachedNexusesAndServes) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  std::shared_ptr<testing::FakeBlockDevice> device;
  f.target.add_lun(1, second_unit(f, device));
  // SPC-4: REPORTED LUNS DATA HAS CHANGED on the LUN the host already uses.
  auto tur = f.run(*nexus, {0x00, 0, 0, 0, 0, 0});
  ASSERT_EQ(tur.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(sense_key_asc(*tur.task), std::make_pair(uint8_t{0x06}, uint8_t{0x3f}));
  EXPECT_EQ(tur.task->sense[13], 0x0e);
  EXPECT_EQ(reported_luns(f, *nexus), (std::vector<uint64_t>{0, 1}));
  // The new LUN: powered on, to this nexus, then it serves.
  auto first = f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 1);
  EXPECT_EQ(sense_key_asc(*first.task), std::make_pair(uint8_t{0x06}, uint8_t{0x29}));
  f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 1);  // REPORTED LUNS DATA HAS CHANGED there too
  auto read = f.run(*nexus, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 1);
  EXPECT_EQ(read.task->status, ScsiStatus::good);
  // A nexus that attaches later sees both LUNs with a power-on condition each, nothing else.
  auto later = f.target.attach(testing::make_nexus("iqn.b"));
  EXPECT_EQ(reported_luns(f, *later), (std::vector<uint64_t>{0, 1}));
  f.clear_ua(*later);
  EXPECT_EQ(f.run(*later, {0x00, 0, 0, 0, 0, 0}).task->status, ScsiStatus::good);
}

TEST(LiveLuns, ARemovedLunIsNotSupportedAndItsUnitClosesOnlyAfterItsCommands) {
  TargetFixture f;
  std::shared_ptr<testing::FakeBlockDevice> device;
  f.target.add_lun(1, second_unit(f, device));
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 1);
  device->hold = true;
  auto in_flight = f.submit(*nexus, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 1, 7);
  ASSERT_FALSE(*in_flight.finished);
  auto removed = f.target.remove_lun(1);
  ASSERT_TRUE(removed);
  bool idle = false;
  removed->when_idle([&idle]() { idle = true; });
  EXPECT_FALSE(idle) << "the read on the removed LUN is still running";
  auto refused = f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 1);
  EXPECT_EQ(sense_key_asc(*refused.task), std::make_pair(uint8_t{0x05}, uint8_t{0x25}));  // NOT SUPPORTED
  auto tur = f.run(*nexus, {0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(sense_key_asc(*tur.task), std::make_pair(uint8_t{0x06}, uint8_t{0x3f}));
  EXPECT_EQ(reported_luns(f, *nexus), (std::vector<uint64_t>{0}));
  device->release_all();
  EXPECT_TRUE(*in_flight.finished);
  EXPECT_EQ(in_flight.task->status, ScsiStatus::good) << "a command already running ends normally";
  EXPECT_TRUE(idle);
  EXPECT_FALSE(f.target.remove_lun(1)) << "removed once";
}

TEST(LiveLuns, AnIdleRemovedUnitIsIdleAtOnce) {
  TargetFixture f;
  auto removed = f.target.remove_lun(0);
  ASSERT_TRUE(removed);
  bool idle = false;
  removed->when_idle([&idle]() { idle = true; });
  EXPECT_TRUE(idle);
  EXPECT_TRUE(f.target.luns().empty());
}

}  // namespace
}  // namespace portico::scsi
