#include "runtime/peer_limits.h"

#include <algorithm>
#include <utility>

namespace portico::runtime {

bool ConnectionCounter::try_add(const std::string& address) {
  std::lock_guard lock(mutex_);
  unsigned& n = by_address_[address];
  if (n >= max_per_address_) {
    if (n == 0) by_address_.erase(address);
    return false;
  }
  ++n;
  return true;
}

void ConnectionCounter::remove(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  if (--it->second == 0) by_address_.erase(it);
}

unsigned ConnectionCounter::count(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(address);
  return it == by_address_.end() ? 0 : it->second;
}

std::chrono::milliseconds AuthFailureThrottle::record_failure(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxAddresses && entries_.find(address) == entries_.end()) {
    // Drop what has been forgotten anyway; if nothing has, the stalest entry.
    std::erase_if(entries_, [&](const auto& e) { return now - e.second.last > forget_after_; });
    if (entries_.size() >= kMaxAddresses) {
      auto stalest = std::min_element(entries_.begin(), entries_.end(),
                                      [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
      entries_.erase(stalest);
    }
  }
  Entry& e = entries_[address];
  if (e.failures > 0 && now - e.last > forget_after_) e.failures = 0;
  e.last = now;
  const unsigned shift = std::min(e.failures, 16u);
  ++e.failures;
  const auto delay = first_delay_ * (int64_t{1} << shift);
  return std::min<std::chrono::milliseconds>(delay, max_delay_);
}

std::string host_of(const std::string& address_with_port) {
  if (!address_with_port.empty() && address_with_port.front() == '[') {
    const size_t close = address_with_port.find(']');
    return close == std::string::npos ? address_with_port : address_with_port.substr(1, close - 1);
  }
  const size_t colon = address_with_port.rfind(':');
  if (colon == std::string::npos || address_with_port.find(':') != colon) return address_with_port;
  return address_with_port.substr(0, colon);
}

}  // namespace portico::runtime
