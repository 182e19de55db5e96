// What a clustered gateway counts about the cluster for the metrics endpoint: events it
// published and received over watch/notify, how long a notify took to be acknowledged by every
// gateway, and gateways it fenced. (Leases are read from the membership records at a scrape.)
#pragma once

#include <atomic>
#include <cstdint>

#include "core/common/latency_histogram.h"

namespace portico {

struct ClusterMetrics {
  std::atomic<uint64_t> events_published{0};
  std::atomic<uint64_t> events_publish_failed{0};  // not applied everywhere (the caller got an error)
  std::atomic<uint64_t> events_received{0};
  std::atomic<uint64_t> events_refused{0};          // received but undecodable: the unit stopped serving
  LatencyHistogram notify_round_trip;               // publish to every watcher's acknowledgement
  std::atomic<uint64_t> gateways_fenced{0};         // blocklist entries this gateway added
  std::atomic<uint64_t> fencing_failures{0};
};

}  // namespace portico
