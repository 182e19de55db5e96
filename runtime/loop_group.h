// N event loops, one thread each ("portico-io-N"). Loops exist before start(), so work can be
// posted to them during set-up; it runs once the threads start.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/common/result.h"
#include "runtime/event_loop.h"

namespace portico::runtime {

class LoopGroup {
 public:
  static Result<std::unique_ptr<LoopGroup>> create(unsigned n, unsigned queue_depth = 1024);
  ~LoopGroup();
  LoopGroup(const LoopGroup&) = delete;
  LoopGroup& operator=(const LoopGroup&) = delete;

  [[nodiscard]] size_t size() const { return loops_.size(); }
  EventLoop& loop(size_t i) { return *loops_[i]; }

  void start();
  // Stops every loop and joins its thread; idempotent.
  void stop();

 private:
  LoopGroup() = default;

  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  bool started_ = false;
};

}  // namespace portico::runtime
