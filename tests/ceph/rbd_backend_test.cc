// backends/rbd against a real Ceph cluster: every request goes through librbd to an OSD.
#include "backends/rbd/rbd_block_device.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include <rbd/librbd.h>

#include "tests/ceph/ceph_test_env.h"

namespace portico::backends {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1u << 20;
constexpr uint64_t kObjectSize = 4 * kMiB;  // order 22, librbd's default
constexpr uint64_t kImageSize = 16 * kMiB;

// One thread that runs what is posted to it, like an event loop; remembers its thread id.
class ThreadExecutor final : public Executor {
 public:
  ThreadExecutor() : thread_([this] { run(); }) {}
  ~ThreadExecutor() override {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void post(UniqueFunction<void()> fn) override {
    {
      const std::lock_guard lock(mutex_);
      queue_.push_back(std::move(fn));
    }
    wake_.notify_all();
  }
  void post_after(std::chrono::milliseconds delay, UniqueFunction<void()> fn) override {
    std::this_thread::sleep_for(delay);  // the backend never paces; good enough for a test
    post(std::move(fn));
  }
  [[nodiscard]] bool in_executor_thread() const override { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything posted has run
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<UniqueFunction<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7 + i / 251);
  return bytes;
}

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Creates an image (layering only, unless told otherwise) and removes it at the end.
class RbdBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_ = testing::connect_to_test_cluster();
    ASSERT_NE(connection_, nullptr);
    auto ioctx = connection_->open_pool(testing::ceph_pool());
    ASSERT_TRUE(ioctx.ok()) << ioctx.status().message();
    ioctx_ = *ioctx;
  }

  void TearDown() override {
    device_.reset();
    for (const auto& image : created_) {
      EXPECT_EQ(rbd_remove(ioctx_, image.c_str()), 0) << image;
    }
    if (ioctx_ != nullptr) rados_ioctx_destroy(ioctx_);
  }

  std::string create_image(uint64_t features = RBD_FEATURE_LAYERING, uint64_t size = kImageSize) {
    const std::string image = testing::unique_name("rbd-backend");
    const int ret = testing::create_test_image(ioctx_, image, size, features);
    EXPECT_EQ(ret, 0) << "rbd_create4 " << image;
    if (ret == 0) created_.push_back(image);
    return image;
  }

  RbdOptions options_for(const std::string& image) const {
    RbdOptions options;
    options.pool = testing::ceph_pool();
    options.image = image;
    return options;
  }

  std::shared_ptr<RbdBlockDevice> open_device(const std::string& image,
                                              std::shared_ptr<ceph::RadosConnection> connection = nullptr) {
    auto device = RbdBlockDevice::open(connection != nullptr ? connection : connection_, options_for(image));
    EXPECT_TRUE(device.ok()) << device.status().message();
    return device.ok() ? *device : nullptr;
  }

  void open_test_image() {
    image_ = create_image();
    device_ = open_device(image_);
    ASSERT_NE(device_, nullptr);
  }

  // Runs one request and waits for its completion, checking that `done` ran on the executor.
  template <typename Start>
  IoStatus run(Start&& start_request, ThreadExecutor* executor = nullptr) {
    ThreadExecutor& on = executor != nullptr ? *executor : executor_;
    std::promise<IoStatus> result;
    auto future = result.get_future();
    start_request(on, [&result, &on](IoStatus status) {
      EXPECT_TRUE(on.in_executor_thread()) << "done ran outside the executor's thread";
      result.set_value(status);
    });
    EXPECT_EQ(future.wait_for(30s), std::future_status::ready) << "no completion within 30 s";
    return future.get();
  }

  IoStatus write(uint64_t offset, const std::vector<uint8_t>& data, RbdBlockDevice* device = nullptr) {
    RbdBlockDevice& d = device != nullptr ? *device : *device_;
    return run([&](Executor& e, IoCallback done) { d.write(e, offset, data, false, std::move(done)); });
  }

  std::vector<uint8_t> read(uint64_t offset, size_t length) {
    std::vector<uint8_t> data(length, 0xEE);
    const IoStatus status = run([&](Executor& e, IoCallback done) { device_->read(e, offset, data, std::move(done)); });
    EXPECT_TRUE(status.ok()) << "read at " << offset << ": error " << status.error;
    return data;
  }

  IoStatus compare_and_write(uint64_t offset, const std::vector<uint8_t>& expected,
                             const std::vector<uint8_t>& replacement) {
    return run([&](Executor& e, IoCallback done) {
      device_->compare_and_write(e, offset, expected, replacement, std::move(done));
    });
  }

  std::shared_ptr<ceph::RadosConnection> connection_;
  rados_ioctx_t ioctx_ = nullptr;
  std::vector<std::string> created_;
  std::string image_;
  ThreadExecutor executor_;
  std::shared_ptr<RbdBlockDevice> device_;
};

TEST_F(RbdBackendTest, OpenRefusesExclusiveLock_NamesTheCommandThatDisablesIt) {
  const std::string image = create_image(RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK | RBD_FEATURE_OBJECT_MAP |
                                         RBD_FEATURE_FAST_DIFF);
  const std::string name = testing::ceph_pool() + "/" + image;
  auto refused = RbdBlockDevice::open(connection_, options_for(image));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::unsupported);
  const std::string command = "rbd feature disable " + name + " object-map fast-diff exclusive-lock";
  EXPECT_NE(refused.status().message().find("rbd image " + name + ": "), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find(command), std::string::npos) << refused.status().message();

  // The command it names works, and then the image opens.
  const std::string shell = "rbd -c '" + testing::ceph_conf() + "' " + command.substr(4);
  ASSERT_EQ(std::system(shell.c_str()), 0) << shell;
  EXPECT_NE(open_device(image), nullptr);
}

TEST_F(RbdBackendTest, OpenMissingImageOrPool_NamesTheImage) {
  auto missing = RbdBlockDevice::open(connection_, options_for("no-such-image"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::not_found);
  EXPECT_EQ(missing.status().message().rfind("rbd image " + testing::ceph_pool() + "/no-such-image: ", 0), 0u)
      << missing.status().message();

  RbdOptions options = options_for("disk1");
  options.pool = "no-such-pool";
  auto no_pool = RbdBlockDevice::open(connection_, options);
  ASSERT_FALSE(no_pool.ok());
  EXPECT_EQ(no_pool.status().code(), ErrorCode::not_found);
  EXPECT_EQ(no_pool.status().message().rfind("rbd image no-such-pool/disk1: ", 0), 0u) << no_pool.status().message();
}

TEST_F(RbdBackendTest, Info_DescribesASharedThinImage) {
  open_test_image();
  rbd_image_t image = nullptr;
  ASSERT_EQ(rbd_open(ioctx_, image_.c_str(), &image, nullptr), 0);
  std::array<char, 128> id{};
  ASSERT_EQ(rbd_get_id(image, id.data(), id.size()), 0);
  rbd_close(image);

  const BlockDeviceInfo& info = device_->info();
  EXPECT_EQ(info.kind, "rbd");
  EXPECT_EQ(info.identity_seed, "rbd:" + testing::ceph_pool() + "/" + id.data());
  EXPECT_EQ(info.block_size, 512u);
  EXPECT_EQ(info.physical_block_exponent, 3u);
  EXPECT_TRUE(info.thin_provisioned);
  EXPECT_TRUE(info.discard_zeroes);
  EXPECT_FALSE(info.volatile_cache);
  EXPECT_EQ(info.max_transfer_bytes, 8 * kMiB);
  // librbd 16.x: one 512-byte sector (see LibrbdCompareAndWrite_IsLimitedToOneSector).
  EXPECT_EQ(info.atomic_boundary_bytes, 512u);
  EXPECT_EQ(info.max_compare_and_write_bytes, 512u);
  EXPECT_EQ(device_->capacity_bytes(), kImageSize);
}

TEST_F(RbdBackendTest, FourKiBBlocks_OfferNoCompareAndWrite) {
  const std::string image = create_image();
  RbdOptions options = options_for(image);
  options.block_size = 4096;
  auto device = RbdBlockDevice::open(connection_, options);
  ASSERT_TRUE(device.ok()) << device.status().message();
  EXPECT_EQ((*device)->info().physical_block_exponent, 0u);
  EXPECT_EQ((*device)->info().max_compare_and_write_bytes, 0u);
}

TEST_F(RbdBackendTest, Open_ForcesCacheOffAndPartialDiscardZeroingOnTheConnection) {
  ceph::RadosOptions options;
  options.conf_path = testing::ceph_conf();
  options.overrides = {{"rbd_cache", "true"}, {"rbd_skip_partial_discard", "true"}};
  auto connection = ceph::RadosConnection::connect(options);
  ASSERT_TRUE(connection.ok()) << connection.status().message();
  const std::string image = create_image();
  auto device = open_device(image, *connection);
  ASSERT_NE(device, nullptr);
  for (const char* key : {"rbd_cache", "rbd_skip_partial_discard"}) {
    std::array<char, 32> value{};
    ASSERT_EQ(rados_conf_get((*connection)->handle(), key, value.data(), value.size()), 0);
    EXPECT_STREQ(value.data(), "false") << key;
  }
}

TEST_F(RbdBackendTest, Open_RefusesAnImageOverrideThatTurnsTheCacheOn) {
  const std::string image = create_image();
  rbd_image_t handle = nullptr;
  ASSERT_EQ(rbd_open(ioctx_, image.c_str(), &handle, nullptr), 0);
  ASSERT_EQ(rbd_metadata_set(handle, "conf_rbd_cache", "true"), 0);
  rbd_close(handle);
  auto refused = RbdBlockDevice::open(connection_, options_for(image));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("rbd config image remove " + testing::ceph_pool() + "/" + image +
                                            " rbd_cache"),
            std::string::npos)
      << refused.status().message();
}

TEST_F(RbdBackendTest, WriteThenRead_ReturnsTheDataAtEveryOffsetAndSize) {
  open_test_image();
  struct Case {
    uint64_t offset;
    size_t length;
  };
  uint8_t seed = 1;
  for (const Case c : {Case{0, 512}, Case{512, 4096}, Case{3 * kMiB + 512, 64 * 1024},
                       Case{kObjectSize - 4096, 8192},                 // across an object boundary
                       Case{2 * kObjectSize - 3 * kMiB, 6 * kMiB},      // across two of them
                       Case{kImageSize - 512, 512}}) {
    const auto data = pattern(c.length, seed++);
    ASSERT_TRUE(write(c.offset, data).ok()) << c.offset;
    EXPECT_EQ(read(c.offset, c.length), data) << "offset " << c.offset << " length " << c.length;
  }
}

// Scatter-gather (a TCMU data area's iovecs): writev through librbd; readv through librbd on an
// image whose reads cannot go to the objects (fancy striping) and through the interface's bounce
// buffer on one whose reads do; the same bytes either way, across object boundaries.
TEST_F(RbdBackendTest, ScatterGather_WritevAndReadv_GiveTheSameBytesAsOneBuffer) {
  const std::string striped = testing::unique_name("rbd-backend-striped");
  rbd_image_options_t options;
  rbd_image_options_create(&options);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_FEATURES, RBD_FEATURE_LAYERING | RBD_FEATURE_STRIPINGV2);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_ORDER, 22);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_STRIPE_UNIT, 64 * 1024);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_STRIPE_COUNT, 4);
  ASSERT_EQ(rbd_create4(ioctx_, striped.c_str(), kImageSize, options), 0);
  rbd_image_options_destroy(options);
  created_.push_back(striped);
  const std::string plain = create_image();

  for (const auto& image : {striped, plain}) {
    device_ = open_device(image);
    ASSERT_NE(device_, nullptr);
    EXPECT_EQ(device_->reads_go_to_objects(), image == plain);
    const std::vector<size_t> sizes{512, 100, 3996, 1 * kMiB, 7680};  // 1 MiB + 12 KiB
    std::vector<std::vector<uint8_t>> pieces;
    std::vector<uint8_t> whole;
    uint8_t seed = 3;
    for (size_t size : sizes) {
      pieces.push_back(pattern(size, seed++));
      whole.insert(whole.end(), pieces.back().begin(), pieces.back().end());
    }
    std::vector<std::span<const uint8_t>> out(pieces.begin(), pieces.end());
    const uint64_t offset = kObjectSize - 512 * 1024;  // across an object boundary
    ASSERT_TRUE(run([&](Executor& e, IoCallback done) { device_->writev(e, offset, out, false, std::move(done)); }).ok());
    EXPECT_EQ(read(offset, whole.size()), whole) << image;

    std::vector<std::vector<uint8_t>> back{std::vector<uint8_t>(4096, 0xEE), std::vector<uint8_t>(whole.size() - 4096 - 512, 0xEE),
                                           std::vector<uint8_t>(512, 0xEE)};
    std::vector<std::span<uint8_t>> in(back.begin(), back.end());
    ASSERT_TRUE(run([&](Executor& e, IoCallback done) { device_->readv(e, offset, in, std::move(done)); }).ok());
    std::vector<uint8_t> joined;
    for (const auto& b : back) joined.insert(joined.end(), b.begin(), b.end());
    EXPECT_EQ(joined, whole) << image;
    device_.reset();
  }
}

TEST_F(RbdBackendTest, ReadOfNeverWrittenBlocks_ReturnsZeroes) {
  open_test_image();
  EXPECT_TRUE(all_zero(read(5 * kMiB, 128 * 1024)));
}

TEST_F(RbdBackendTest, PlainImage_ReadsGoToTheObjects_AndAShortObjectReadsZeroesPastItsEnd) {
  open_test_image();
  EXPECT_TRUE(device_->reads_go_to_objects());
  // The object holding offset 4 MiB exists but is 4 KiB long: the rest of the range reads as zeroes.
  const auto data = pattern(4096, 9);
  ASSERT_TRUE(write(kObjectSize, data).ok());
  const auto back = read(kObjectSize - 8192, 64 * 1024);
  EXPECT_TRUE(all_zero(std::span(back).first(8192)));
  EXPECT_TRUE(std::equal(data.begin(), data.end(), back.begin() + 8192));
  EXPECT_TRUE(all_zero(std::span(back).subspan(8192 + 4096)));
}

// A clone's unwritten blocks are its parent's: they read through librbd until the clone is
// flattened (the header update switches reads to the objects), and read the same either way.
TEST_F(RbdBackendTest, Clone_ReadsItsParentThroughLibrbd_UntilFlattened) {
  const std::string parent = create_image();
  rbd_image_t parent_image = nullptr;
  ASSERT_EQ(rbd_open(ioctx_, parent.c_str(), &parent_image, nullptr), 0);
  const auto data = pattern(64 * 1024, 21);
  ASSERT_EQ(rbd_write(parent_image, kObjectSize - 4096, data.size(), reinterpret_cast<const char*>(data.data())),
            static_cast<ssize_t>(data.size()));
  ASSERT_EQ(rbd_snap_create(parent_image, "base"), 0);
  ASSERT_EQ(rbd_snap_protect(parent_image, "base"), 0);
  const std::string clone = testing::unique_name("rbd-backend-clone");
  rbd_image_options_t options;
  rbd_image_options_create(&options);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_FEATURES, RBD_FEATURE_LAYERING);
  ASSERT_EQ(rbd_clone3(ioctx_, parent.c_str(), "base", ioctx_, clone.c_str(), options), 0);
  rbd_image_options_destroy(options);

  device_ = open_device(clone);
  ASSERT_NE(device_, nullptr);
  EXPECT_FALSE(device_->reads_go_to_objects()) << "a clone's blocks may be its parent's";
  EXPECT_EQ(read(kObjectSize - 4096, data.size()), data) << "the parent's data through the clone";

  rbd_image_t clone_image = nullptr;
  ASSERT_EQ(rbd_open(ioctx_, clone.c_str(), &clone_image, nullptr), 0);
  ASSERT_EQ(rbd_flatten(clone_image), 0);
  rbd_close(clone_image);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!device_->reads_go_to_objects() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(device_->reads_go_to_objects()) << "still through librbd 10 s after the flatten";
  EXPECT_EQ(read(kObjectSize - 4096, data.size()), data) << "the flattened clone's data";

  device_.reset();
  EXPECT_EQ(rbd_remove(ioctx_, clone.c_str()), 0);
  ASSERT_EQ(rbd_snap_unprotect(parent_image, "base"), 0);
  ASSERT_EQ(rbd_snap_remove(parent_image, "base"), 0);
  rbd_close(parent_image);
}

TEST_F(RbdBackendTest, Flush_Succeeds) {
  open_test_image();
  ASSERT_TRUE(write(0, pattern(4096, 3)).ok());
  const IoStatus status = run([&](Executor& e, IoCallback done) { device_->flush(e, std::move(done)); });
  EXPECT_TRUE(status.ok()) << status.error;
}

TEST_F(RbdBackendTest, Discard_ReadsBackZeroesIncludingPartialRanges) {
  open_test_image();
  const uint64_t base = kMiB;
  const auto data = pattern(256 * 1024, 9);
  ASSERT_TRUE(write(base, data).ok());
  struct Range {
    uint64_t offset;
    uint64_t length;
  };
  // Far smaller than librbd's 64 KiB discard granularity and unaligned to it, one whole
  // granule, and a range straddling granules.
  for (const Range r : {Range{base + 512, 512}, Range{base + 8192 + 512, 1536}, Range{base + 64 * 1024, 64 * 1024},
                        Range{base + 192 * 1024 - 1024, 4096}}) {
    const IoStatus status =
        run([&](Executor& e, IoCallback done) { device_->discard(e, r.offset, r.length, std::move(done)); });
    ASSERT_TRUE(status.ok()) << status.error;
  }
  auto expected = data;
  for (const Range r : {Range{512, 512}, Range{8192 + 512, 1536}, Range{64 * 1024, 64 * 1024},
                        Range{192 * 1024 - 1024, 4096}}) {
    std::fill_n(expected.begin() + static_cast<long>(r.offset), r.length, 0);
  }
  EXPECT_EQ(read(base, data.size()), expected);
}

TEST_F(RbdBackendTest, WriteZeroes_ReadsBackZeroes) {
  open_test_image();
  const auto data = pattern(3 * kMiB, 11);
  const uint64_t base = kObjectSize - kMiB;  // the zeroed range crosses an object boundary
  ASSERT_TRUE(write(base, data).ok());
  const IoStatus status = run(
      [&](Executor& e, IoCallback done) { device_->write_zeroes(e, base + 512, 2 * kMiB + 1024, std::move(done)); });
  ASSERT_TRUE(status.ok()) << status.error;
  auto expected = data;
  std::fill_n(expected.begin() + 512, 2 * kMiB + 1024, 0);
  EXPECT_EQ(read(base, data.size()), expected);
}

TEST_F(RbdBackendTest, CompareAndWrite_WhenEqual_WritesTheReplacement) {
  open_test_image();
  const uint64_t offset = kObjectSize + 8192;
  const auto old_data = pattern(512, 20);
  const auto new_data = pattern(512, 21);
  ASSERT_TRUE(write(offset, old_data).ok());
  const IoStatus status = compare_and_write(offset, old_data, new_data);
  EXPECT_TRUE(status.ok()) << status.error << " miscompare " << status.miscompare;
  EXPECT_EQ(read(offset, 512), new_data);
}

TEST_F(RbdBackendTest, CompareAndWrite_Miscompare_ReportsTheOffsetWithinTheRange) {
  open_test_image();
  // Non-zero offsets in the image and within the object, so that every other interpretation of
  // librbd's mismatch offset would give a different answer.
  for (const uint64_t offset : {uint64_t{8192}, kObjectSize + 8192, 3 * kObjectSize - 512}) {
    for (const size_t difference : {size_t{0}, size_t{100}, size_t{511}}) {
      const auto current = pattern(512, 30);
      ASSERT_TRUE(write(offset, current).ok());
      auto expected = current;
      expected[difference] ^= 0x5A;
      const IoStatus status = compare_and_write(offset, expected, pattern(512, 31));
      EXPECT_EQ(status.error, 0);
      EXPECT_TRUE(status.miscompare);
      EXPECT_EQ(status.miscompare_offset, difference) << "compare at " << offset;
      EXPECT_EQ(read(offset, 512), current) << "a miscompare wrote";
    }
  }
}

TEST_F(RbdBackendTest, CompareAndWrite_AcrossTheAtomicBoundary_IsRefusedAndWritesNothing) {
  open_test_image();
  const uint64_t offset = kObjectSize - 512;  // 1024 bytes across an object boundary
  const auto current = pattern(1024, 40);
  ASSERT_TRUE(write(offset, current).ok());
  const IoStatus status = compare_and_write(offset, current, pattern(1024, 41));
  EXPECT_EQ(status.error, EINVAL);
  EXPECT_FALSE(status.miscompare);
  EXPECT_EQ(read(offset, 1024), current);
}

// Pins the librbd behaviour the backend relies on: a compare-and-write beyond one 512-byte
// sector is refused (EINVAL), and the mismatch offset is the object's image offset plus the
// index in the range. A librbd that changes either makes this fail, and the backend's limits
// and offset translation must be revisited.
TEST_F(RbdBackendTest, LibrbdCompareAndWrite_IsLimitedToOneSectorAndReportsObjectBasedOffsets) {
  const std::string name = create_image();
  rbd_image_t image = nullptr;
  ASSERT_EQ(rbd_open(ioctx_, name.c_str(), &image, nullptr), 0);
  const uint64_t offset = kObjectSize + 8192;
  std::vector<char> data(1024, 'a');
  ASSERT_EQ(rbd_write(image, offset, data.size(), data.data()), static_cast<ssize_t>(data.size()));
  uint64_t mismatch = 0;
  EXPECT_EQ(rbd_compare_and_write(image, offset, 1024, data.data(), data.data(), &mismatch, 0), -EINVAL);
  std::vector<char> expected(512, 'a');
  expected[100] = 'x';
  EXPECT_EQ(rbd_compare_and_write(image, offset, 512, expected.data(), data.data(), &mismatch, 0), -EILSEQ);
  EXPECT_EQ(mismatch, kObjectSize + 100);
  rbd_close(image);
}

TEST_F(RbdBackendTest, TwoGateways_RacingCompareAndWrite_ExactlyOneWinsEachRound) {
  open_test_image();
  ThreadExecutor other_executor;  // outlives the other gateway's device
  auto other_connection = testing::connect_to_test_cluster();
  ASSERT_NE(other_connection, nullptr);
  auto other = open_device(image_, other_connection);
  ASSERT_NE(other, nullptr);
  const std::array<RbdBlockDevice*, 2> gateways{device_.get(), other.get()};
  const std::array<ThreadExecutor*, 2> executors{&executor_, &other_executor};

  const uint64_t offset = kObjectSize + 4096;
  auto block_for = [](int round, int gateway) {
    auto block = pattern(512, static_cast<uint8_t>(round));
    std::memcpy(block.data(), &round, sizeof(round));
    block[8] = static_cast<uint8_t>(gateway);
    return block;
  };
  std::vector<uint8_t> current = block_for(-1, 0);
  ASSERT_TRUE(write(offset, current).ok());
  for (int round = 0; round < 200; ++round) {
    std::array<std::vector<uint8_t>, 2> replacement{block_for(round, 1), block_for(round, 2)};
    std::array<std::promise<IoStatus>, 2> results;
    for (size_t g = 0; g < 2; ++g) {
      gateways[g]->compare_and_write(*executors[g], offset, current, replacement[g],
                                     [&results, g](IoStatus status) { results[g].set_value(status); });
    }
    std::array<IoStatus, 2> status{results[0].get_future().get(), results[1].get_future().get()};
    ASSERT_EQ(status[0].error, 0);
    ASSERT_EQ(status[1].error, 0);
    ASSERT_NE(status[0].miscompare, status[1].miscompare) << "round " << round << ": not exactly one winner";
    const size_t winner = status[0].miscompare ? 1 : 0;
    // The loser compared against the winner's block, which differs first in the round counter.
    EXPECT_EQ(status[1 - winner].miscompare_offset, 0u) << "round " << round;
    current = read(offset, 512);
    ASSERT_EQ(current, replacement[winner]) << "round " << round;
  }
}

TEST_F(RbdBackendTest, ResizeOnAnotherGateway_TellsTheCapacityListener) {
  open_test_image();
  std::promise<uint64_t> changed;
  std::atomic<bool> told{false};
  device_->set_capacity_listener([&](uint64_t bytes) {
    if (!told.exchange(true)) changed.set_value(bytes);
  });
  auto other_connection = testing::connect_to_test_cluster();
  ASSERT_NE(other_connection, nullptr);
  auto other_ioctx = other_connection->open_pool(testing::ceph_pool());
  ASSERT_TRUE(other_ioctx.ok());
  rbd_image_t image = nullptr;
  ASSERT_EQ(rbd_open(*other_ioctx, image_.c_str(), &image, nullptr), 0);
  ASSERT_EQ(rbd_resize(image, 2 * kImageSize), 0);
  rbd_close(image);
  rados_ioctx_destroy(*other_ioctx);

  auto future = changed.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "no capacity change within 10 s";
  EXPECT_EQ(future.get(), 2 * kImageSize);
  EXPECT_EQ(device_->capacity_bytes(), 2 * kImageSize);
  device_->set_capacity_listener(nullptr);
}

TEST_F(RbdBackendTest, BlocklistedClient_FailsItsIoWithEblocklisted_AndTellsTheListenerOnce) {
  image_ = create_image();
  auto fenced_connection = testing::connect_to_test_cluster();  // the gateway another one fences
  ASSERT_NE(fenced_connection, nullptr);
  auto fenced = open_device(image_, fenced_connection);
  ASSERT_NE(fenced, nullptr);
  std::mutex mutex;
  std::vector<std::string> told;
  fenced->set_blocklisted_listener([&](const std::string& why) {
    const std::lock_guard lock(mutex);
    told.push_back(why);
  });
  const auto data = pattern(4096, 3);
  ASSERT_TRUE(write(0, data, fenced.get()).ok());

  std::string address = fenced_connection->address();
  ASSERT_FALSE(address.empty());
  ASSERT_EQ(rados_blocklist_add(connection_->handle(), address.data(), 600), 0) << address;
  // The OSD refuses the client once it has the new map: EBLOCKLISTED (ESHUTDOWN) from then on.
  IoStatus status;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((status = write(0, data, fenced.get())).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(status.error, ESHUTDOWN) << "a write of the blocklisted client";
  EXPECT_EQ(write(4096, data, fenced.get()).error, ESHUTDOWN);
  std::vector<uint8_t> back(4096);
  const IoStatus read = run([&](Executor& e, IoCallback done) { fenced->read(e, 0, back, std::move(done)); });
  EXPECT_EQ(read.error, ESHUTDOWN) << "a read of the blocklisted client";
  const std::lock_guard lock(mutex);
  ASSERT_EQ(told.size(), 1u) << "the listener hears the first EBLOCKLISTED only";
  EXPECT_NE(told[0].find(testing::ceph_pool() + "/" + image_), std::string::npos) << told[0];
}

TEST_F(RbdBackendTest, Completions_RunOnTheExecutorThread) {
  open_test_image();
  std::promise<bool> on_executor;
  std::vector<uint8_t> data(4096);
  device_->read(executor_, 0, data, [&](IoStatus status) {
    EXPECT_TRUE(status.ok());
    on_executor.set_value(executor_.in_executor_thread());
  });
  EXPECT_TRUE(on_executor.get_future().get());
}

TEST_F(RbdBackendTest, Destroy_WaitsForRequestsInFlight) {
  open_test_image();
  constexpr int kRequests = 64;
  const auto data = pattern(64 * 1024, 50);
  std::atomic<int> completed{0};
  for (int i = 0; i < kRequests; ++i) {
    device_->write(executor_, static_cast<uint64_t>(i) * data.size(), data, false, [&](IoStatus status) {
      EXPECT_TRUE(status.ok());
      completed.fetch_add(1);
    });
  }
  device_.reset();  // returns only once every completion has been handed to the executor
  std::promise<void> drained;
  executor_.post([&] { drained.set_value(); });
  drained.get_future().wait();
  EXPECT_EQ(completed.load(), kRequests);
}

}  // namespace
}  // namespace portico::backends
