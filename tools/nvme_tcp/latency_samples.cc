#include "tools/nvme_tcp/latency_samples.h"

#include <algorithm>

namespace portico::nvme_host {

void LatencySamples::add(uint64_t ns) {
  ns_.push_back(static_cast<uint32_t>(std::min<uint64_t>(ns, UINT32_MAX)));
  sorted_ = false;
}

void LatencySamples::merge(const LatencySamples& other) {
  ns_.insert(ns_.end(), other.ns_.begin(), other.ns_.end());
  sorted_ = false;
}

double LatencySamples::percentile_us(double pct) {
  if (ns_.empty()) return 0.0;
  if (!sorted_) {
    std::sort(ns_.begin(), ns_.end());
    sorted_ = true;
  }
  auto rank = static_cast<size_t>(pct / 100.0 * static_cast<double>(ns_.size()) + 0.5);
  rank = std::clamp<size_t>(rank, 1, ns_.size());
  return static_cast<double>(ns_[rank - 1]) / 1000.0;
}

}  // namespace portico::nvme_host
