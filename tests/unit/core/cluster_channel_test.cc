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

TEST(ClusterChannel, StateUnknown_RefusesMediumAccessWithRetryableNotReadyButAnswersInquiry) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  deliver(f, LunEvent::Kind::state_unknown);
  EXPECT_FALSE(f.unit->state_is_current());
  for (std::vector<uint8_t> cdb : {std::vector<uint8_t>{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0},
                                   std::vector<uint8_t>{0x5e, 0, 0, 0, 0, 0, 0, 0, 16, 0}}) {
    auto refused = f.run(*a, cdb);
    ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
    EXPECT_EQ(refused.task->sense[2], 0x02);   // NOT READY
    EXPECT_EQ(refused.task->sense[12], 0x04);  // LOGICAL UNIT NOT ACCESSIBLE,
    EXPECT_EQ(refused.task->sense[13], 0x0a);  // ASYMMETRIC ACCESS STATE TRANSITION
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
