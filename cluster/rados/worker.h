// One background thread for everything that blocks on librados (blocklisting, re-establishing
// watches, membership reads): callers post work and never wait. Work may be delayed (backoff).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace portico::cluster::rados {

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

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the thread, so a task may drop the last owner
  std::thread thread_;
};

}  // namespace portico::cluster::rados
