// Blocking librbd calls of many owners on a few shared threads. Each owner (an RBD image) posts
// through its own WorkQueue, which runs its work in order, one item at a time, on whichever
// thread of the WorkerPool is free; the owner can drain or drop its queue alone. A gateway with
// thousands of images then has a pool of threads, not a thread per image.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portico::ceph {

class WorkerPool {
 public:
  WorkerPool(const std::string& name, size_t threads);
  ~WorkerPool();  // runs nothing more; joins the threads after the items they are running
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `work` on one of the threads; false (and `work` dropped) once the pool is stopping.
  bool submit(std::function<void()> work);
  [[nodiscard]] size_t threads() const { return threads_.size(); }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class WorkQueue {
 public:
  explicit WorkQueue(std::shared_ptr<WorkerPool> pool);
  ~WorkQueue();  // stop()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `work` behind this queue's earlier items; false (and `work` dropped) once stopped.
  bool post(std::function<void()> work);
  // Waits until every item posted so far has run, then refuses later posts: for owners whose
  // work must complete exactly once. Not from an item of this queue.
  void drain_and_stop();
  // Drops the items not yet started and waits for the one running (unless called from it).
  void stop();

 private:
  struct State;
  std::shared_ptr<WorkerPool> pool_;
  std::shared_ptr<State> state_;  // shared with the pool's items, which may outlive a stop()
};

}  // namespace portico::ceph
