// Scatter-gather reads and writes (BlockDevice::readv / writev): the segments are one transfer in
// device order, whatever their sizes; the memory and file backends move the data straight to
// and from them; the file backend continues short transfers across segment boundaries and
// splits a list longer than IOV_MAX; a backend without its own keeps the interface's bounce
// buffer, which must give the same bytes.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "backends/file/file_block_device.h"
#include "backends/memory/delayed_block_device.h"
#include "backends/memory/memory_block_device.h"
#include "tests/unit/backends/backend_test_support.h"
#include "tests/unit/backends/file_test_support.h"

namespace portico::backends {
namespace {

using runtime::testing::LoopRunner;
using testing::Call;
using testing::CallLog;
using testing::expect_async_ok;
using testing::InlineExecutor;
using testing::open_file;
using testing::read_sync;
using testing::TempPath;
using testing::wait_io;

// `sizes` bytes cut from one pattern, as separate buffers, and the lists both directions take.
struct Pieces {
  explicit Pieces(const std::vector<size_t>& sizes, uint8_t seed) {
    for (size_t size : sizes) {
      std::vector<uint8_t> piece(size);
      for (size_t i = 0; i < size; ++i) piece[i] = static_cast<uint8_t>(seed + whole.size() + i * 13 + (i >> 9));
      whole.insert(whole.end(), piece.begin(), piece.end());
      buffers.push_back(std::move(piece));
    }
    for (auto& b : buffers) {
      in.emplace_back(b);
      out.emplace_back(b);
    }
  }
  void clear() {
    for (auto& b : buffers) std::fill(b.begin(), b.end(), 0xee);
  }
  [[nodiscard]] std::vector<uint8_t> joined() const {
    std::vector<uint8_t> all;
    for (const auto& b : buffers) all.insert(all.end(), b.begin(), b.end());
    return all;
  }
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::span<uint8_t>> in;
  std::vector<std::span<const uint8_t>> out;
  std::vector<uint8_t> whole;
};

std::unique_ptr<MemoryBlockDevice> memory(uint64_t size, const char* name) {
  auto created = MemoryBlockDevice::create(size, 512, name);
  EXPECT_TRUE(created.ok()) << created.status().message();
  return std::move(*created);
}

TEST(ScatterGather, MemoryWritesAndReadsSegmentsOfAnySizeAsOneTransfer) {
  auto device = memory(4u << 20, "sg");
  InlineExecutor executor;
  // Across the 1 MiB chunk boundary, segment edges off the block size.
  Pieces written({100, 4000, 1 << 20, 508, 3584}, 1);
  const uint64_t offset = (1u << 20) - 4096;
  ASSERT_TRUE(wait_io([&](IoCallback done) { device->writev(executor, offset, written.out, false, std::move(done)); })
                  .ok());
  EXPECT_EQ(read_sync(*device, executor, offset, written.whole.size()), written.whole);

  Pieces read_back({512, 7, 505, (1 << 20) + 3000, 4168}, 0);
  ASSERT_EQ(read_back.whole.size(), written.whole.size());
  read_back.clear();
  ASSERT_TRUE(wait_io([&](IoCallback done) { device->readv(executor, offset, read_back.in, std::move(done)); }).ok());
  EXPECT_EQ(read_back.joined(), written.whole);

  // Beyond the end: refused as a whole, nothing read.
  read_back.clear();
  EXPECT_EQ(wait_io([&](IoCallback done) { device->readv(executor, (4u << 20) - 4096, read_back.in, std::move(done)); })
                .error,
            EINVAL);
}

TEST(ScatterGather, FileOnALoopContinuesShortTransfersAcrossSegments) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  CallLog log;
  device->inject_faults(log.faults(4096));  // every submission moves at most 4 KiB
  LoopRunner runner;
  Pieces written({1000, 5000, 2192, 8192}, 3);  // 16 KiB
  expect_async_ok(runner, "writev",
                  [&](Executor& e, IoCallback done) { device->writev(e, 8192, written.out, true, std::move(done)); });
  EXPECT_EQ(log.count(Call::write), 4u);
  Pieces read_back({4096, 1, 4095, 3000, 5192}, 0);
  read_back.clear();
  expect_async_ok(runner, "readv",
                  [&](Executor& e, IoCallback done) { device->readv(e, 8192, read_back.in, std::move(done)); });
  EXPECT_EQ(read_back.joined(), written.whole);
  EXPECT_EQ(log.count(Call::read), 4u);
}

TEST(ScatterGather, FileSplitsAListLongerThanOneSystemCallTakes) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  CallLog log;
  device->inject_faults(log.faults());
  LoopRunner runner;
  Pieces written(std::vector<size_t>(1500, 512), 5);  // beyond IOV_MAX (1024) buffers
  expect_async_ok(runner, "writev",
                  [&](Executor& e, IoCallback done) { device->writev(e, 0, written.out, false, std::move(done)); });
  EXPECT_EQ(log.count(Call::write), 2u);
  Pieces read_back(std::vector<size_t>(1500, 512), 0);
  read_back.clear();
  expect_async_ok(runner, "readv",
                  [&](Executor& e, IoCallback done) { device->readv(e, 0, read_back.in, std::move(done)); });
  EXPECT_EQ(read_back.joined(), written.whole);
}

TEST(ScatterGather, FileWithoutALoopUsesPreadvAndPwritevOnAWorker) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  testing::QueueExecutor executor;
  Pieces written({512, 1536, 2048}, 9);
  bool wrote = false;
  device->writev(executor, 4096, written.out, false, [&wrote](IoStatus s) { wrote = s.ok(); });
  ASSERT_TRUE(executor.run_one());
  EXPECT_TRUE(wrote);
  Pieces read_back({2048, 2048}, 0);
  read_back.clear();
  bool read = false;
  device->readv(executor, 4096, read_back.in, [&read](IoStatus s) { read = s.ok(); });
  ASSERT_TRUE(executor.run_one());
  EXPECT_TRUE(read);
  EXPECT_EQ(read_back.joined(), written.whole);
}

TEST(ScatterGather, TheInterfacesBounceBufferGivesTheSameBytes) {
  // A delayed device forwards to its inner device; the interface's default is what a backend
  // without its own readv / writev gets: exercised here through a minimal device.
  class PlainDevice final : public BlockDevice {
   public:
    explicit PlainDevice(std::unique_ptr<MemoryBlockDevice> inner) : inner_(std::move(inner)) {}
    const BlockDeviceInfo& info() const override { return inner_->info(); }
    uint64_t capacity_bytes() const override { return inner_->capacity_bytes(); }
    void read(Executor& e, uint64_t o, std::span<uint8_t> d, IoCallback done) override {
      ++reads;
      inner_->read(e, o, d, std::move(done));
    }
    void write(Executor& e, uint64_t o, std::span<const uint8_t> s, bool fua, IoCallback done) override {
      ++writes;
      inner_->write(e, o, s, fua, std::move(done));
    }
    void flush(Executor& e, IoCallback done) override { inner_->flush(e, std::move(done)); }
    void discard(Executor& e, uint64_t o, uint64_t l, IoCallback done) override { inner_->discard(e, o, l, std::move(done)); }
    void write_zeroes(Executor& e, uint64_t o, uint64_t l, IoCallback done) override {
      inner_->write_zeroes(e, o, l, std::move(done));
    }
    void compare_and_write(Executor& e, uint64_t o, std::span<const uint8_t> x, std::span<const uint8_t> r,
                           IoCallback done) override {
      inner_->compare_and_write(e, o, x, r, std::move(done));
    }
    int reads = 0;
    int writes = 0;

   private:
    std::unique_ptr<MemoryBlockDevice> inner_;
  };
  PlainDevice device(memory(1u << 20, "plain"));
  InlineExecutor executor;
  Pieces written({300, 724, 1024}, 7);
  ASSERT_TRUE(wait_io([&](IoCallback done) { device.writev(executor, 512, written.out, false, std::move(done)); }).ok());
  EXPECT_EQ(device.writes, 1);  // one gathered write
  Pieces read_back({1024, 1000, 24}, 0);
  read_back.clear();
  ASSERT_TRUE(wait_io([&](IoCallback done) { device.readv(executor, 512, read_back.in, std::move(done)); }).ok());
  EXPECT_EQ(device.reads, 1);
  EXPECT_EQ(read_back.joined(), written.whole);

  // Through a delayed device, whose completions come from its own thread.
  DelayedBlockDevice delayed(memory(1u << 20, "delayed"), std::chrono::microseconds(200));
  ASSERT_TRUE(wait_io([&](IoCallback done) { delayed.writev(executor, 0, written.out, false, std::move(done)); }).ok());
  read_back.clear();
  ASSERT_TRUE(wait_io([&](IoCallback done) { delayed.readv(executor, 0, read_back.in, std::move(done)); }).ok());
  EXPECT_EQ(read_back.joined(), written.whole);
}

}  // namespace
}  // namespace portico::backends
