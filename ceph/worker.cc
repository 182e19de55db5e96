#include "ceph/worker.h"

#include <pthread.h>

#include <condition_variable>
#include <map>
#include <mutex>

namespace portico::ceph {

struct Worker::State {
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  bool draining = false;  // run what is queued at once, then end
  uint64_t sequence = 0;
  std::multimap<std::pair<std::chrono::steady_clock::time_point, uint64_t>, std::function<void()>> queue;

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (queue.empty()) {
        if (draining) return;
        wake.wait(lock);
        continue;
      }
      const auto due = queue.begin()->first.first;
      if (!draining && std::chrono::steady_clock::now() < due) {
        wake.wait_until(lock, due);
        continue;
      }
      auto work = std::move(queue.begin()->second);
      queue.erase(queue.begin());
      lock.unlock();
      work();
      work = nullptr;  // captured state dies outside the lock
      lock.lock();
    }
  }
};

Worker::Worker(const std::string& name) : state_(std::make_shared<State>()) {
  thread_ = std::thread([state = state_]() { state->run(); });
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

Worker::~Worker() { stop(); }

bool Worker::post(std::function<void()> work, std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return false;
    state_->queue.emplace(std::make_pair(std::chrono::steady_clock::now() + delay, state_->sequence++),
                          std::move(work));
  }
  state_->wake.notify_one();
  return true;
}

void Worker::drain_and_stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->draining = true;
  }
  state_->wake.notify_one();
  if (thread_.joinable()) thread_.join();
  stop();  // refuses later posts
}

void Worker::stop() {
  decltype(state_->queue) dropped;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    dropped.swap(state_->queue);
  }
  state_->wake.notify_one();
  dropped.clear();  // captured state dies outside the lock
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // the loop ends when this task returns; it owns the state it uses
  } else {
    thread_.join();
  }
}

}  // namespace portico::ceph
