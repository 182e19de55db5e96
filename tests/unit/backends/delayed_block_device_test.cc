#include "backends/memory/delayed_block_device.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "backends/memory/memory_block_device.h"
#include "tests/unit/backends/backend_test_support.h"

namespace portico::backends {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using testing::QueueExecutor;

std::shared_ptr<BlockDevice> memory_device() {
  auto device = MemoryBlockDevice::create(1 << 20, 512, "delayed-test");
  EXPECT_TRUE(device.ok());
  return std::shared_ptr<BlockDevice>(std::move(*device));
}

TEST(DelayedBlockDevice, CompletesOnTheCallersExecutorOnlyAfterTheDelay) {
  QueueExecutor executor;
  DelayedBlockDevice device(memory_device(), milliseconds(50));
  std::vector<uint8_t> data(4096, 0x5a);
  std::vector<uint8_t> back(4096, 0);
  bool wrote = false;
  bool read = false;

  const auto start = Clock::now();
  device.write(executor, 8192, data, false, [&](IoStatus status) {
    EXPECT_TRUE(status.ok());
    wrote = true;
  });
  EXPECT_FALSE(wrote);  // not inline, as the memory device alone would be
  ASSERT_TRUE(executor.run_one());
  EXPECT_TRUE(wrote);
  EXPECT_GE(Clock::now() - start, milliseconds(50));

  device.read(executor, 8192, back, [&](IoStatus status) {
    EXPECT_TRUE(status.ok());
    read = true;
  });
  ASSERT_TRUE(executor.run_one());
  EXPECT_TRUE(read);
  EXPECT_EQ(back, data);
  EXPECT_TRUE(executor.all_posted_from_other_threads());
}

TEST(DelayedBlockDevice, KeepsTheWrappedDevicesResultsAndOrder) {
  QueueExecutor executor;
  DelayedBlockDevice device(memory_device(), milliseconds(1));
  std::vector<uint8_t> expected(512, 0x11);  // the device holds zeroes: a miscompare
  std::vector<uint8_t> replacement(512, 0x22);
  std::vector<int> order;
  device.compare_and_write(executor, 0, expected, replacement, [&](IoStatus status) {
    EXPECT_TRUE(status.miscompare);
    order.push_back(1);
  });
  device.flush(executor, [&](IoStatus status) {
    EXPECT_TRUE(status.ok());
    order.push_back(2);
  });
  device.write_zeroes(executor, 0, 4096, [&](IoStatus status) {
    EXPECT_TRUE(status.ok());
    order.push_back(3);
  });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(executor.run_one());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(device.capacity_bytes(), 1u << 20);
  EXPECT_EQ(device.info().kind, "memory");
}

TEST(DelayedBlockDevice, PostsWhatIsStillWaitingWhenDestroyed) {
  QueueExecutor executor;
  bool done = false;
  {
    DelayedBlockDevice device(memory_device(), milliseconds(60000));
    device.flush(executor, [&](IoStatus status) {
      EXPECT_TRUE(status.ok());
      done = true;
    });
    EXPECT_EQ(executor.posted(), 0u);
  }  // well before the minute is up
  EXPECT_EQ(executor.posted(), 1u);
  ASSERT_TRUE(executor.run_one(milliseconds(0)));
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace portico::backends
