// The load generator behind `portico-nvme perf`: one thread per I/O queue, each keeping the
// queue's depth of Read or Write commands in flight (random or sequential offsets) and timing
// every one. The calling thread keeps the association alive (Keep Alive on the admin queue)
// while the workers run. The result line has portico-loadgen's form:
//   iops=… mibps=… p50_us=… p99_us=… p999_us=… ios=… errors=…
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/common/result.h"
#include "tools/nvme_tcp/controller_session.h"
#include "tools/nvme_tcp/latency_samples.h"

namespace portico::nvme_host {

enum class AccessPattern : uint8_t { random_read, random_write, sequential_read, sequential_write };

struct PerfOptions {
  AccessPattern pattern = AccessPattern::random_read;
  uint32_t block_bytes = 4096;  // bytes per command, a multiple of the namespace's block size
  uint32_t nsid = 1;
  std::chrono::milliseconds duration{10000};
  uint64_t ios = 0;         // stop after this many commands instead (all queues together); 0: by time
  uint64_t span_bytes = 0;  // use only the first bytes of the namespace; 0: all of it
  uint64_t seed = 1;
};

struct PerfReport {
  uint64_t ios = 0;  // completed commands
  uint64_t errors = 0;  // completed with an unsuccessful status
  double seconds = 0;
  uint32_t block_bytes = 0;
  LatencySamples latency;
  std::string first_error;  // the first unsuccessful status, for the log
};

// `block_size` and `namespace_blocks` come from Identify Namespace.
Result<PerfReport> run_perf(ControllerSession& session, const PerfOptions& options, uint32_t block_size,
                            uint64_t namespace_blocks);
std::string format_perf_report(PerfReport& report);

}  // namespace portico::nvme_host
