#include "backends/file/range_lock.h"

#include <utility>

namespace portico::backends {

uint64_t RangeLock::stripes_of(uint64_t offset, uint64_t length) {
  if (length == 0) return 0;
  const uint64_t first = offset / kStripeBytes;
  const uint64_t last = (offset + length - 1) / kStripeBytes;
  if (last - first + 1 >= kStripeCount) return ~uint64_t{0};
  uint64_t mask = 0;
  for (uint64_t stripe = first; stripe <= last; ++stripe) mask |= uint64_t{1} << (stripe % kStripeCount);
  return mask;
}

bool RangeLock::can_grant(uint64_t stripes, bool exclusive, uint64_t blocked_by_earlier) const {
  if ((stripes & exclusive_mask_) != 0 || (stripes & blocked_by_earlier) != 0) return false;
  if (!exclusive) return true;
  for (unsigned i = 0; i < kStripeCount; ++i) {
    if ((stripes >> i & 1) != 0 && shared_[i] != 0) return false;
  }
  return true;
}

void RangeLock::take(uint64_t stripes, bool exclusive) {
  if (exclusive) {
    exclusive_mask_ |= stripes;
    return;
  }
  for (unsigned i = 0; i < kStripeCount; ++i) {
    if ((stripes >> i & 1) != 0) ++shared_[i];
  }
}

void RangeLock::acquire(uint64_t stripes, bool exclusive, Executor& executor, UniqueFunction<void()> granted) {
  {
    const std::lock_guard lock(mutex_);
    // Stripes wanted by someone already waiting are not handed to a newcomer (no overtaking).
    uint64_t waited_on = 0;
    for (const Waiter& w : waiters_) waited_on |= w.stripes;
    if (!can_grant(stripes, exclusive, waited_on)) {
      waiters_.push_back(Waiter{stripes, exclusive, &executor, std::move(granted)});
      return;
    }
    take(stripes, exclusive);
  }
  granted();
}

void RangeLock::release(uint64_t stripes, bool exclusive) {
  std::vector<Waiter> ready;
  {
    const std::lock_guard lock(mutex_);
    if (exclusive) {
      exclusive_mask_ &= ~stripes;
    } else {
      for (unsigned i = 0; i < kStripeCount; ++i) {
        if ((stripes >> i & 1) != 0) --shared_[i];
      }
    }
    // Grant waiters in arrival order; one that must keep waiting holds its stripes against
    // those behind it.
    uint64_t blocked = 0;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (can_grant(it->stripes, it->exclusive, blocked)) {
        take(it->stripes, it->exclusive);
        ready.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        blocked |= it->stripes;
        ++it;
      }
    }
  }
  for (Waiter& w : ready) w.executor->post(std::move(w.granted));
}

}  // namespace portico::backends
