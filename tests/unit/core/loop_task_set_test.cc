// The task set and reservation snapshot of a logical unit served by several event loops: each
// loop keeps its own tasks and its own copy of the snapshot; task management reaches another
// loop's tasks by posting to it, covers only the tasks linked before the abort, and answers only
// after every one of them has ended.
#include <gtest/gtest.h>

#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::FakeBlockDevice;

// A single-threaded executor driven by the test: what is posted runs when the test pumps it,
// and in_executor_thread() is true only while it runs.
class TestLoop final : public Executor {
 public:
  void post(UniqueFunction<void()> fn) override { queue_.push_back(std::move(fn)); }
  void post_after(std::chrono::milliseconds, UniqueFunction<void()> fn) override { post(std::move(fn)); }
  [[nodiscard]] bool in_executor_thread() const override { return inside_; }
  [[nodiscard]] bool single_threaded() const override { return true; }

  // Runs `fn` as the loop's own work, then everything it posted.
  template <typename Fn>
  void run_inside(Fn fn) {
    post(UniqueFunction<void()>(std::move(fn)));
    pump();
  }
  void pump() {
    inside_ = true;
    while (!queue_.empty()) {
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      fn();
    }
    inside_ = false;
  }
  [[nodiscard]] size_t queued() const { return queue_.size(); }

 private:
  std::deque<UniqueFunction<void()>> queue_;
  bool inside_ = false;
};

// Completes on the executor that started the I/O, as the RBD backend does from librbd's threads.
class PostingDevice final : public BlockDevice {
 public:
  explicit PostingDevice(std::shared_ptr<FakeBlockDevice> inner) : inner_(std::move(inner)) {}
  const BlockDeviceInfo& info() const override { return inner_->info(); }
  uint64_t capacity_bytes() const override { return inner_->capacity_bytes(); }
  void read(Executor& e, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override {
    inner_->read(e, offset, dst, posted(e, std::move(done)));
  }
  void write(Executor& e, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override {
    inner_->write(e, offset, src, fua, posted(e, std::move(done)));
  }
  void flush(Executor& e, IoCallback done) override { inner_->flush(e, posted(e, std::move(done))); }
  void discard(Executor& e, uint64_t offset, uint64_t length, IoCallback done) override {
    inner_->discard(e, offset, length, posted(e, std::move(done)));
  }
  void write_zeroes(Executor& e, uint64_t offset, uint64_t length, IoCallback done) override {
    inner_->write_zeroes(e, offset, length, posted(e, std::move(done)));
  }
  void compare_and_write(Executor& e, uint64_t offset, std::span<const uint8_t> expected,
                         std::span<const uint8_t> replacement, IoCallback done) override {
    inner_->compare_and_write(e, offset, expected, replacement, posted(e, std::move(done)));
  }
  void write_atomic(Executor& e, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override {
    inner_->write_atomic(e, offset, src, fua, posted(e, std::move(done)));
  }

 private:
  static IoCallback posted(Executor& e, IoCallback done) {
    return [&e, done = std::make_shared<IoCallback>(std::move(done))](IoStatus status) {
      e.post([done, status]() { (*done)(status); });
    };
  }
  std::shared_ptr<FakeBlockDevice> inner_;
};

struct TwoLoops {
  TwoLoops() {
    fake = std::make_shared<FakeBlockDevice>(2048 * 512);
    LogicalUnitConfig config;
    config.name = "loops lun 0";
    config.identity_seed = "iqn.2026-11.io.portico:loops/lun/0";
    unit = *LogicalUnit::create(config, std::make_shared<PostingDevice>(fake), cluster);
    target.add_lun(0, unit);
    x = attach_ready("iqn.x");
    y = attach_ready("iqn.y");
  }

  std::shared_ptr<NexusState> attach_ready(const std::string& initiator) {
    auto nexus = target.attach(testing::make_nexus(initiator));
    auto tur = submit(a, *nexus, {0x00, 0, 0, 0, 0, 0}, 0);
    a.pump();
    EXPECT_TRUE(tur->finished);  // cleared the power-on unit attention
    return nexus;
  }

  struct Run {
    ScsiTask task;
    std::vector<uint8_t> data;
    bool finished = false;
  };
  // Submits a command as `loop`'s own work (the loop is left to be pumped by the caller).
  std::unique_ptr<Run> submit(TestLoop& loop, NexusState& nexus, std::vector<uint8_t> cdb, uint64_t tag,
                              std::vector<uint8_t> data_out = {}) {
    auto run = std::make_unique<Run>();
    std::copy(cdb.begin(), cdb.end(), run->task.cdb_bytes.begin());
    run->task.tag = tag;
    run->data = std::move(data_out);
    run->task.data_out = run->data;
    Run* r = run.get();
    loop.post([this, &loop, &nexus, r]() { target.execute(nexus, r->task, loop, [r]() { r->finished = true; }); });
    return run;
  }
  std::unique_ptr<Run> read_block(TestLoop& loop, NexusState& nexus, uint64_t tag) {
    return submit(loop, nexus, {0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0}, tag);
  }
  std::unique_ptr<Run> write_block(TestLoop& loop, NexusState& nexus, uint64_t tag) {
    return submit(loop, nexus, {0x2a, 0, 0, 0, 0, 2, 0, 0, 1, 0}, tag, std::vector<uint8_t>(512, 0x5a));
  }
  // A task management function asked for on loop `on`; its answer is posted there.
  std::shared_ptr<std::optional<TmfResponse>> tmf(TestLoop& on, NexusState& nexus, TmfFunction function,
                                                  uint64_t tag = 0) {
    auto response = std::make_shared<std::optional<TmfResponse>>();
    on.run_inside([this, &on, &nexus, function, tag, response]() {
      target.task_management(nexus, function, 0, tag, on, [response](TmfResponse r) { *response = r; });
    });
    return response;
  }
  void pump_all() {
    for (int i = 0; i < 4; ++i) {
      a.pump();
      b.pump();
    }
  }

  cluster::LocalClusterState cluster;
  std::shared_ptr<FakeBlockDevice> fake;
  std::shared_ptr<LogicalUnit> unit;
  ScsiTarget target;
  TestLoop a;
  TestLoop b;
  std::shared_ptr<NexusState> x;
  std::shared_ptr<NexusState> y;
};

TEST(LoopTaskSet, ALunResetReachesTheTasksOfEveryLoopAndAnswersOnlyAfterTheyEnd) {
  TwoLoops f;
  f.fake->hold = true;
  auto on_a = f.read_block(f.a, *f.x, 1);
  auto on_b = f.write_block(f.b, *f.y, 2);
  f.pump_all();
  ASSERT_EQ(f.fake->held(), 2u);

  auto response = f.tmf(f.a, *f.x, TmfFunction::logical_unit_reset);
  EXPECT_FALSE(response->has_value());  // loop b's task is still running
  f.b.pump();                           // b marks its task
  f.fake->release_all();                // the backend ends both I/Os; completions go to their loops
  EXPECT_FALSE(response->has_value());
  f.pump_all();

  ASSERT_TRUE(on_a->finished);
  ASSERT_TRUE(on_b->finished);
  EXPECT_EQ(on_a->task.outcome, TaskOutcome::aborted_silently);  // the resetting nexus's own task
  EXPECT_EQ(on_b->task.outcome, TaskOutcome::completed);
  EXPECT_EQ(on_b->task.status, ScsiStatus::task_aborted);  // another nexus's, TAS=1
  ASSERT_TRUE(response->has_value());
  EXPECT_EQ(**response, TmfResponse::function_complete);
}

TEST(LoopTaskSet, ATaskLinkedAfterTheAbortButBeforeItReachedItsLoopIsNotCovered) {
  TwoLoops f;
  f.fake->hold = true;
  auto before = f.read_block(f.b, *f.y, 1);
  f.b.pump();
  ASSERT_EQ(f.fake->held(), 1u);

  // A read queued on loop b, then y's ABORT TASK SET on loop a: b links the read after the abort
  // was recorded but before it runs the abort's visit, queued behind the read.
  auto after = f.read_block(f.b, *f.y, 2);
  auto response = f.tmf(f.a, *f.y, TmfFunction::abort_task_set);
  ASSERT_EQ(f.b.queued(), 2u);
  f.b.pump();
  f.fake->release_all();
  f.pump_all();

  ASSERT_TRUE(before->finished);
  EXPECT_EQ(before->task.outcome, TaskOutcome::aborted_silently);
  ASSERT_TRUE(after->finished);
  EXPECT_EQ(after->task.outcome, TaskOutcome::completed);
  EXPECT_EQ(after->task.status, ScsiStatus::good);
  ASSERT_TRUE(response->has_value());
  EXPECT_EQ(**response, TmfResponse::function_complete);
}

TEST(LoopTaskSet, AbortTaskAndQueryTaskFindATaskOnAnotherLoop) {
  TwoLoops f;
  f.fake->hold = true;
  auto running = f.read_block(f.b, *f.y, 7);
  f.b.pump();

  auto query = f.tmf(f.a, *f.y, TmfFunction::query_task, 7);
  auto query_other = f.tmf(f.a, *f.y, TmfFunction::query_task, 8);
  f.pump_all();
  ASSERT_TRUE(query->has_value() && query_other->has_value());
  EXPECT_EQ(**query, TmfResponse::function_succeeded);
  EXPECT_EQ(**query_other, TmfResponse::function_complete);

  auto abort = f.tmf(f.a, *f.y, TmfFunction::abort_task, 7);
  f.pump_all();
  EXPECT_FALSE(abort->has_value());  // the read's I/O has not ended
  f.fake->release_all();
  f.pump_all();
  ASSERT_TRUE(abort->has_value());
  EXPECT_EQ(**abort, TmfResponse::function_complete);
  ASSERT_TRUE(running->finished);
  EXPECT_EQ(running->task.outcome, TaskOutcome::aborted_silently);

  auto gone = f.tmf(f.a, *f.y, TmfFunction::abort_task, 7);
  f.pump_all();
  ASSERT_TRUE(gone->has_value());
  EXPECT_EQ(**gone, TmfResponse::task_does_not_exist);
}

TEST(LoopTaskSet, EachLoopSeesTheNewReservationSnapshotOnItsNextCommand) {
  TwoLoops f;
  auto pr_out = [&f](NexusState& nexus, uint8_t action, uint8_t type, uint64_t key, uint64_t sa_key) {
    std::vector<uint8_t> params(24, 0);
    store_be64(params.data(), key);
    store_be64(params.data() + 8, sa_key);
    auto run = f.submit(f.a, nexus, {0x5f, action, type, 0, 0, 0, 0, 0, 24, 0}, 50, std::move(params));
    f.pump_all();
    EXPECT_TRUE(run->finished);
    EXPECT_EQ(run->task.status, ScsiStatus::good);
  };
  auto write_status = [&f](NexusState& nexus) {
    auto run = f.write_block(f.b, nexus, 60);
    f.pump_all();
    EXPECT_TRUE(run->finished);
    return run->task.status;
  };

  pr_out(*f.x, 0x00, 0, 0, 0xaa);  // REGISTER: registrations alone restrict nothing
  EXPECT_EQ(write_status(*f.y), ScsiStatus::good);
  pr_out(*f.x, 0x01, 0x01, 0xaa, 0);  // RESERVE, write exclusive
  EXPECT_EQ(write_status(*f.y), ScsiStatus::reservation_conflict);
  EXPECT_EQ(write_status(*f.x), ScsiStatus::good);
  pr_out(*f.x, 0x02, 0x01, 0xaa, 0);  // RELEASE
  EXPECT_EQ(write_status(*f.y), ScsiStatus::good);
}

}  // namespace
}  // namespace portico::scsi
