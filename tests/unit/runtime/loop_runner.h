// Test helper: runs an EventLoop on its own thread and stops it when the test ends.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "runtime/event_loop.h"

namespace portico::runtime::testing {

class LoopRunner {
 public:
  LoopRunner() {
    auto created = EventLoop::create(64);
    EXPECT_TRUE(created.ok()) << created.status().message();
    loop_ = std::move(*created);
    thread_ = std::thread([this]() { loop_->run(); });
  }
  ~LoopRunner() {
    loop_->stop();
    thread_.join();
  }
  EventLoop& loop() { return *loop_; }

  // Runs fn on the loop thread and waits for it.
  template <typename F>
  void run_on_loop(F fn) {
    std::promise<void> done;
    loop_->post([&]() {
      fn();
      done.set_value();
    });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }

 private:
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

// Waits for a future with a bound, so a bug fails the test instead of hanging it.
template <typename T>
T get_within(std::future<T>& future, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  EXPECT_EQ(future.wait_for(limit), std::future_status::ready);
  return future.get();
}

}  // namespace portico::runtime::testing
