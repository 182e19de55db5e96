#include "ceph/work_queue.h"

#include <pthread.h>

namespace portico::ceph {

WorkerPool::WorkerPool(const std::string& name, size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([this]() {
      std::unique_lock lock(mutex_);
      while (true) {
        wake_.wait(lock, [this]() { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto work = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        work();
        work = nullptr;  // captured state dies outside the lock
        lock.lock();
      }
    });
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
  }
}

WorkerPool::~WorkerPool() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  dropped.clear();
  for (auto& thread : threads_) thread.join();
}

bool WorkerPool::submit(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(work));
  }
  wake_.notify_one();
  return true;
}

struct WorkQueue::State {
  std::mutex mutex;
  std::condition_variable idle;
  std::deque<std::function<void()>> items;
  bool scheduled = false;  // a pool item is running (or about to run) this queue's items
  bool stopping = false;
  std::thread::id running_on;  // the thread running an item now, if any

  // One pool item runs this queue's items until it is empty: they stay in order and never
  // run two at a time, and a busy queue takes one pool thread, not all of them.
  void run() {
    std::unique_lock lock(mutex);
    while (!items.empty()) {
      auto work = std::move(items.front());
      items.pop_front();
      running_on = std::this_thread::get_id();
      lock.unlock();
      work();
      work = nullptr;
      lock.lock();
      running_on = {};
    }
    scheduled = false;
    idle.notify_all();
  }
};

WorkQueue::WorkQueue(std::shared_ptr<WorkerPool> pool) : pool_(std::move(pool)), state_(std::make_shared<State>()) {}

WorkQueue::~WorkQueue() { stop(); }

bool WorkQueue::post(std::function<void()> work) {
  std::unique_lock lock(state_->mutex);
  if (state_->stopping) return false;
  state_->items.push_back(std::move(work));
  if (state_->scheduled) return true;
  state_->scheduled = true;
  lock.unlock();
  if (pool_->submit([state = state_]() { state->run(); })) return true;
  // The pool is stopping: nothing will run what is queued.
  lock.lock();
  state_->items.clear();
  state_->scheduled = false;
  state_->idle.notify_all();
  return false;
}

void WorkQueue::drain_and_stop() {
  std::unique_lock lock(state_->mutex);
  state_->idle.wait(lock, [this]() { return !state_->scheduled; });
  state_->stopping = true;
}

void WorkQueue::stop() {
  std::deque<std::function<void()>> dropped;
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  dropped.swap(state_->items);
  if (state_->running_on != std::this_thread::get_id()) {
    state_->idle.wait(lock, [this]() { return !state_->scheduled; });
  }
  lock.unlock();
  dropped.clear();  // captured state dies outside the lock
}

}  // namespace portico::ceph
