// The file backend on a block device (a loop device, when the machine lends one): BLKDISCARD and
// BLKZEROOUT, which io_uring cannot issue on Linux 6.1, run on a worker thread and complete on
// the loop; a slow one holds only its own range.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
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
using testing::start_on_loop;
using testing::TempPath;
using testing::thread_of;
using namespace std::chrono_literals;

// A loop block device over a sparse file, detached when its last descriptor closes. No path when
// this machine lends none (no loop driver, not root).
class LoopDevice {
 public:
  LoopDevice(const std::string& backing, uint64_t size) {
    const int file = ::open(backing.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    const int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    for (int attempt = 0; file >= 0 && control >= 0 && attempt < 5 && fd_ < 0; ++attempt) {
      if (::ftruncate(file, static_cast<off_t>(size)) != 0) break;
      const int n = ::ioctl(control, LOOP_CTL_GET_FREE);
      if (n < 0) break;
      const std::string name = "/dev/loop" + std::to_string(n);
      const int fd = ::open(name.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) break;
      loop_config config{};
      config.fd = static_cast<__u32>(file);
      config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      if (::ioctl(fd, LOOP_CONFIGURE, &config) == 0) {
        fd_ = fd;
        path_ = name;
      } else {
        ::close(fd);  // taken by someone else meanwhile: ask again
      }
    }
    if (control >= 0) ::close(control);
    if (file >= 0) ::close(file);
  }
  ~LoopDevice() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// A file LUN on an 8 MiB loop device; the test is skipped when the machine lends none.
class FileBlockDeviceOnABlockDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_device_ = std::make_unique<LoopDevice>(backing_.path, 8 * kMiB);
    if (loop_device_->path().empty()) GTEST_SKIP() << "no loop device on this machine";
    auto opened = FileBlockDevice::open(loop_device_->path(), 0, 512, false, loop_device_->path());
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    device = std::move(*opened);
  }

  std::unique_ptr<FileBlockDevice> device;

 private:
  TempPath backing_;
  std::unique_ptr<LoopDevice> loop_device_;
};

TEST_F(FileBlockDeviceOnABlockDevice, DiscardAndZeroOutRunOnAWorkerAndCompleteOnTheLoop) {
  EXPECT_FALSE(device->info().thin_provisioned);
  CallLog log;
  device->inject_faults(log.faults());
  LoopRunner runner;
  std::vector<uint8_t> data(128 * 1024, 0xab);
  std::vector<uint8_t> back(data.size());
  expect_async_ok(runner, "write",
                  [&](Executor& e, IoCallback done) { device->write(e, 0, data, true, std::move(done)); });
  expect_async_ok(runner, "write zeroes",
                  [&](Executor& e, IoCallback done) { device->write_zeroes(e, 0, 64 * 1024, std::move(done)); });
  expect_async_ok(runner, "discard",
                  [&](Executor& e, IoCallback done) { device->discard(e, 64 * 1024, 4096, std::move(done)); });
  expect_async_ok(runner, "read", [&](Executor& e, IoCallback done) { device->read(e, 0, back, std::move(done)); });
  EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + 64 * 1024), std::vector<uint8_t>(64 * 1024, 0));
  EXPECT_EQ(back.back(), 0xab);
  const std::thread::id loop = thread_of(runner);
  expect_none(log.threads_of(Call::zeroout_ioctl), loop, "BLKZEROOUT");
  expect_none(log.threads_of(Call::discard_ioctl), loop, "BLKDISCARD");
  expect_all(log.threads_of(Call::write), loop, "write submission");
}

TEST_F(FileBlockDeviceOnABlockDevice, ASlowZeroOutHoldsOnlyItsOwnRange) {
  Gate gate;
  CallLog log([&gate](Call call) {
    if (call == Call::zeroout_ioctl) gate.pass();
    return 0;
  });
  device->inject_faults(log.faults());
  LoopRunner runner;
  std::vector<uint8_t> data(64 * 1024, 0xab);
  ASSERT_TRUE(
      on_loop(runner, [&](Executor& e, IoCallback done) { device->write(e, 0, data, false, std::move(done)); }).ok());
  std::promise<Observed> zeroing;
  auto zeroed = zeroing.get_future();
  std::thread zeroer([&] {
    zeroing.set_value(start_on_loop(
        runner, [&](Executor& e, IoCallback done) { device->write_zeroes(e, 0, data.size(), std::move(done)); }));
  });
  ASSERT_TRUE(gate.entered_within(10s));

  // The loop goes on serving other ranges; a read of the range being zeroed waits for it.
  std::vector<uint8_t> before(data.size(), 0xee);
  std::promise<Observed> reading;
  auto read_done = reading.get_future();
  std::thread reader([&] {
    reading.set_value(
        start_on_loop(runner, [&](Executor& e, IoCallback done) { device->read(e, 0, before, std::move(done)); }));
  });
  std::vector<uint8_t> elsewhere(4096, 0x11);
  std::vector<uint8_t> back(4096);
  expect_async_ok(runner, "write",
                  [&](Executor& e, IoCallback done) { device->write(e, 4 * kMiB, elsewhere, true, std::move(done)); });
  expect_async_ok(runner, "read",
                  [&](Executor& e, IoCallback done) { device->read(e, 4 * kMiB, back, std::move(done)); });
  EXPECT_EQ(back, elsewhere);
  EXPECT_EQ(zeroed.wait_for(0ms), std::future_status::timeout);
  EXPECT_EQ(read_done.wait_for(20ms), std::future_status::timeout);

  gate.open();
  const Observed zero = get_within(zeroed);
  const Observed read = get_within(read_done);
  zeroer.join();
  reader.join();
  EXPECT_TRUE(zero.status.ok() && zero.after_return && zero.on_loop);
  EXPECT_TRUE(read.status.ok());
  EXPECT_EQ(before, std::vector<uint8_t>(data.size(), 0));
}

TEST_F(FileBlockDeviceOnABlockDevice, IoctlFailuresKeepTheirErrnoAndDiscardStaysAdvisory) {
  CallLog log([](Call call) {
    if (call == Call::zeroout_ioctl) return EIO;
    return call == Call::discard_ioctl ? EOPNOTSUPP : 0;
  });
  device->inject_faults(log.faults());
  LoopRunner runner;
  const Observed zero =
      start_on_loop(runner, [&](Executor& e, IoCallback done) { device->write_zeroes(e, 0, 4096, std::move(done)); });
  EXPECT_EQ(zero.status.error, EIO);
  EXPECT_TRUE(zero.after_return && zero.on_loop);
  expect_async_ok(runner, "discard without device support",
                  [&](Executor& e, IoCallback done) { device->discard(e, 0, 4096, std::move(done)); });
}

}  // namespace
}  // namespace portico::backends
