// Threads for the system calls that cannot go through an event loop's ring without blocking it
// (block-device ioctls on Linux 6.1, lseek SEEK_DATA / SEEK_HOLE): a loop hands the call to the
// pool and never waits; the task posts its result back to the caller's executor, the way librbd's
// completions are posted (STYLE.md, "Asynchrony").
//
// Threads start when work arrives and nobody is idle, up to `max_threads`; beyond that, work
// queues in arrival order. Every task runs exactly once: stop() runs what is queued before it
// joins, and work handed over after stop() runs on the caller's thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/unique_function.h"

namespace portico::runtime {

class WorkerPool {
 public:
  WorkerPool(std::string name, unsigned max_threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Thread-safe. Not from a task of this pool once stop() has begun.
  void run(UniqueFunction<void()> work);
  // Runs the queued work, then joins every thread; idempotent. Not from a task of this pool.
  void stop();

  // Threads started so far (for tests).
  [[nodiscard]] size_t threads();

 private:
  void work_loop();

  const std::string name_;
  const unsigned max_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<UniqueFunction<void()>> queue_;
  unsigned idle_ = 0;
  size_t started_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace portico::runtime
