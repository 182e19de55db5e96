// An executor that runs everything at once on the caller's thread: for acknowledgements that
// must happen wherever the last aborted task ends (AbortWaiter posts to an executor).
#pragma once

#include "core/executor.h"

namespace portico {

class InlineExecutor final : public Executor {
 public:
  static InlineExecutor& instance() {
    static InlineExecutor executor;
    return executor;
  }
  void post(UniqueFunction<void()> fn) override { fn(); }
  void post_after(std::chrono::milliseconds, UniqueFunction<void()> fn) override { fn(); }  // never paced
  [[nodiscard]] bool in_executor_thread() const override { return true; }
};

}  // namespace portico
