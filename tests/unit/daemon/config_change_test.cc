#include "daemon/config_change.h"

#include <gtest/gtest.h>

namespace portico::daemon {
namespace {

// A record as the gateways parse it (parse_config_record): every LUN an RBD image.
Config record(const std::string& targets) {
  auto config = parse_config_record(targets);
  EXPECT_TRUE(config.ok()) << config.status().message() << "\n" << targets;
  return config.ok() ? *config : Config{};
}

constexpr const char* kOneLun = R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
    luns:
      - {lun: 0, backend: rbd, image: disk0}
)";

TEST(ConfigChange, SameRecordIsNoChange) {
  auto plan = plan_config_change(record(kOneLun), record(kOneLun));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_TRUE(plan->empty());
  EXPECT_EQ(plan->summary(), "no change");
}

TEST(ConfigChange, AddedLunOfAKeptTarget) {
  auto plan = plan_config_change(record(kOneLun), record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
    luns:
      - {lun: 0, backend: rbd, image: disk0}
      - {lun: 1, backend: rbd, image: disk1}
)"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->added_luns.size(), 1u);
  EXPECT_EQ(plan->added_luns[0].iqn, "iqn.2026-11.io.portico:a");
  EXPECT_EQ(plan->added_luns[0].lun.lun, 1u);
  EXPECT_EQ(plan->added_luns[0].lun.rbd_image, "disk1");
  EXPECT_TRUE(plan->removed_luns.empty());
  EXPECT_TRUE(plan->added_targets.empty());
  EXPECT_TRUE(plan->access_changed.empty());
  EXPECT_EQ(plan->summary(), "1 LUN added");
}

TEST(ConfigChange, ChangedLunIsRemovedAndAddedAgain) {
  auto plan = plan_config_change(record(kOneLun), record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
    luns:
      - {lun: 0, backend: rbd, image: disk0, read_only: true}
)"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->removed_luns.size(), 1u);
  ASSERT_EQ(plan->added_luns.size(), 1u);
  EXPECT_FALSE(plan->removed_luns[0].lun.read_only);
  EXPECT_TRUE(plan->added_luns[0].lun.read_only);
}

TEST(ConfigChange, TargetsAddedAndRemoved) {
  auto plan = plan_config_change(record(kOneLun), record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:b
    luns:
      - {lun: 0, backend: rbd, image: disk0}
)"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->added_targets.size(), 1u);
  EXPECT_EQ(plan->added_targets[0].iqn, "iqn.2026-11.io.portico:b");
  ASSERT_EQ(plan->removed_targets.size(), 1u);
  EXPECT_EQ(plan->removed_targets[0], "iqn.2026-11.io.portico:a");
  EXPECT_TRUE(plan->removed_luns.empty());  // they go with their target
}

TEST(ConfigChange, AclChangeKeepsTheLuns) {
  auto plan = plan_config_change(record(kOneLun), record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
    allowed_initiators: [iqn.2026-11.io.portico:host1]
    luns:
      - {lun: 0, backend: rbd, image: disk0}
)"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->access_changed.size(), 1u);
  EXPECT_TRUE(plan->added_luns.empty());
  EXPECT_TRUE(plan->removed_luns.empty());
}

TEST(ConfigChange, RecordMayStartEmptyAndTargetsWithoutLuns) {
  auto empty = parse_config_record("targets: []\n");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  auto plan = plan_config_change(*empty, record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
)"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->added_targets.size(), 1u);
  EXPECT_TRUE(plan->added_targets[0].luns.empty());
}

TEST(ConfigChange, NvmeSubsystemsComeAndGoLive) {
  const std::string with_nvme = R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
    nvme: {nqn: "nqn.2026-11.io.portico:a"}
    luns:
      - {lun: 0, backend: rbd, image: disk0}
)";
  auto added = plan_config_change(record(kOneLun), record(with_nvme));
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(added->nvme_changed, std::vector<std::string>{"iqn.2026-11.io.portico:a"});
  EXPECT_TRUE(added->added_luns.empty()) << "the LUN stays; a subsystem now serves it too";
  EXPECT_EQ(added->summary(), "1 target' access changed, 1 NVMe subsystem replaced");
  auto removed = plan_config_change(record(with_nvme), record(kOneLun));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->nvme_changed.size(), 1u);
  // A namespace added to a subsystem that stays is a LUN added, nothing more.
  auto more = plan_config_change(record(with_nvme), record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:a
    nvme: {nqn: "nqn.2026-11.io.portico:a"}
    luns:
      - {lun: 0, backend: rbd, image: disk0}
      - {lun: 1, backend: rbd, image: disk1}
)"));
  ASSERT_TRUE(more.ok()) << more.status().message();
  EXPECT_EQ(more->added_luns.size(), 1u);
  EXPECT_TRUE(more->nvme_changed.empty());
}

TEST(ConfigChange, TcmuExportChangesNeedARestart) {
  Config before = record(kOneLun);
  Config after = before;
  TcmuExportConfig e;
  e.name = "disk0_h1";
  e.initiator = "naa.6001405000000001";
  e.target_port = "naa.6001405000000002";
  after.targets[0].luns[0].tcmu.push_back(e);
  auto plan = plan_config_change(before, after);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("TCMU"), std::string::npos) << plan.status().message();
}

}  // namespace
}  // namespace portico::daemon
