// Where a completion runs. Every event loop is an Executor; a backend whose completions arrive on
// a foreign thread (librbd) hands them back with post() so that a connection's state is only ever
// touched by the loop that owns it.
#pragma once

#include <chrono>

#include "core/common/unique_function.h"

namespace portico {

class Executor {
 public:
  virtual ~Executor() = default;
  // Thread-safe: runs fn on this executor's thread, soon, never inline.
  virtual void post(UniqueFunction<void()> fn) = 0;
  // Runs fn on this executor's thread once `delay` has passed (for pacing long background work).
  // Called from this executor's own thread.
  virtual void post_after(std::chrono::milliseconds delay, UniqueFunction<void()> fn) = 0;
  // True when called from this executor's own thread.
  [[nodiscard]] virtual bool in_executor_thread() const = 0;
  // True when everything posted to this executor runs on one and the same thread (an event loop):
  // state that only its work touches needs no lock (a logical unit's per-loop task lists).
  [[nodiscard]] virtual bool single_threaded() const { return false; }
};

}  // namespace portico
