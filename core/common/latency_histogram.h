// A latency histogram that threads add to without a lock (relaxed atomics) and an exporter reads
// at a scrape: fixed bucket bounds, each bucket counting the samples of its own range.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace portico {

// Upper bounds in microseconds (a last bucket takes the rest): from a memory-backed read on a
// pinned core (~10 µs) to an OSD write stuck behind recovery or a notify waiting for its
// timeout (seconds).
inline constexpr std::array<uint32_t, 15> kLatencyBucketsUs = {10,    25,    50,    100,    250,    500,     1000,   2500,
                                                               5000,  10000, 25000, 100000, 500000, 2000000, 10000000};

struct LatencyHistogram {
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> sum_ns{0};
  std::array<std::atomic<uint64_t>, kLatencyBucketsUs.size() + 1> buckets{};  // not cumulative

  void add(uint64_t latency_ns) {
    count.fetch_add(1, std::memory_order_relaxed);
    sum_ns.fetch_add(latency_ns, std::memory_order_relaxed);
    buckets[bucket_of(latency_ns)].fetch_add(1, std::memory_order_relaxed);
  }
  // The first bucket whose bound is >= the latency (Prometheus buckets are "less or equal").
  static size_t bucket_of(uint64_t latency_ns) {
    size_t i = 0;
    while (i < kLatencyBucketsUs.size() && latency_ns > uint64_t{kLatencyBucketsUs[i]} * 1000) ++i;
    return i;
  }
};

}  // namespace portico
