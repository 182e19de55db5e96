// A gateway that loses the cluster's event channel stops serving until it has re-read the state,
// and tells its initiators what changed meanwhile; COMPARE AND WRITE never crosses the backend's
// atomic boundary.
#include <gtest/gtest.h>

#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

void deliver(testing::TargetFixture& f, LunEvent::Kind kind) {
  LunEvent event;
  event.kind = kind;
  bool done = false;
  f.cluster.publish(f.unit->cluster_key(), event, [&done](Status status) {
    EXPECT_TRUE(status.ok());
    done = true;
  });
  EXPECT_TRUE(done);
}

TEST(ClusterChannel, StateUnknown_RefusesMediumAccessAndTurWithPathFailingNotReadyButAnswersInquiry) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  deliver(f, LunEvent::Kind::state_unknown);
  EXPECT_FALSE(f.unit->state_is_current());
  for (std::vector<uint8_t> cdb : {std::vector<uint8_t>{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0},
                                   std::vector<uint8_t>{0x5e, 0, 0, 0, 0, 0, 0, 0, 16, 0},
                                   std::vector<uint8_t>{0x00, 0, 0, 0, 0, 0}}) {
    auto refused = f.run(*a, cdb);
    ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
    EXPECT_EQ(refused.task->sense[2], 0x02);   // NOT READY
    EXPECT_EQ(refused.task->sense[12], 0x08);  // LOGICAL UNIT COMMUNICATION FAILURE: the path
    EXPECT_EQ(refused.task->sense[13], 0x00);  // fails (not 04/0A, requeued on the same path)
  }
  EXPECT_EQ(f.run(*a, {0x12, 0, 0, 0, 36, 0}).task->status, ScsiStatus::good);
  deliver(f, LunEvent::Kind::state_current);
  EXPECT_TRUE(f.unit->state_is_current());
  EXPECT_EQ(f.run(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}).task->status, ScsiStatus::good);
}

TEST(ClusterChannel, StateCurrent_RaisesRegistrationsPreemptedForARegistrationLostWhileAway) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  ASSERT_EQ(f.pr_out(*a, 0, 0, 0, 0xaa).task->status, ScsiStatus::good);
  deliver(f, LunEvent::Kind::state_unknown);

  // Meanwhile another gateway removed the registration (its notify never reached this one).
  auto stored = f.stored_record();
  ASSERT_TRUE(stored.has_value());
  auto& [version, state] = *stored;
  ASSERT_EQ(state.registrants.size(), 1u);
  state.registrants.clear();
  ++state.generation;
  bool written = false;
  f.cluster.write_reservation(f.unit->cluster_key(), version, serialize(state), false,
                              [&written](Status s) { written = s.ok(); });
  ASSERT_TRUE(written);

  deliver(f, LunEvent::Kind::state_current);
  auto ua = f.run(*a, {0x00, 0, 0, 0, 0, 0});
  ASSERT_EQ(ua.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(ua.task->sense[12], 0x2a);
  EXPECT_EQ(ua.task->sense[13], 0x05);  // REGISTRATIONS PREEMPTED
  EXPECT_FALSE(f.unit->reservations().is_registered(a->nexus()));
}

TEST(ClusterChannel, StateCurrent_WithoutChangesRaisesNoUnitAttention) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  ASSERT_EQ(f.pr_out(*a, 0, 0, 0, 0xaa).task->status, ScsiStatus::good);
  deliver(f, LunEvent::Kind::state_unknown);
  deliver(f, LunEvent::Kind::state_current);
  EXPECT_EQ(f.run(*a, {0x00, 0, 0, 0, 0, 0}).task->status, ScsiStatus::good);
}

// The local cluster state seen through a gateway whose cluster can hold reservation reads back
// (a re-read in flight) and whose publishes fail after applying here, as a clustered publish does
// when another gateway neither applied the event nor could be fenced.
class ProxyCluster final : public testing::LocalClusterProxy {
 public:
  void publish(const std::string& key, const LunEvent& event, UniqueFunction<void(Status)> done) override {
    local.publish(key, event, [this, done = std::move(done)](Status applied_here) mutable {
      if (!peer_refuses || !applied_here.ok()) return done(std::move(applied_here));
      done(error(ErrorCode::io_error, "client.4242 refused it (error: lun event: format version 2 is newer than "
                                      "this gateway reads); cannot fence: its address is unknown"));
    });
  }
  void read_reservation(const std::string& key, UniqueFunction<void(Result<VersionedRecord>)> done) override {
    if (!hold_reads) return local.read_reservation(key, std::move(done));
    held_reads.push_back(
        [this, key, done = std::move(done)]() mutable { local.read_reservation(key, std::move(done)); });
  }

  bool peer_refuses = false;
  bool hold_reads = false;
  std::vector<UniqueFunction<void()>> held_reads;
};

struct ProxyTarget {
  ProxyTarget() {
    LogicalUnitConfig config;
    config.name = "test lun 0";
    config.identity_seed = "iqn.2026-11.io.portico:test/lun/0";
    unit = *LogicalUnit::create(config, device, cluster);
    target.add_lun(0, unit);
    nexus = target.attach(testing::make_nexus("iqn.a"));
    run({0x00, 0, 0, 0, 0, 0});  // the power-on unit attention
  }
  std::unique_ptr<ScsiTask> run(std::vector<uint8_t> cdb, const std::vector<uint8_t>& data_out = {}) {
    auto task = std::make_unique<ScsiTask>();
    std::copy(cdb.begin(), cdb.end(), task->cdb_bytes.begin());
    task->data_out = data_out;
    target.execute(*nexus, *task, executor, []() {});  // inline: done when this returns
    return task;
  }
  void deliver(LunEvent::Kind kind) {
    LunEvent event;
    event.kind = kind;
    cluster.local.publish(unit->cluster_key(), event, [](Status) {});
  }

  ProxyCluster cluster;
  testing::InlineExecutor executor;
  std::shared_ptr<testing::FakeBlockDevice> device = std::make_shared<testing::FakeBlockDevice>(2048 * 512);
  std::shared_ptr<LogicalUnit> unit;
  ScsiTarget target;
  std::shared_ptr<NexusState> nexus;
};

// A state_unknown that arrives while the re-read of an earlier one runs (a second refused event,
// a lost watch) keeps the unit refusing until the re-read of its own state_current: what the
// first re-read got may predate the change that the second one announces.
TEST(ClusterChannel, StateUnknownDuringAReReadKeepsTheUnitRefusingUntilTheNextStateCurrent) {
  ProxyTarget t;
  t.deliver(LunEvent::Kind::state_unknown);
  t.cluster.hold_reads = true;
  t.deliver(LunEvent::Kind::state_current);
  ASSERT_EQ(t.cluster.held_reads.size(), 1u);
  t.deliver(LunEvent::Kind::state_unknown);
  t.cluster.hold_reads = false;
  t.cluster.held_reads.front()();
  EXPECT_FALSE(t.unit->state_is_current()) << "a re-read that began before the last state_unknown was trusted";
  t.deliver(LunEvent::Kind::state_current);
  EXPECT_TRUE(t.unit->state_is_current());
}

TEST(ClusterChannel, PersistentReserveOutWhoseEventAGatewayNeitherAppliedNorWasFencedIsNotGood) {
  ProxyTarget t;
  std::vector<uint8_t> params(24, 0);
  store_be64(params.data() + 8, 0xaa);  // REGISTER with SERVICE ACTION RESERVATION KEY aa
  t.cluster.peer_refuses = true;
  auto refused = t.run({0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0}, params);
  ASSERT_EQ(refused->status, ScsiStatus::check_condition);
  EXPECT_EQ(refused->sense[2], 0x0b);   // ABORTED COMMAND: retryable
  EXPECT_EQ(refused->sense[12], 0x08);  // LOGICAL UNIT COMMUNICATION FAILURE
  // The change is stored and in force on this gateway, which applied it.
  EXPECT_TRUE(t.unit->reservations().is_registered(t.nexus->nexus()));

  t.cluster.peer_refuses = false;
  std::vector<uint8_t> again(24, 0);
  store_be64(again.data(), 0xaa);
  store_be64(again.data() + 8, 0xbb);
  EXPECT_EQ(t.run({0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0}, again)->status, ScsiStatus::good);
}

TEST(CompareAndWrite, ARangeAcrossTheBackendsAtomicBoundaryIsRefusedAndNothingIsWritten) {
  testing::TargetFixture f;
  f.device->mutable_info().atomic_boundary_bytes = 4096;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  std::vector<uint8_t> data(2 * 2 * 512, 0);  // compare zeroes, write 0x5a
  std::fill(data.begin() + 1024, data.end(), 0x5a);
  auto crossing = f.run(*a, {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0}, data);  // LBA 7..8
  ASSERT_EQ(crossing.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(crossing.task->sense[2], 0x05);
  EXPECT_EQ(crossing.task->sense[12], 0x24);  // INVALID FIELD IN CDB
  EXPECT_EQ(f.device->bytes()[7 * 512], 0);
  EXPECT_EQ(f.device->bytes()[8 * 512], 0);
  auto inside = f.run(*a, {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 2, 0, 0}, data);  // LBA 6..7
  EXPECT_EQ(inside.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[7 * 512], 0x5a);
}

}  // namespace
}  // namespace portico::scsi
