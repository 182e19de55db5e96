// Shared helpers for backend tests: an executor that runs work inline, one whose work runs when the
// test says, and synchronous wrappers that wait (boundedly) for a backend's completion.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "core/block_device.h"
#include "core/executor.h"

namespace portico::backends::testing {

class InlineExecutor final : public Executor {
 public:
  void post(UniqueFunction<void()> fn) override { fn(); }
  void post_after(std::chrono::milliseconds, UniqueFunction<void()> fn) override { fn(); }  // no clock here
  [[nodiscard]] bool in_executor_thread() const override { return true; }
};

// An executor whose tasks run on the test's thread, in run_one(); posts may come from any thread.
class QueueExecutor final : public Executor {
 public:
  void post(UniqueFunction<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(fn));
      posted_from_.push_back(std::this_thread::get_id());
    }
    changed_.notify_all();
  }
  void post_after(std::chrono::milliseconds, UniqueFunction<void()> fn) override { post(std::move(fn)); }
  [[nodiscard]] bool in_executor_thread() const override { return std::this_thread::get_id() == owner_; }

  // Runs the next task, waiting at most `limit` for it; false when none came.
  bool run_one(std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    UniqueFunction<void()> task;
    {
      std::unique_lock lock(mutex_);
      if (!changed_.wait_for(lock, limit, [this] { return !tasks_.empty(); })) return false;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
    return true;
  }
  [[nodiscard]] size_t posted() {
    std::lock_guard lock(mutex_);
    return posted_from_.size();
  }
  [[nodiscard]] bool all_posted_from_other_threads() {
    std::lock_guard lock(mutex_);
    for (auto id : posted_from_) {
      if (id == owner_) return false;
    }
    return true;
  }

 private:
  std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<UniqueFunction<void()>> tasks_;
  std::vector<std::thread::id> posted_from_;
};

// Calls `start(callback)` and waits for the IoStatus it reports.
template <typename Start>
IoStatus wait_io(Start start) {
  auto promise = std::make_shared<std::promise<IoStatus>>();
  auto future = promise->get_future();
  start([promise](IoStatus status) { promise->set_value(status); });
  EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return future.get();
}

inline IoStatus write_sync(BlockDevice& device, Executor& executor, uint64_t offset, const std::vector<uint8_t>& data,
                           bool fua = false) {
  return wait_io([&](IoCallback done) { device.write(executor, offset, data, fua, std::move(done)); });
}

inline std::vector<uint8_t> read_sync(BlockDevice& device, Executor& executor, uint64_t offset, size_t length) {
  std::vector<uint8_t> out(length, 0xee);
  const IoStatus status = wait_io([&](IoCallback done) { device.read(executor, offset, out, std::move(done)); });
  EXPECT_TRUE(status.ok()) << "read at " << offset << ": errno " << status.error;
  return out;
}

}  // namespace portico::backends::testing
