// One background thread for the librados / librbd calls that block (blocklisting, re-establishing
// watches, membership reads, RBD allocation queries): callers post work and never wait. Work may
// be delayed (backoff).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace portico::ceph {

class Worker {
 public:
  explicit Worker(const std::string& name);
  ~Worker();  // stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // False (and `work` dropped unrun) once stopped.
  bool post(std::function<void()> work, std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Drops pending work and ends the thread after the task that is running (joined, unless
  // called from that very task).
  void stop();
  // Runs all pending work now (delays no longer count), then ends the thread and joins it: for
  // owners whose work must complete exactly once. Not from a task of this worker.
  void drain_and_stop();

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the thread, so a task may drop the last owner
  std::thread thread_;
};

}  // namespace portico::ceph
