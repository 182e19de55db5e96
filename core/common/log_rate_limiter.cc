#include "core/common/log_rate_limiter.h"

#include <utility>

namespace portico {

LogRateLimiter::Decision LogRateLimiter::allow(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    written_in_window_ = 0;
  }
  if (written_in_window_ >= per_second_) {
    ++suppressed_;
    return {};
  }
  ++written_in_window_;
  return {true, std::exchange(suppressed_, 0)};
}

std::string suppressed_note(uint64_t suppressed) {
  return suppressed == 0 ? std::string() : " (" + std::to_string(suppressed) + " similar lines suppressed)";
}

}  // namespace portico
