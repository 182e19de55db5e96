#include "backends/memory/memory_block_device.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/unit/backends/backend_test_support.h"

namespace portico::backends {
namespace {

using testing::InlineExecutor;
using testing::read_sync;
using testing::wait_io;
using testing::write_sync;

constexpr uint64_t kMiB = 1u << 20;

std::unique_ptr<MemoryBlockDevice> make(uint64_t size = 8 * kMiB, uint32_t block_size = 512) {
  auto created = MemoryBlockDevice::create(size, block_size, "test");
  EXPECT_TRUE(created.ok()) << created.status().message();
  return std::move(*created);
}

TEST(MemoryBlockDevice, RejectsBadGeometryWithAMessageNamingIt) {
  auto odd_block = MemoryBlockDevice::create(kMiB, 520, "x");
  ASSERT_FALSE(odd_block.ok());
  EXPECT_NE(odd_block.status().message().find("block size 520"), std::string::npos);
  EXPECT_FALSE(MemoryBlockDevice::create(1000, 512, "x").ok());
  EXPECT_FALSE(MemoryBlockDevice::create(0, 512, "x").ok());
  EXPECT_FALSE(MemoryBlockDevice::create(MemoryBlockDevice::kMaxSize + 4096, 4096, "x").ok());
}

TEST(MemoryBlockDevice, UnwrittenBlocksReadAsZeroesAndAreUnallocated) {
  auto device = make();
  InlineExecutor executor;
  EXPECT_EQ(read_sync(*device, executor, 4096, 8192), std::vector<uint8_t>(8192, 0));
  uint64_t run = 0;
  EXPECT_FALSE(device->is_allocated(0, 8 * kMiB, run));
  EXPECT_EQ(run, 8 * kMiB);
  EXPECT_EQ(device->allocated_bytes(), 0u);
}

TEST(MemoryBlockDevice, WriteReadsBackAcrossAChunkBoundary) {
  auto device = make();
  InlineExecutor executor;
  std::vector<uint8_t> data(3 * 4096);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  const uint64_t offset = kMiB - 4096;  // spans chunks 0 and 1
  ASSERT_TRUE(write_sync(*device, executor, offset, data).ok());
  EXPECT_EQ(read_sync(*device, executor, offset, data.size()), data);
  EXPECT_EQ(device->allocated_bytes(), 2 * kMiB);
  uint64_t run = 0;
  EXPECT_TRUE(device->is_allocated(0, 8 * kMiB, run));
  EXPECT_EQ(run, 2 * kMiB);
  EXPECT_FALSE(device->is_allocated(2 * kMiB, 6 * kMiB, run));
  EXPECT_EQ(run, 6 * kMiB);
}

TEST(MemoryBlockDevice, OutOfRangeOrUnalignedRequestsFailWithEinval) {
  auto device = make(kMiB);
  InlineExecutor executor;
  EXPECT_EQ(write_sync(*device, executor, kMiB, std::vector<uint8_t>(512, 1)).error, EINVAL);
  EXPECT_EQ(write_sync(*device, executor, 100, std::vector<uint8_t>(512, 1)).error, EINVAL);
  std::vector<uint8_t> buffer(1024);
  EXPECT_EQ(wait_io([&](IoCallback done) { device->read(executor, kMiB - 512, buffer, std::move(done)); }).error,
            EINVAL);
}

TEST(MemoryBlockDevice, ZeroWritesStayThinAndWriteZeroesFreesWholeChunks) {
  auto device = make();
  InlineExecutor executor;
  ASSERT_TRUE(write_sync(*device, executor, 0, std::vector<uint8_t>(kMiB, 0)).ok());
  EXPECT_EQ(device->allocated_bytes(), 0u);
  ASSERT_TRUE(write_sync(*device, executor, 0, std::vector<uint8_t>(2 * kMiB, 0x5a)).ok());
  EXPECT_EQ(device->allocated_bytes(), 2 * kMiB);
  // Zero one whole chunk and half of the next: the first is freed, the second zeroed in place.
  ASSERT_TRUE(wait_io([&](IoCallback done) { device->write_zeroes(executor, 0, kMiB + kMiB / 2, std::move(done)); })
                  .ok());
  EXPECT_EQ(device->allocated_bytes(), kMiB);
  EXPECT_EQ(read_sync(*device, executor, kMiB - 512, 1024), std::vector<uint8_t>(1024, 0));
  EXPECT_EQ(read_sync(*device, executor, kMiB + kMiB / 2, 512), std::vector<uint8_t>(512, 0x5a));
  ASSERT_TRUE(wait_io([&](IoCallback done) { device->discard(executor, kMiB, kMiB, std::move(done)); }).ok());
  EXPECT_EQ(device->allocated_bytes(), 0u);
}

TEST(MemoryBlockDevice, CompareAndWriteReplacesOnMatchAndReportsTheFirstDifference) {
  auto device = make();
  InlineExecutor executor;
  std::vector<uint8_t> original(1024, 0x11);
  ASSERT_TRUE(write_sync(*device, executor, 0, original).ok());
  std::vector<uint8_t> replacement(1024, 0x22);
  auto matched = wait_io([&](IoCallback done) {
    device->compare_and_write(executor, 0, original, replacement, std::move(done));
  });
  EXPECT_TRUE(matched.ok());
  EXPECT_EQ(read_sync(*device, executor, 0, 1024), replacement);

  std::vector<uint8_t> stale = replacement;
  stale[700] = 0x99;
  auto missed = wait_io([&](IoCallback done) {
    device->compare_and_write(executor, 0, stale, original, std::move(done));
  });
  EXPECT_TRUE(missed.miscompare);
  EXPECT_EQ(missed.miscompare_offset, 700u);
  EXPECT_EQ(read_sync(*device, executor, 0, 1024), replacement);  // nothing written
}

// Four threads increment one counter block with compare-and-write, retrying on miscompare, while
// two more write elsewhere in the same chunk. Atomicity means no increment is ever lost.
TEST(MemoryBlockDevice, ConcurrentCompareAndWriteLosesNoUpdate) {
  auto device = make();
  constexpr int kThreads = 4;
  constexpr int kIncrements = 500;
  std::atomic<bool> stop_writers{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      InlineExecutor executor;
      std::vector<uint8_t> noise(512, static_cast<uint8_t>(w + 1));
      while (!stop_writers) (void)write_sync(*device, executor, 4096 + 512 * static_cast<uint64_t>(w), noise);
    });
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      InlineExecutor executor;
      for (int i = 0; i < kIncrements;) {
        std::vector<uint8_t> current = read_sync(*device, executor, 0, 512);
        uint32_t value = 0;
        std::memcpy(&value, current.data(), sizeof(value));
        std::vector<uint8_t> next = current;
        ++value;
        std::memcpy(next.data(), &value, sizeof(value));
        auto status = wait_io([&](IoCallback done) {
          device->compare_and_write(executor, 0, current, next, std::move(done));
        });
        ASSERT_EQ(status.error, 0);
        if (!status.miscompare) ++i;
      }
    });
  }
  for (auto& t : threads) t.join();
  stop_writers = true;
  for (auto& w : writers) w.join();
  InlineExecutor executor;
  const auto final_block = read_sync(*device, executor, 0, 512);
  uint32_t value = 0;
  std::memcpy(&value, final_block.data(), sizeof(value));
  EXPECT_EQ(value, uint32_t{kThreads * kIncrements});
}

}  // namespace
}  // namespace portico::backends

namespace portico::backends {
namespace {

// SBC-4 4.29: a reader of the range sees all of one atomic write or all of another, never a mix,
// even across a chunk boundary (the range spans three 1 MiB chunks).
TEST(MemoryBlockDevice, ReadersNeverSeeATornAtomicWrite) {
  auto device = MemoryBlockDevice::create(8 * kMiB, 512, "test");
  ASSERT_TRUE(device.ok());
  BlockDevice& d = **device;
  ASSERT_GE(d.info().max_atomic_write_bytes, 2 * kMiB);
  const uint64_t offset = kMiB - 4096;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    InlineExecutor executor;
    for (uint8_t round = 1; !stop; ++round) {
      std::vector<uint8_t> data(2 * kMiB, round == 0 ? 1 : round);
      const auto status = wait_io([&](IoCallback done) { d.write_atomic(executor, offset, data, false, std::move(done)); });
      ASSERT_TRUE(status.ok());
    }
  });
  InlineExecutor executor;
  for (int i = 0; i < 200; ++i) {
    const auto seen = read_sync(d, executor, offset, 2 * kMiB);
    for (size_t at = 0; at < seen.size(); at += 4096) ASSERT_EQ(seen[at], seen[0]) << "torn at byte " << at;
  }
  stop = true;
  writer.join();
  std::vector<uint8_t> too_long(d.info().max_atomic_write_bytes + 512, 1);
  EXPECT_EQ(wait_io([&](IoCallback done) { d.write_atomic(executor, 0, too_long, false, std::move(done)); }).error,
            EINVAL);
}

}  // namespace
}  // namespace portico::backends
