#include "runtime/timer_queue.h"

#include <utility>

namespace portico::runtime {

TimerQueue::TimerId TimerQueue::add(Clock::time_point deadline, UniqueFunction<void()> fn) {
  TimerId id = next_id_++;
  heap_.push(Entry{deadline, id});
  callbacks_.emplace(id, std::move(fn));
  return id;
}

bool TimerQueue::cancel(TimerId id) { return id != 0 && callbacks_.erase(id) > 0; }

void TimerQueue::drop_cancelled_top() {
  while (!heap_.empty() && !callbacks_.contains(heap_.top().id)) heap_.pop();
}

void TimerQueue::run_expired(Clock::time_point now) {
  for (;;) {
    drop_cancelled_top();
    if (heap_.empty() || heap_.top().deadline > now) return;
    TimerId id = heap_.top().id;
    heap_.pop();
    auto it = callbacks_.find(id);
    if (it == callbacks_.end()) continue;  // cannot happen after drop_cancelled_top()
    auto fn = std::move(it->second);
    // Erased before the call: the callback may cancel its own id or add timers.
    callbacks_.erase(it);
    fn();
  }
}

std::optional<TimerQueue::Clock::time_point> TimerQueue::next_deadline() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().deadline;
}

}  // namespace portico::runtime
