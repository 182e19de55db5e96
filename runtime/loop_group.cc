#include "runtime/loop_group.h"

#include <pthread.h>

#include <string>

namespace portico::runtime {

Result<std::unique_ptr<LoopGroup>> LoopGroup::create(unsigned n, unsigned queue_depth) {
  if (n == 0 || n > 1024) {
    return error(ErrorCode::invalid_argument, "loop group: " + std::to_string(n) + " loops, want 1..1024");
  }
  std::unique_ptr<LoopGroup> group(new LoopGroup());
  for (unsigned i = 0; i < n; ++i) {
    auto loop = EventLoop::create(queue_depth);
    if (!loop.ok()) return loop.status();
    group->loops_.push_back(std::move(*loop));
  }
  return group;
}

LoopGroup::~LoopGroup() { stop(); }

void LoopGroup::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  for (size_t i = 0; i < loops_.size(); ++i) {
    EventLoop* loop = loops_[i].get();
    threads_.emplace_back([loop, i]() {
      // Linux limits thread names to 15 characters.
      std::string name = "portico-io-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      loop->run();
    });
  }
}

void LoopGroup::stop() {
  std::lock_guard lock(mutex_);
  for (auto& loop : loops_) loop->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

}  // namespace portico::runtime
