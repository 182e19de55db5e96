// A write that is still collecting its data-out when a task management function or PREEMPT AND
// ABORT covers it ends as aborted once its data is in, and writes nothing.
#include <gtest/gtest.h>

#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

// A WRITE(10) of one block of 0x77 at LBA 5 that has arrived (admitted) but not been executed.
struct PendingWrite {
  ScsiTask task;
  std::vector<uint8_t> data = std::vector<uint8_t>(512, 0x77);
  bool finished = false;

  explicit PendingWrite(ScsiTarget& target) {
    const std::array<uint8_t, 10> cdb{0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0};
    std::copy(cdb.begin(), cdb.end(), task.cdb_bytes.begin());
    task.tag = 9;
    target.admit(task);
  }
  void submit(TargetFixture& f, NexusState& nexus) {
    task.data_out = data;
    f.target.execute(nexus, task, f.executor, [this]() { finished = true; });
  }
};

// A nexus of `initiator` whose power-on unit attention is already cleared.
std::shared_ptr<NexusState> attach_ready(TargetFixture& f, const std::string& initiator) {
  auto nexus = f.target.attach(testing::make_nexus(initiator));
  f.clear_ua(*nexus);
  return nexus;
}

TmfResponse tmf(TargetFixture& f, NexusState& nexus, TmfFunction function) {
  TmfResponse response = TmfResponse::function_rejected;
  f.target.task_management(nexus, function, 0, 0, f.executor, [&](TmfResponse r) { response = r; });
  return response;
}

TEST(AbortWhileCollectingData, LunResetFromAnotherNexus_EndsTheWriteWithTaskAbortedAndNothingLands) {
  TargetFixture f;
  auto a = attach_ready(f, "iqn.a");
  auto b = attach_ready(f, "iqn.b");
  PendingWrite write(f.target);
  EXPECT_EQ(tmf(f, *b, TmfFunction::logical_unit_reset), TmfResponse::function_complete);
  write.submit(f, *a);
  ASSERT_TRUE(write.finished);
  EXPECT_EQ(write.task.outcome, TaskOutcome::completed);
  EXPECT_EQ(write.task.status, ScsiStatus::task_aborted);  // TAS=1, another nexus's reset
  EXPECT_EQ(f.device->bytes()[5 * 512], 0);
  auto ua = f.run(*a, {0x00, 0, 0, 0, 0, 0});  // the reset's unit attention is still pending
  ASSERT_EQ(ua.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(ua.task->sense[12], 0x29);
}

TEST(AbortWhileCollectingData, AbortTaskSetOfItsOwnNexus_EndsTheWriteSilently) {
  TargetFixture f;
  auto a = attach_ready(f, "iqn.a");
  PendingWrite write(f.target);
  EXPECT_EQ(tmf(f, *a, TmfFunction::abort_task_set), TmfResponse::function_complete);
  write.submit(f, *a);
  ASSERT_TRUE(write.finished);
  EXPECT_EQ(write.task.outcome, TaskOutcome::aborted_silently);
  EXPECT_EQ(f.device->bytes()[5 * 512], 0);
}

TEST(AbortWhileCollectingData, AbortTaskSetOfAnotherNexus_LeavesTheWriteAlone) {
  TargetFixture f;
  auto a = attach_ready(f, "iqn.a");
  auto b = attach_ready(f, "iqn.b");
  PendingWrite write(f.target);
  EXPECT_EQ(tmf(f, *b, TmfFunction::abort_task_set), TmfResponse::function_complete);
  write.submit(f, *a);
  ASSERT_TRUE(write.finished);
  EXPECT_EQ(write.task.status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[5 * 512], 0x77);
}

TEST(AbortWhileCollectingData, PreemptAndAbort_EndsThePreemptedInitiatorsWrite) {
  TargetFixture f;
  auto a = attach_ready(f, "iqn.a");
  auto b = attach_ready(f, "iqn.b");
  ASSERT_EQ(f.pr_out(*a, 0, 0, 0, 0xaa).task->status, ScsiStatus::good);
  ASSERT_EQ(f.pr_out(*b, 0, 0, 0, 0xbb).task->status, ScsiStatus::good);
  ASSERT_EQ(f.pr_out(*a, 1, 1, 0xaa, 0).task->status, ScsiStatus::good);  // a holds WRITE EXCLUSIVE
  PendingWrite write(f.target);
  ASSERT_EQ(f.pr_out(*b, 5, 1, 0xbb, 0xaa).task->status, ScsiStatus::good);  // PREEMPT AND ABORT
  write.submit(f, *a);
  ASSERT_TRUE(write.finished);
  EXPECT_EQ(write.task.status, ScsiStatus::task_aborted);
  EXPECT_EQ(f.device->bytes()[5 * 512], 0);
}

TEST(AbortWhileCollectingData, AWriteThatArrivesAfterTheResetRuns) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  auto b = f.target.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*b);
  EXPECT_EQ(tmf(f, *b, TmfFunction::logical_unit_reset), TmfResponse::function_complete);
  f.clear_ua(*a);
  PendingWrite write(f.target);
  write.submit(f, *a);
  ASSERT_TRUE(write.finished);
  EXPECT_EQ(write.task.status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[5 * 512], 0x77);
}

}  // namespace
}  // namespace portico::scsi
