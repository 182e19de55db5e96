// Event loop: posting, timers and re-entrancy (no file or socket I/O here).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/event_loop.h"
#include "tests/unit/runtime/loop_runner.h"

namespace portico::runtime {
namespace {

using testing::get_within;
using testing::LoopRunner;
using namespace std::chrono_literals;

TEST(EventLoop, CurrentIsTheRunningLoopOnItsThreadOnly) {
  LoopRunner runner;
  EXPECT_EQ(EventLoop::current(), nullptr);
  EXPECT_FALSE(runner.loop().in_executor_thread());
  EventLoop* seen = nullptr;
  bool in_thread = false;
  runner.run_on_loop([&]() {
    seen = EventLoop::current();
    in_thread = runner.loop().in_executor_thread();
  });
  EXPECT_EQ(seen, &runner.loop());
  EXPECT_TRUE(in_thread);
}

TEST(EventLoop, PostFromManyThreadsRunsEveryTaskOnTheLoop) {
  LoopRunner runner;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<int> count{0};
  std::atomic<bool> wrong_thread{false};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&]() {
      for (int i = 0; i < kPerThread; ++i) {
        runner.loop().post([&]() {
          if (!runner.loop().in_executor_thread()) wrong_thread = true;
          if (count.fetch_add(1) + 1 == kThreads * kPerThread) all_done.set_value();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  auto f = all_done.get_future();
  get_within(f);
  EXPECT_EQ(count.load(), kThreads * kPerThread);
  EXPECT_FALSE(wrong_thread.load());
}

TEST(EventLoop, PostFromTheLoopNeverRunsInlineAndKeepsOrder) {
  LoopRunner runner;
  std::vector<int> order;
  std::promise<void> done;
  runner.loop().post([&]() {
    runner.loop().post([&]() {
      order.push_back(2);
      runner.loop().post([&]() {
        order.push_back(4);
        done.set_value();
      });
      order.push_back(3);
    });
    order.push_back(1);
  });
  auto f = done.get_future();
  get_within(f);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(EventLoop, PostBeforeRunExecutesOnceRunning) {
  auto loop = EventLoop::create(16);
  ASSERT_TRUE(loop.ok());
  std::promise<void> ran;
  (*loop)->post([&]() { ran.set_value(); });
  std::thread t([&]() { (*loop)->run(); });
  auto f = ran.get_future();
  get_within(f);
  (*loop)->stop();
  t.join();
}

TEST(EventLoop, StopBeforeRunReturnsImmediately) {
  auto loop = EventLoop::create(16);
  ASSERT_TRUE(loop.ok());
  (*loop)->stop();
  (*loop)->run();
  SUCCEED();
}

TEST(EventLoop, CreateRejectsZeroQueueDepth) { EXPECT_FALSE(EventLoop::create(0).ok()); }

TEST(EventLoop, TimersFireInDeadlineOrder) {
  LoopRunner runner;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> done;
  runner.run_on_loop([&]() {
    auto record = [&](int v) {
      std::lock_guard lock(mutex);
      order.push_back(v);
    };
    runner.loop().schedule_after(30ms, [=]() { record(3); });
    runner.loop().schedule_after(10ms, [=]() { record(1); });
    runner.loop().schedule_after(20ms, [=]() { record(2); });
    runner.loop().schedule_after(40ms, [record, &done]() {
      record(4);
      done.set_value();
    });
  });
  auto f = done.get_future();
  get_within(f);
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(EventLoop, TimerWaitsAtLeastItsDelay) {
  LoopRunner runner;
  std::promise<std::chrono::steady_clock::time_point> fired;
  auto start = std::chrono::steady_clock::now();
  runner.run_on_loop([&]() {
    runner.loop().schedule_after(50ms, [&]() { fired.set_value(std::chrono::steady_clock::now()); });
  });
  auto f = fired.get_future();
  auto at = get_within(f);
  EXPECT_GE(at - start, 50ms);
}

TEST(EventLoop, CancelledTimerNeverFiresAndCancelAfterFireIsNoop) {
  LoopRunner runner;
  std::atomic<bool> cancelled_fired{false};
  std::promise<void> done;
  EventLoop::TimerId first = 0;
  runner.run_on_loop([&]() {
    auto id = runner.loop().schedule_after(10ms, [&]() { cancelled_fired = true; });
    runner.loop().cancel_timer(id);
    first = runner.loop().schedule_after(1ms, []() {});
    runner.loop().schedule_after(40ms, [&]() { done.set_value(); });
  });
  auto f = done.get_future();
  get_within(f);
  runner.run_on_loop([&]() { runner.loop().cancel_timer(first); });
  EXPECT_FALSE(cancelled_fired.load());
  EXPECT_NE(first, 0u);
}

TEST(EventLoop, TimerCallbackMaySchedulesAndCancelOthers) {
  LoopRunner runner;
  std::atomic<bool> victim_fired{false};
  std::promise<void> done;
  runner.run_on_loop([&]() {
    auto victim = runner.loop().schedule_after(30ms, [&]() { victim_fired = true; });
    runner.loop().schedule_after(5ms, [&, victim]() {
      runner.loop().cancel_timer(victim);
      runner.loop().schedule_after(50ms, [&]() { done.set_value(); });
    });
  });
  auto f = done.get_future();
  get_within(f);
  EXPECT_FALSE(victim_fired.load());
}

TEST(EventLoop, TimerDueNowFiresWhileOtherWorkKeepsTheLoopBusy) {
  LoopRunner runner;
  std::atomic<bool> stop_spinning{false};
  std::promise<void> fired;
  // A task that re-posts itself keeps the loop from ever sleeping; the timer must still fire.
  struct Spinner {
    EventLoop* loop;
    std::atomic<bool>* stop;
    void operator()() const {
      if (!stop->load()) loop->post(Spinner{loop, stop});
    }
  };
  runner.run_on_loop([&]() {
    runner.loop().post(Spinner{&runner.loop(), &stop_spinning});
    runner.loop().schedule_after(5ms, [&]() {
      stop_spinning = true;
      fired.set_value();
    });
  });
  auto f = fired.get_future();
  get_within(f);
}

}  // namespace
}  // namespace portico::runtime
