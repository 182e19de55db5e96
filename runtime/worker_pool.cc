#include "runtime/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace portico::runtime {

WorkerPool::WorkerPool(std::string name, unsigned max_threads)
    : name_(std::move(name)), max_threads_(std::max(max_threads, 1u)) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::run(UniqueFunction<void()> work) {
  {
    std::unique_lock lock(mutex_);
    if (stopping_) {
      lock.unlock();
      work();
      return;
    }
    queue_.push_back(std::move(work));
    if (idle_ == 0 && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { work_loop(); });
      ++started_;
      pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
      return;  // the new thread finds the work without a wake-up
    }
  }
  wake_.notify_one();
}

void WorkerPool::work_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      ++idle_;
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_;
      continue;
    }
    UniqueFunction<void()> work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    work();
    work = nullptr;  // what the task captured dies outside the lock
    lock.lock();
  }
}

void WorkerPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

size_t WorkerPool::threads() {
  std::lock_guard lock(mutex_);
  return started_;
}

}  // namespace portico::runtime
