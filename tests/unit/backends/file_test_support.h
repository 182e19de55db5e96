// Helpers for file backend tests: a temporary LUN path, opening a file LUN, calling it from a
// loop's thread and watching where its completions and system calls run, a disk call held back.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backends/file/file_block_device.h"
#include "tests/unit/backends/backend_test_support.h"
#include "tests/unit/runtime/loop_runner.h"

namespace portico::backends::testing {

using runtime::testing::LoopRunner;

constexpr uint64_t kMiB = 1u << 20;
using Call = FileBlockDevice::Call;

struct TempPath {
  std::string path;
  TempPath() {
    char name[] = "/tmp/portico-file-backend-XXXXXX";
    const int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::close(fd);
    ::unlink(name);  // the backend creates it
    path = name;
  }
  ~TempPath() { ::unlink(path.c_str()); }
};

inline std::unique_ptr<FileBlockDevice> open_file(const std::string& path, uint64_t size = 8 * kMiB) {
  auto opened = FileBlockDevice::open(path, size, 512, true, path);
  EXPECT_TRUE(opened.ok()) << opened.status().message();
  return opened.ok() ? std::move(*opened) : nullptr;
}

// Runs a backend call on the loop thread (so it goes through io_uring) and waits for it.
inline IoStatus on_loop(LoopRunner& runner, const std::function<void(Executor&, IoCallback)>& start) {
  return wait_io([&](IoCallback done) {
    auto shared = std::make_shared<IoCallback>(std::move(done));
    runner.loop().post([&runner, &start, shared] { start(runner.loop(), std::move(*shared)); });
  });
}

// What a completion saw.
struct Observed {
  IoStatus status;
  bool after_return = false;  // the call that started it had returned
  bool on_loop = false;       // it ran on the loop's thread
};

// Makes a call from the loop's thread and waits for its completion.
inline Observed start_on_loop(LoopRunner& runner, const std::function<void(Executor&, IoCallback)>& start) {
  std::promise<Observed> observed;
  auto future = observed.get_future();
  runner.loop().post([&] {
    auto returned = std::make_shared<bool>(false);
    start(runner.loop(), [&runner, &observed, returned](IoStatus status) {
      observed.set_value({status, *returned, runner.loop().in_executor_thread()});
    });
    *returned = true;
  });
  return runtime::testing::get_within(future);
}

// The call succeeds, and completes on the loop after it has returned.
inline void expect_async_ok(LoopRunner& runner, const char* what,
                            const std::function<void(Executor&, IoCallback)>& start) {
  const Observed observed = start_on_loop(runner, start);
  EXPECT_TRUE(observed.status.ok()) << what << ": errno " << observed.status.error;
  EXPECT_TRUE(observed.after_return) << what << " completed inside the call";
  EXPECT_TRUE(observed.on_loop) << what << " completed off the loop";
}

// The loop's thread.
inline std::thread::id thread_of(LoopRunner& runner) {
  std::thread::id id;
  runner.run_on_loop([&] { id = std::this_thread::get_id(); });
  return id;
}

// Which thread made each system call or io_uring submission of a device; `fate` decides what the
// call does (0: goes ahead, else fails with that errno) and may wait, as a slow disk would.
class CallLog {
 public:
  explicit CallLog(std::function<int(Call)> fate = nullptr) : fate_(std::move(fate)) {}

  FileBlockDevice::Faults faults(size_t max_transfer_bytes = 0) {
    return FileBlockDevice::Faults{[this](Call call) { return record(call); }, max_transfer_bytes};
  }
  [[nodiscard]] std::vector<std::thread::id> threads_of(Call call) {
    std::lock_guard lock(mutex_);
    std::vector<std::thread::id> threads;
    for (const auto& [c, thread] : calls_) {
      if (c == call) threads.push_back(thread);
    }
    return threads;
  }
  [[nodiscard]] size_t count(Call call) { return threads_of(call).size(); }

 private:
  int record(Call call) {
    {
      std::lock_guard lock(mutex_);
      calls_.emplace_back(call, std::this_thread::get_id());
    }
    return fate_ ? fate_(call) : 0;
  }

  std::function<int(Call)> fate_;
  std::mutex mutex_;
  std::vector<std::pair<Call, std::thread::id>> calls_;
};

// A disk call held until the test opens the gate (at most 10 s, so a bug fails, not hangs).
class Gate {
 public:
  void pass() {
    if (!entered_flag_.exchange(true)) entered_.set_value();
    (void)opened_.wait_for(std::chrono::seconds(10));
  }
  [[nodiscard]] bool entered_within(std::chrono::milliseconds limit) {
    return entered_future_.wait_for(limit) == std::future_status::ready;
  }
  void open() { open_.set_value(); }

 private:
  std::atomic<bool> entered_flag_{false};
  std::promise<void> entered_;
  std::future<void> entered_future_ = entered_.get_future();
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
};

// Each of these calls was made, all on `expected` / none on `unexpected`.
inline void expect_all(const std::vector<std::thread::id>& threads, std::thread::id expected, const char* what) {
  EXPECT_FALSE(threads.empty()) << what << " was never made";
  for (const auto& thread : threads) EXPECT_EQ(thread, expected) << what;
}

inline void expect_none(const std::vector<std::thread::id>& threads, std::thread::id unexpected, const char* what) {
  EXPECT_FALSE(threads.empty()) << what << " was never made";
  for (const auto& thread : threads) EXPECT_NE(thread, unexpected) << what;
}

}  // namespace portico::backends::testing
