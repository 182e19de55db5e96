// Worker pool: blocking work leaves the caller at once, runs exactly once, and posts back.
#include "runtime/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "tests/unit/runtime/loop_runner.h"

namespace portico::runtime {
namespace {

using testing::get_within;
using testing::LoopRunner;
using namespace std::chrono_literals;

TEST(WorkerPool, WorkRunsOnAnotherThreadAndPostsItsResultToTheLoop) {
  LoopRunner runner;
  WorkerPool pool("test-pool", 2);
  std::promise<std::pair<std::thread::id, bool>> result;
  auto future = result.get_future();
  std::thread::id worker;
  runner.run_on_loop([&] {
    pool.run([&] {
      worker = std::this_thread::get_id();
      runner.loop().post([&] { result.set_value({std::this_thread::get_id(), runner.loop().in_executor_thread()}); });
    });
  });
  const auto [completed_on, on_loop] = get_within(future);
  EXPECT_TRUE(on_loop);
  EXPECT_NE(worker, completed_on);
  EXPECT_NE(worker, std::this_thread::get_id());
}

TEST(WorkerPool, AStuckTaskDoesNotHoldUpTheNextOneAndThreadsStayBounded) {
  WorkerPool pool("test-pool", 2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.run([released] { released.wait(); });  // a slow disk
  std::promise<void> second;
  auto second_done = second.get_future();
  pool.run([&] { second.set_value(); });
  EXPECT_EQ(second_done.wait_for(5s), std::future_status::ready);
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) pool.run([&] { ++ran; });
  release.set_value();
  pool.stop();
  EXPECT_EQ(ran.load(), 100);
  EXPECT_LE(pool.threads(), 2u);
}

TEST(WorkerPool, StopRunsQueuedWorkAndLaterWorkRunsOnTheCaller) {
  std::atomic<int> ran{0};
  WorkerPool pool("test-pool", 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.run([released] { released.wait(); });
  for (int i = 0; i < 10; ++i) pool.run([&] { ++ran; });
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);
    release.set_value();
  });
  pool.stop();
  releaser.join();
  EXPECT_EQ(ran.load(), 10);
  std::thread::id ran_on;
  pool.run([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace portico::runtime
