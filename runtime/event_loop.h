// One io_uring ring driven by one thread: the unit of concurrency of the data path (STYLE.md,
// "Asynchrony"). A connection lives on one loop for its whole life; other threads talk to a loop
// only through post().
//
// Every I/O method queues one SQE; submissions are batched and sent to the kernel once per loop
// iteration (io_uring_submit_and_wait_timeout), and completions are drained in batches. A
// completion receives the CQE result: >= 0 on success, -errno on failure. Completions always run
// on the loop's thread, never inline in the call that started the operation. Buffers, iovecs and
// msghdrs passed in must stay valid until the completion has run.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/common/result.h"
#include "core/common/unique_function.h"
#include "core/executor.h"
#include "runtime/op_pool.h"
#include "runtime/timer_queue.h"

namespace portico::runtime {

class EventLoop final : public portico::Executor {
 public:
  using Completion = UniqueFunction<void(int)>;
  using TimerId = TimerQueue::TimerId;  // 0 = none

  static Result<std::unique_ptr<EventLoop>> create(unsigned queue_depth = 1024);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // The loop running on the calling thread, or nullptr.
  static EventLoop* current();

  // Runs on the calling thread until stop(). A loop stopped before run() returns at once.
  void run();
  // Thread-safe.
  void stop();

  // Thread-safe. From the loop's own thread this costs no syscall.
  void post(UniqueFunction<void()> fn) override;
  [[nodiscard]] bool in_executor_thread() const override;
  [[nodiscard]] bool single_threaded() const override { return true; }

  void accept(int fd, Completion done);
  void recv(int fd, std::span<uint8_t> buffer, Completion done);
  void send(int fd, std::span<const uint8_t> buffer, Completion done);
  void sendmsg(int fd, const msghdr* message, Completion done);
  void read(int fd, std::span<uint8_t> buffer, uint64_t offset, Completion done);
  void write(int fd, std::span<const uint8_t> buffer, uint64_t offset, Completion done);
  void readv(int fd, const iovec* iov, unsigned count, uint64_t offset, Completion done);
  void writev(int fd, const iovec* iov, unsigned count, uint64_t offset, Completion done);
  // RWF_* flags (e.g. RWF_DSYNC for a FUA write).
  void writev_flags(int fd, const iovec* iov, unsigned count, uint64_t offset, int rw_flags, Completion done);
  void fsync(int fd, bool datasync, Completion done);
  void fallocate(int fd, int mode, uint64_t offset, uint64_t length, Completion done);
  // One-shot readiness: completes with the ready events (POLLIN, ...) once `fd` has one of
  // `events` (a character device such as /dev/uioN, a netlink socket).
  void poll(int fd, unsigned events, Completion done);
  // Cancels every pending operation on fd; each completes with -ECANCELED or its natural result.
  void cancel_fd(int fd);

  void post_after(std::chrono::milliseconds delay, UniqueFunction<void()> fn) override {
    schedule_after(delay, std::move(fn));
  }
  TimerId schedule_after(std::chrono::milliseconds delay, UniqueFunction<void()> fn);
  // No-op when the timer already fired or was cancelled.
  void cancel_timer(TimerId id);

  // Operations submitted and not yet completed (for tests and stats).
  [[nodiscard]] size_t pending_ops() const { return ops_.in_use(); }

 private:
  EventLoop() = default;

  io_uring_sqe* next_sqe();
  io_uring_sqe* prepare(Completion done);  // an SQE whose user_data is a fresh op record
  void arm_wakeup();
  void wake();
  void run_posted();
  void run_iteration();
  void process_completions();
  void stash_completions();

  io_uring ring_{};
  bool ring_ready_ = false;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;  // target of the pending eventfd read

  OpPool<Completion> ops_;
  TimerQueue timers_;

  // Tasks posted from other threads: swapped out in one go under the mutex.
  std::mutex remote_mutex_;
  std::vector<UniqueFunction<void()>> remote_tasks_;
  std::atomic<bool> remote_pending_{false};
  // True while an eventfd write is outstanding: later posters skip the syscall.
  std::atomic<bool> wake_armed_{false};
  // Tasks posted from the loop's own thread: no lock, no syscall.
  std::vector<UniqueFunction<void()>> local_tasks_;
  std::vector<UniqueFunction<void()>> running_tasks_;
  std::vector<UniqueFunction<void()>> remote_batch_;

  struct Completed {
    uint64_t user_data;
    int result;
  };
  std::vector<Completed> completed_;

  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace portico::runtime
