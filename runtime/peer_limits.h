// Bounds on what peers that have not proven who they are can cost a gateway: connections per
// source address and a growing delay after failed authentications from one address (the log
// lines they cause are limited by core/common/log_rate_limiter.h). Shared by the loops of one
// front-end; every method is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portico::runtime {

// Connection counts by source address (the host part only: ports differ per connection).
class ConnectionCounter {
 public:
  explicit ConnectionCounter(unsigned max_per_address) : max_per_address_(max_per_address) {}

  // Counts a new connection from `address`; false (and nothing counted) beyond the cap.
  bool try_add(const std::string& address);
  void remove(const std::string& address);
  [[nodiscard]] unsigned count(const std::string& address) const;

 private:
  const unsigned max_per_address_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, unsigned> by_address_;
};

// A delay before answering a failed authentication that doubles with each failure from the same
// address (1 s, 2 s, 4 s, ... up to `max_delay`) and is forgotten after `forget_after` without a
// failure. With the per-address connection cap this bounds how fast one host can guess secrets.
class AuthFailureThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AuthFailureThrottle(std::chrono::milliseconds first_delay = std::chrono::seconds(1),
                               std::chrono::milliseconds max_delay = std::chrono::seconds(16),
                               std::chrono::seconds forget_after = std::chrono::seconds(300))
      : first_delay_(first_delay), max_delay_(max_delay), forget_after_(forget_after) {}

  // Records a failure from `address`; returns how long to wait before answering it.
  std::chrono::milliseconds record_failure(const std::string& address, Clock::time_point now = Clock::now());

 private:
  struct Entry {
    unsigned failures = 0;
    Clock::time_point last{};
  };
  static constexpr size_t kMaxAddresses = 4096;  // beyond it the stalest entries go

  const std::chrono::milliseconds first_delay_;
  const std::chrono::milliseconds max_delay_;
  const std::chrono::seconds forget_after_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

// The host part of "host:port" or "[v6]:port", for per-address accounting.
std::string host_of(const std::string& address_with_port);

}  // namespace portico::runtime
