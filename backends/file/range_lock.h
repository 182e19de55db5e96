// A non-blocking reader-writer lock over byte ranges of a device, for backends whose I/O is
// asynchronous: nothing ever sleeps on it. A request that cannot be granted at once is queued and
// its continuation posted to the requester's executor when the conflicting holders release.
//
// Why: COMPARE AND WRITE must be atomic against every other write to its range (SBC-4 5.3), but
// the writes are io_uring operations in flight in the kernel, on several loops. Ordinary reads and
// writes take the range shared, compare-and-write takes it exclusively; a queued exclusive request
// blocks later shared ones on the same stripes, so a stream of writes cannot starve it.
//
// Ranges map to stripes of kStripeBytes; a request covers every stripe it touches (at most
// kMaxStripes of them; larger requests lock the whole device, which stays correct).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "core/common/unique_function.h"
#include "core/executor.h"

namespace portico::backends {

class RangeLock {
 public:
  static constexpr uint64_t kStripeBytes = 1u << 20;
  static constexpr unsigned kStripeCount = 64;

  // Which stripes a range covers, as a bit mask.
  [[nodiscard]] static uint64_t stripes_of(uint64_t offset, uint64_t length);

  // Runs `granted` inline when the stripes are free, else later on `executor`.
  void acquire(uint64_t stripes, bool exclusive, Executor& executor, UniqueFunction<void()> granted);
  void release(uint64_t stripes, bool exclusive);

 private:
  struct Waiter {
    uint64_t stripes;
    bool exclusive;
    Executor* executor;
    UniqueFunction<void()> granted;
  };

  [[nodiscard]] bool can_grant(uint64_t stripes, bool exclusive, uint64_t blocked_by_earlier) const;
  void take(uint64_t stripes, bool exclusive);

  std::mutex mutex_;
  unsigned shared_[kStripeCount] = {};
  uint64_t exclusive_mask_ = 0;
  std::deque<Waiter> waiters_;
};

}  // namespace portico::backends
