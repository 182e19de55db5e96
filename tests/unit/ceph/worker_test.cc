// The worker thread for blocking Ceph calls: stop() drops what is pending, drain_and_stop()
// runs all of it (delays no longer count) before the thread ends.
#include "ceph/worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace portico::ceph {
namespace {

using namespace std::chrono_literals;

TEST(CephWorker, RunsPostedWorkOnItsThread) {
  Worker worker("test-worker");
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(worker.post([&ran]() { ran.set_value(std::this_thread::get_id()); }));
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(CephWorker, DrainAndStop_RunsEveryPendingTaskEvenDelayedOnes_ThenRefusesMore) {
  Worker worker("test-worker");
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(worker.post([&ran]() { ++ran; }, 1h));
  worker.drain_and_stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(worker.post([&ran]() { ++ran; }));
  EXPECT_EQ(ran.load(), 3);
}

TEST(CephWorker, Stop_DropsPendingWork) {
  Worker worker("test-worker");
  std::atomic<int> ran{0};
  ASSERT_TRUE(worker.post([&ran]() { ++ran; }, 1h));
  worker.stop();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_FALSE(worker.post([&ran]() { ++ran; }));
}

}  // namespace
}  // namespace portico::ceph
