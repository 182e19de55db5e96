// One thread for the librbd calls that have no asynchronous form (allocation queries): event
// loops hand them over instead of blocking. Jobs run in order; the destructor runs the jobs
// still queued, then joins, so every job's completion is delivered exactly once.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace portico::backends {

class MetadataWorker {
 public:
  explicit MetadataWorker(std::string name);
  ~MetadataWorker();
  MetadataWorker(const MetadataWorker&) = delete;
  MetadataWorker& operator=(const MetadataWorker&) = delete;

  void post(std::function<void()> job);

 private:
  void run();

  std::string name_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace portico::backends
