// Shared helpers for backend tests: an executor that runs work inline, and synchronous wrappers
// that wait (boundedly) for a backend's completion.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
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
