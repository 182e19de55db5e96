#include "backends/file/file_block_device.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/backends/file_test_support.h"

namespace portico::backends {
namespace {

using runtime::testing::LoopRunner;
using testing::InlineExecutor;
using testing::kMiB;
using testing::on_loop;
using testing::open_file;
using testing::read_sync;
using testing::TempPath;
using testing::wait_io;
using testing::write_sync;

TEST(FileBlockDevice, CreatesASparseFileOfTheLunSize) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  ASSERT_NE(device, nullptr);
  struct stat st{};
  ASSERT_EQ(::stat(tmp.path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 8 * kMiB);
  EXPECT_EQ(device->capacity_bytes(), 8 * kMiB);
  EXPECT_TRUE(device->info().thin_provisioned);
  uint64_t run = 0;
  EXPECT_FALSE(device->is_allocated(0, 8 * kMiB, run));
  EXPECT_EQ(run, 8 * kMiB);
}

TEST(FileBlockDevice, OpenErrorsNameTheFileAndTheReason) {
  auto missing = FileBlockDevice::open("/nonexistent-dir/lun.img", kMiB, 512, true, "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent-dir/lun.img"), std::string::npos);
  TempPath tmp;
  auto empty = FileBlockDevice::open(tmp.path, 0, 512, true, "x");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("size is 0"), std::string::npos);
  EXPECT_FALSE(FileBlockDevice::open(tmp.path, 1000, 512, true, "x").ok());
}

TEST(FileBlockDevice, ASecondOpenOfTheSameFileIsRefused) {
  TempPath tmp;
  auto first = open_file(tmp.path);
  ASSERT_NE(first, nullptr);
  auto second = FileBlockDevice::open(tmp.path, 8 * kMiB, 512, true, "x");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::busy);
}

TEST(FileBlockDevice, WithoutALoopWorkerThreadsWriteAndReadBack) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  InlineExecutor executor;
  std::vector<uint8_t> data(8192);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ 0x5a);
  ASSERT_TRUE(write_sync(*device, executor, 4096, data, true).ok());
  EXPECT_EQ(read_sync(*device, executor, 4096, data.size()), data);
  EXPECT_TRUE(wait_io([&](IoCallback done) { device->flush(executor, std::move(done)); }).ok());
  uint64_t run = 0;
  EXPECT_TRUE(device->is_allocated(4096, 8192, run));
  EXPECT_GE(run, 512u);
}

TEST(FileBlockDevice, RingPathWritesReadsFlushesAndPunchesHoles) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  LoopRunner runner;
  std::vector<uint8_t> data(2 * kMiB, 0xab);
  ASSERT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) {
                device->write(e, kMiB, data, true, std::move(done));
              }).ok());
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) {
                device->read(e, kMiB, back, std::move(done));
              }).ok());
  EXPECT_EQ(back, data);
  ASSERT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) { device->flush(e, std::move(done)); }).ok());
  ASSERT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) {
                device->discard(e, kMiB, kMiB, std::move(done));
              }).ok());
  InlineExecutor inline_executor;
  EXPECT_EQ(read_sync(*device, inline_executor, kMiB, 4096), std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(read_sync(*device, inline_executor, 2 * kMiB, 4096), std::vector<uint8_t>(4096, 0xab));
  uint64_t run = 0;
  EXPECT_FALSE(device->is_allocated(kMiB, kMiB, run));
  EXPECT_EQ(run, kMiB);
  EXPECT_TRUE(device->is_allocated(2 * kMiB, kMiB, run));
}

TEST(FileBlockDevice, CompareAndWriteOnTheRingReportsTheFirstDifference) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  LoopRunner runner;
  std::vector<uint8_t> zeroes(1024, 0);
  std::vector<uint8_t> ones(1024, 1);
  EXPECT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) {
                device->compare_and_write(e, 0, zeroes, ones, std::move(done));
              }).ok());
  auto missed = on_loop(runner, [&](Executor& e, IoCallback done) {
    device->compare_and_write(e, 0, zeroes, zeroes, std::move(done));
  });
  EXPECT_TRUE(missed.miscompare);
  EXPECT_EQ(missed.miscompare_offset, 0u);
  InlineExecutor inline_executor;
  EXPECT_EQ(read_sync(*device, inline_executor, 0, 1024), ones);
}

// Two loops, two threads each, increment one counter with compare-and-write through io_uring
// while a writer hammers the neighbouring block: no update may be lost.
TEST(FileBlockDevice, ConcurrentCompareAndWriteOnTwoLoopsLosesNoUpdate) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  LoopRunner loops[2];
  constexpr int kIncrements = 200;
  auto worker = [&](LoopRunner& runner) {
    for (int i = 0; i < kIncrements;) {
      std::vector<uint8_t> current(512);
      ASSERT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) {
                    device->read(e, 0, current, std::move(done));
                  }).ok());
      std::vector<uint8_t> next = current;
      uint32_t value = 0;
      std::memcpy(&value, current.data(), sizeof(value));
      ++value;
      std::memcpy(next.data(), &value, sizeof(value));
      auto status = on_loop(runner, [&](Executor& e, IoCallback done) {
        device->compare_and_write(e, 0, current, next, std::move(done));
      });
      ASSERT_EQ(status.error, 0);
      if (!status.miscompare) ++i;
    }
  };
  std::atomic<bool> stop{false};
  std::thread noise([&] {
    std::vector<uint8_t> bytes(512, 0x77);
    while (!stop) {
      (void)on_loop(loops[1], [&](Executor& e, IoCallback done) { device->write(e, 512, bytes, false, std::move(done)); });
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, std::ref(loops[t % 2]));
  for (auto& t : threads) t.join();
  stop = true;
  noise.join();
  InlineExecutor inline_executor;
  const auto block = read_sync(*device, inline_executor, 0, 512);
  uint32_t value = 0;
  std::memcpy(&value, block.data(), sizeof(value));
  EXPECT_EQ(value, uint32_t{4 * kIncrements});
}

}  // namespace
}  // namespace portico::backends
