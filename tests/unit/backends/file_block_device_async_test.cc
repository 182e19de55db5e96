// The file backend never blocks the loop that calls it: every operation completes on that loop
// after the call has returned; what io_uring cannot do (here SEEK_DATA) runs on a worker thread,
// so a slow disk stalls neither the loop nor other I/O; short transfers are continued; data,
// zeroes, holes and errno values are those of the system calls.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "backends/file/file_block_device.h"
#include "tests/unit/backends/file_test_support.h"

namespace portico::backends {
namespace {

using runtime::testing::get_within;
using runtime::testing::LoopRunner;
using testing::Call;
using testing::CallLog;
using testing::expect_all;
using testing::expect_async_ok;
using testing::expect_none;
using testing::Gate;
using testing::kMiB;
using testing::Observed;
using testing::on_loop;
using testing::open_file;
using testing::QueueExecutor;
using testing::start_on_loop;
using testing::TempPath;
using testing::thread_of;
using namespace std::chrono_literals;

// GET LBA STATUS's question, as an IoCallback for start_on_loop().
std::function<void(Executor&, IoCallback)> allocation_into(BlockDevice& device, uint64_t offset, uint64_t length,
                                                           std::vector<AllocationExtent>& extents) {
  return [&device, offset, length, &extents](Executor& e, IoCallback done) {
    device.allocation(e, offset, length, 64,
                      [&extents, done = std::move(done)](int error, std::vector<AllocationExtent> found) mutable {
                        extents = std::move(found);
                        done(IoStatus{error});
                      });
  };
}

TEST(FileBlockDeviceOnALoop, EveryOperationCompletesOnTheLoopAfterTheCallReturns) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  LoopRunner runner;
  CallLog log;
  device->inject_faults(log.faults());
  std::vector<uint8_t> data(64 * 1024, 0xab);
  std::vector<uint8_t> back(data.size());
  std::vector<uint8_t> next(512, 0xcd);
  auto& d = *device;
  expect_async_ok(runner, "write",
                  [&](Executor& e, IoCallback done) { d.write(e, kMiB, data, false, std::move(done)); });
  expect_async_ok(runner, "FUA write",
                  [&](Executor& e, IoCallback done) { d.write(e, kMiB, data, true, std::move(done)); });
  expect_async_ok(runner, "read", [&](Executor& e, IoCallback done) { d.read(e, kMiB, back, std::move(done)); });
  EXPECT_EQ(back, data);
  expect_async_ok(runner, "flush", [&](Executor& e, IoCallback done) { d.flush(e, std::move(done)); });
  expect_async_ok(runner, "compare and write", [&](Executor& e, IoCallback done) {
    d.compare_and_write(e, kMiB, std::span(data).first(512), next, std::move(done));
  });
  expect_async_ok(runner, "atomic write",
                  [&](Executor& e, IoCallback done) { d.write_atomic(e, kMiB + 512, next, true, std::move(done)); });
  expect_async_ok(runner, "read", [&](Executor& e, IoCallback done) { d.read(e, kMiB, back, std::move(done)); });
  EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + 1024), std::vector<uint8_t>(1024, 0xcd));
  EXPECT_EQ(back[1024], 0xab);
  expect_async_ok(runner, "discard",
                  [&](Executor& e, IoCallback done) { d.discard(e, kMiB, 32 * 1024, std::move(done)); });
  expect_async_ok(runner, "write zeroes", [&](Executor& e, IoCallback done) {
    d.write_zeroes(e, kMiB + 32 * 1024, 32 * 1024, std::move(done));
  });
  expect_async_ok(runner, "read", [&](Executor& e, IoCallback done) { d.read(e, kMiB, back, std::move(done)); });
  EXPECT_EQ(back, std::vector<uint8_t>(back.size(), 0));
  std::vector<AllocationExtent> extents;
  expect_async_ok(runner, "allocation", allocation_into(d, 0, 2 * kMiB, extents));
  // Never written, then punched: one hole over both megabytes.
  ASSERT_EQ(extents.size(), 1u);
  EXPECT_FALSE(extents[0].mapped);
  EXPECT_EQ(extents[0].length, 2 * kMiB);

  // I/O went to the loop's ring; lseek was left to a worker.
  const std::thread::id loop = thread_of(runner);
  expect_all(log.threads_of(Call::read), loop, "read submission");
  expect_all(log.threads_of(Call::write), loop, "write submission");
  expect_all(log.threads_of(Call::fsync), loop, "fsync submission");
  expect_all(log.threads_of(Call::punch_hole), loop, "fallocate submission");
  expect_none(log.threads_of(Call::seek), loop, "lseek");
}

TEST(FileBlockDeviceOnALoop, ASlowLbaStatusQueryStallsNeitherTheLoopNorOtherIo) {
  TempPath slow_path;
  TempPath other_path;
  auto slow = open_file(slow_path.path);
  auto other = open_file(other_path.path);
  Gate gate;
  CallLog log([&gate](Call call) {
    if (call == Call::seek) gate.pass();
    return 0;
  });
  slow->inject_faults(log.faults());
  LoopRunner runner;
  std::promise<Observed> query;
  auto query_done = query.get_future();
  std::vector<AllocationExtent> extents;
  std::thread querying([&] { query.set_value(start_on_loop(runner, allocation_into(*slow, 0, kMiB, extents))); });
  ASSERT_TRUE(gate.entered_within(10s));

  // While lseek hangs, the loop serves this device and another one.
  std::vector<uint8_t> data(4096, 0x5a);
  std::vector<uint8_t> back(4096);
  for (BlockDevice* device : {static_cast<BlockDevice*>(slow.get()), static_cast<BlockDevice*>(other.get())}) {
    expect_async_ok(runner, "write",
                    [&](Executor& e, IoCallback done) { device->write(e, 4 * kMiB, data, true, std::move(done)); });
    expect_async_ok(runner, "read",
                    [&](Executor& e, IoCallback done) { device->read(e, 4 * kMiB, back, std::move(done)); });
    EXPECT_EQ(back, data);
  }
  EXPECT_EQ(query_done.wait_for(0ms), std::future_status::timeout);

  gate.open();
  const Observed observed = get_within(query_done);
  querying.join();
  EXPECT_TRUE(observed.status.ok());
  EXPECT_TRUE(observed.after_return);
  EXPECT_TRUE(observed.on_loop);
  ASSERT_EQ(extents.size(), 1u);
  EXPECT_FALSE(extents[0].mapped);
  EXPECT_EQ(extents[0].length, kMiB);
}

TEST(FileBlockDeviceOnALoop, ShortTransfersAreContinuedUntilTheWholeRangeIsDone) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  CallLog log;
  device->inject_faults(log.faults(4096));  // every submission moves at most 4 KiB
  LoopRunner runner;
  std::vector<uint8_t> data(64 * 1024);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  std::vector<uint8_t> back(data.size());
  expect_async_ok(runner, "write",
                  [&](Executor& e, IoCallback done) { device->write(e, 0, data, true, std::move(done)); });
  expect_async_ok(runner, "read", [&](Executor& e, IoCallback done) { device->read(e, 0, back, std::move(done)); });
  EXPECT_EQ(back, data);
  EXPECT_EQ(log.count(Call::write), 16u);
  EXPECT_EQ(log.count(Call::read), 16u);
  expect_all(log.threads_of(Call::write), thread_of(runner), "write submission");
}

TEST(FileBlockDeviceOnALoop, WithoutHolePunchingZeroesAreWrittenThroughTheRing) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  CallLog log([](Call call) { return call == Call::punch_hole ? EOPNOTSUPP : 0; });
  device->inject_faults(log.faults());
  LoopRunner runner;
  std::vector<uint8_t> data(3 * kMiB, 0xab);
  ASSERT_TRUE(
      on_loop(runner, [&](Executor& e, IoCallback done) { device->write(e, 0, data, false, std::move(done)); }).ok());
  const size_t writes_before = log.count(Call::write);
  const uint64_t zeroed = 5 * kMiB / 2;
  expect_async_ok(runner, "write zeroes",
                  [&](Executor& e, IoCallback done) { device->write_zeroes(e, 0, zeroed, std::move(done)); });
  EXPECT_EQ(log.count(Call::write) - writes_before, 3u);  // 1 MiB, 1 MiB, 512 KiB
  expect_all(log.threads_of(Call::write), thread_of(runner), "write submission");
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(on_loop(runner, [&](Executor& e, IoCallback done) { device->read(e, 0, back, std::move(done)); }).ok());
  EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + zeroed), std::vector<uint8_t>(zeroed, 0));
  EXPECT_EQ(std::vector<uint8_t>(back.begin() + zeroed, back.end()), std::vector<uint8_t>(data.size() - zeroed, 0xab));
  uint64_t run = 0;
  EXPECT_TRUE(device->is_allocated(0, zeroed, run));  // written, not punched
}

TEST(FileBlockDeviceOnALoop, FailuresReachTheCallerWithTheirErrno) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  std::atomic<int> writes{0};
  CallLog log([&writes](Call call) {
    switch (call) {
      case Call::read:
        return EIO;
      case Call::write:
        return ++writes == 3 ? ENOSPC : 0;  // the third piece of a short write
      case Call::fsync:
        return EROFS;
      case Call::punch_hole:
        return EDQUOT;
      default:
        return 0;
    }
  });
  device->inject_faults(log.faults(4096));
  LoopRunner runner;
  std::vector<uint8_t> data(16 * 1024, 1);
  auto expect_error = [&](const char* what, int expected, const std::function<void(Executor&, IoCallback)>& start) {
    const Observed observed = start_on_loop(runner, start);
    EXPECT_EQ(observed.status.error, expected) << what;
    EXPECT_TRUE(observed.after_return && observed.on_loop) << what;
  };
  expect_error("read", EIO, [&](Executor& e, IoCallback done) { device->read(e, 0, data, std::move(done)); });
  expect_error("short write", ENOSPC,
               [&](Executor& e, IoCallback done) { device->write(e, 0, data, false, std::move(done)); });
  EXPECT_EQ(writes.load(), 3);  // the first two pieces were continued, the failing one ended it
  expect_error("flush", EROFS, [&](Executor& e, IoCallback done) { device->flush(e, std::move(done)); });
  expect_error("discard", EDQUOT, [&](Executor& e, IoCallback done) { device->discard(e, 0, 4096, std::move(done)); });
  expect_error("write zeroes", EDQUOT,
               [&](Executor& e, IoCallback done) { device->write_zeroes(e, 0, 4096, std::move(done)); });
  expect_error("compare and write", EIO, [&](Executor& e, IoCallback done) {
    device->compare_and_write(e, 0, std::span(data).first(512), std::span(data).first(512), std::move(done));
  });
}

TEST(FileBlockDeviceOnALoop, ACallFromAnotherThreadIsIssuedFromItsLoop) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  CallLog log;
  device->inject_faults(log.faults());
  LoopRunner runner;
  std::vector<uint8_t> data(4096, 3);
  std::promise<bool> completed_on_loop;
  auto future = completed_on_loop.get_future();
  device->write(runner.loop(), 0, data, false, [&](IoStatus status) {
    EXPECT_TRUE(status.ok());
    completed_on_loop.set_value(runner.loop().in_executor_thread());
  });
  EXPECT_TRUE(get_within(future));
  expect_all(log.threads_of(Call::write), thread_of(runner), "write submission");
}

TEST(FileBlockDeviceWithoutALoop, EverySystemCallRunsOnAWorkerAndCompletesOnTheExecutor) {
  TempPath tmp;
  auto device = open_file(tmp.path);
  CallLog log;
  device->inject_faults(log.faults());
  QueueExecutor executor;  // runs what is posted to it on this thread, in run_one()
  std::vector<uint8_t> data(8192, 9);
  std::vector<uint8_t> back(data.size());
  auto expect_posted = [&](const char* what, const std::function<void(IoCallback)>& start) {
    bool ran = false;
    start([&ran, what](IoStatus status) {
      EXPECT_TRUE(status.ok()) << what << ": errno " << status.error;
      ran = true;
    });
    EXPECT_FALSE(ran) << what << " completed inside the call";
    ASSERT_TRUE(executor.run_one()) << what << " never completed";
    EXPECT_TRUE(ran) << what;
  };
  expect_posted("write", [&](IoCallback done) { device->write(executor, 0, data, true, std::move(done)); });
  expect_posted("read", [&](IoCallback done) { device->read(executor, 0, back, std::move(done)); });
  EXPECT_EQ(back, data);
  expect_posted("flush", [&](IoCallback done) { device->flush(executor, std::move(done)); });
  expect_posted("discard", [&](IoCallback done) { device->discard(executor, 0, 4096, std::move(done)); });
  expect_posted("write zeroes", [&](IoCallback done) { device->write_zeroes(executor, 4096, 4096, std::move(done)); });
  std::vector<AllocationExtent> extents;
  expect_posted("allocation", [&](IoCallback done) {
    device->allocation(executor, 0, kMiB, 64, [&extents, done = std::move(done)](int error, auto found) mutable {
      extents = std::move(found);
      done(IoStatus{error});
    });
  });
  ASSERT_FALSE(extents.empty());
  EXPECT_FALSE(extents[0].mapped);
  EXPECT_EQ(executor.posted(), 6u);
  EXPECT_TRUE(executor.all_posted_from_other_threads());
  const auto self = std::this_thread::get_id();
  for (Call call : {Call::read, Call::write, Call::fsync, Call::punch_hole, Call::seek}) {
    expect_none(log.threads_of(call), self, "system call");
  }
}

}  // namespace
}  // namespace portico::backends
