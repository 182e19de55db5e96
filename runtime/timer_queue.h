// One-shot timers for an event loop: a min-heap of deadlines. Cancelling only drops the callback;
// the stale heap entry is skipped when it comes up, which keeps cancel O(1) amortised.
// Not thread-safe: owned and used by one loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "core/common/unique_function.h"

namespace portico::runtime {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;  // 0 = none

  TimerId add(Clock::time_point deadline, UniqueFunction<void()> fn);
  // False when the timer already fired or was cancelled.
  bool cancel(TimerId id);

  // Runs every timer whose deadline is <= now, in deadline order (ties in creation order).
  // A callback may add or cancel timers.
  void run_expired(Clock::time_point now);

  // The earliest live deadline, if any.
  [[nodiscard]] std::optional<Clock::time_point> next_deadline();
  [[nodiscard]] size_t size() const { return callbacks_.size(); }

 private:
  struct Entry {
    Clock::time_point deadline;
    TimerId id;
    bool operator>(const Entry& o) const { return deadline != o.deadline ? deadline > o.deadline : id > o.id; }
  };

  void drop_cancelled_top();

  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::unordered_map<TimerId, UniqueFunction<void()>> callbacks_;
  TimerId next_id_ = 1;
};

}  // namespace portico::runtime
