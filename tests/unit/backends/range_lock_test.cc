#include "backends/file/range_lock.h"

#include <gtest/gtest.h>

#include <vector>

namespace portico::backends {
namespace {

// Collects posted continuations so the test decides when they run.
class QueueExecutor final : public Executor {
 public:
  void post(UniqueFunction<void()> fn) override { queue.push_back(std::move(fn)); }
  void post_after(std::chrono::milliseconds, UniqueFunction<void()> fn) override { post(std::move(fn)); }
  [[nodiscard]] bool in_executor_thread() const override { return true; }
  void run_all() {
    auto ready = std::move(queue);
    queue.clear();
    for (auto& fn : ready) fn();
  }
  std::vector<UniqueFunction<void()>> queue;
};

TEST(RangeLock, StripesCoverEveryMegabyteTouched) {
  EXPECT_EQ(RangeLock::stripes_of(0, 512), 1u);
  EXPECT_EQ(RangeLock::stripes_of(RangeLock::kStripeBytes - 512, 1024), 3u);
  EXPECT_EQ(RangeLock::stripes_of(0, 0), 0u);
  EXPECT_EQ(RangeLock::stripes_of(0, 64 * RangeLock::kStripeBytes), ~uint64_t{0});
}

TEST(RangeLock, SharedHoldersRunTogetherAndExclusiveWaitsForThem) {
  RangeLock lock;
  QueueExecutor executor;
  int granted = 0;
  lock.acquire(1, false, executor, [&] { ++granted; });
  lock.acquire(1, false, executor, [&] { ++granted; });
  EXPECT_EQ(granted, 2);
  bool exclusive = false;
  lock.acquire(1, true, executor, [&] { exclusive = true; });
  EXPECT_FALSE(exclusive);
  lock.release(1, false);
  executor.run_all();
  EXPECT_FALSE(exclusive);
  lock.release(1, false);
  executor.run_all();
  EXPECT_TRUE(exclusive);
}

TEST(RangeLock, AWaitingExclusiveIsNotOvertakenBySharedRequests) {
  RangeLock lock;
  QueueExecutor executor;
  lock.acquire(1, false, executor, [] {});
  bool exclusive = false;
  bool late_shared = false;
  lock.acquire(1, true, executor, [&] { exclusive = true; });
  lock.acquire(1, false, executor, [&] { late_shared = true; });
  EXPECT_FALSE(late_shared);
  lock.release(1, false);
  executor.run_all();
  EXPECT_TRUE(exclusive);
  EXPECT_FALSE(late_shared);
  lock.release(1, true);
  executor.run_all();
  EXPECT_TRUE(late_shared);
}

TEST(RangeLock, DisjointStripesDoNotWait) {
  RangeLock lock;
  QueueExecutor executor;
  bool a = false;
  bool b = false;
  lock.acquire(1, true, executor, [&] { a = true; });
  lock.acquire(2, true, executor, [&] { b = true; });
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
}

}  // namespace
}  // namespace portico::backends
