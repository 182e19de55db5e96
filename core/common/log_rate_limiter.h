// A rate limit for log lines that a flood could otherwise multiply: peers that have not logged
// in, a backend failing every command at once. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace portico {

// At most `per_second` log lines per second (a burst of as many); `allow` says whether this one
// may be written, and how many were suppressed since the last one written.
class LogRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogRateLimiter(unsigned per_second = 1) : per_second_(per_second) {}

  struct Decision {
    bool write = false;
    uint64_t suppressed_before = 0;  // lines dropped since the last written one
  };
  Decision allow(Clock::time_point now = Clock::now());

 private:
  const unsigned per_second_;
  std::mutex mutex_;
  Clock::time_point window_start_{};
  unsigned written_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

// " (N similar lines suppressed)" for a LogRateLimiter's count, or "" when there were none.
std::string suppressed_note(uint64_t suppressed);

}  // namespace portico
