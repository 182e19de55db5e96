#include "tools/nvme_tcp/perf.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "tools/nvme_tcp/io_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host {
namespace {

using Clock = std::chrono::steady_clock;

// splitmix64: small, seedable, and good enough for offsets.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t elapsed_ns(Clock::time_point since) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count());
}

// What every worker shares: fixed before the threads start.
struct Plan {
  PerfOptions options;
  uint32_t blocks_per_io = 0;
  uint64_t units = 0;  // block_bytes-sized units in the span
  size_t workers = 0;
  Clock::time_point deadline;
};

struct WorkerResult {
  uint64_t ios = 0;
  uint64_t errors = 0;
  LatencySamples latency;
  std::string first_error;
  Status failure;
};

class Worker {
 public:
  Worker(Queue& queue, const Plan& plan, size_t index)
      : queue_(queue), plan_(plan), index_(index), rng_(plan.options.seed * 0x100000001B3ull + index) {
    const size_t slots = queue.depth();
    buffers_.assign(slots, std::vector<uint8_t>(plan.options.block_bytes, 0x5a));
    started_.resize(slots);
    quota_ = plan.options.ios == 0 ? UINT64_MAX
                                   : plan.options.ios / plan.workers + (index < plan.options.ios % plan.workers ? 1u : 0u);
  }

  WorkerResult run() {
    for (size_t slot = 0; slot < buffers_.size() && more(); ++slot) {
      if (!submit(slot)) return std::move(result_);
    }
    // Reap what has arrived, then send the replacements together: the next reap() flushes them
    // in one send, as Linux's host and libiscsi batch their submissions.
    while (queue_.in_flight() > 0) {
      auto done = queue_.reap();
      for (;;) {
        if (!done.ok()) {
          result_.failure = done.status();
          return std::move(result_);
        }
        record(*done);
        if (more() && !submit(static_cast<size_t>(done->tag))) return std::move(result_);
        auto next = queue_.try_reap();
        if (!next) break;
        done = std::move(*next);
      }
    }
    if (Status s = queue_.flush(); !s.ok() && result_.failure.ok()) result_.failure = s;
    return std::move(result_);
  }

 private:
  [[nodiscard]] bool more() const { return issued_ < quota_ && Clock::now() < plan_.deadline; }

  uint64_t next_unit() {
    if (plan_.options.pattern == AccessPattern::random_read || plan_.options.pattern == AccessPattern::random_write) {
      return next_random(rng_) % plan_.units;
    }
    // Sequential: the queues take turns through the span, so together they stream it in order.
    return (index_ + issued_ * plan_.workers) % plan_.units;
  }

  bool submit(size_t slot) {
    const LbaRange range{plan_.options.nsid, next_unit() * plan_.blocks_per_io, plan_.blocks_per_io};
    const bool writing = plan_.options.pattern == AccessPattern::random_write ||
                         plan_.options.pattern == AccessPattern::sequential_write;
    Command command = writing ? write_command(range, buffers_[slot]) : read_command(range, buffers_[slot]);
    command.tag = slot;
    started_[slot] = Clock::now();
    ++issued_;
    auto cid = queue_.submit_later(command);
    if (!cid.ok()) result_.failure = cid.status();
    return cid.ok();
  }

  void record(const Completion& done) {
    result_.latency.add(elapsed_ns(started_[done.tag]));
    ++result_.ios;
    if (done.ok()) return;
    if (result_.errors++ == 0) result_.first_error = queue_.name() + ": " + describe_status(done.cqe.status);
  }

  Queue& queue_;
  const Plan& plan_;
  size_t index_;
  uint64_t rng_;
  uint64_t quota_ = 0;
  uint64_t issued_ = 0;
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<Clock::time_point> started_;
  WorkerResult result_;
};

Result<Plan> make_plan(const ControllerSession& session, const PerfOptions& options, uint32_t block_size,
                       uint64_t namespace_blocks) {
  Plan plan;
  plan.options = options;
  plan.workers = session.io_queue_count();
  if (plan.workers == 0) return error(ErrorCode::invalid_argument, "perf: the session has no I/O queue");
  if (block_size == 0 || options.block_bytes == 0 || options.block_bytes % block_size != 0) {
    return error(ErrorCode::invalid_argument, "perf: --bs " + std::to_string(options.block_bytes) +
                                                  " is not a multiple of the block size " +
                                                  std::to_string(block_size));
  }
  plan.blocks_per_io = options.block_bytes / block_size;
  if (plan.blocks_per_io > kMaxBlocksPerCommand) {
    return error(ErrorCode::invalid_argument, "perf: --bs is above 65536 blocks, one command's most");
  }
  uint64_t span_blocks = namespace_blocks;
  if (options.span_bytes != 0) span_blocks = std::min(span_blocks, options.span_bytes / block_size);
  plan.units = span_blocks / plan.blocks_per_io;
  if (plan.units == 0) return error(ErrorCode::invalid_argument, "perf: the namespace (or --size) is smaller than --bs");
  return plan;
}

}  // namespace

Result<PerfReport> run_perf(ControllerSession& session, const PerfOptions& options, uint32_t block_size,
                            uint64_t namespace_blocks) {
  auto plan = make_plan(session, options, block_size, namespace_blocks);
  if (!plan.ok()) return plan.status();
  const Clock::time_point start = Clock::now();
  plan->deadline = options.ios != 0 ? Clock::time_point::max() : start + options.duration;

  std::vector<WorkerResult> results(plan->workers);
  std::mutex mutex;
  std::condition_variable finished;
  size_t running = plan->workers;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < plan->workers; ++i) {
    threads.emplace_back([&, i] {
      results[i] = Worker(session.io(i), *plan, i).run();
      std::lock_guard lock(mutex);
      --running;
      finished.notify_one();
    });
  }
  // The admin queue is this thread's alone while the workers own the I/O queues.
  Status keep_alive;
  {
    std::unique_lock lock(mutex);
    while (running > 0) {
      finished.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      if (keep_alive.ok()) keep_alive = session.keep_alive_if_due();
      lock.lock();
    }
  }
  for (auto& t : threads) t.join();

  PerfReport report;
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.block_bytes = options.block_bytes;
  for (WorkerResult& r : results) {
    if (!r.failure.ok()) return r.failure;
    report.ios += r.ios;
    report.errors += r.errors;
    report.latency.merge(r.latency);
    if (report.first_error.empty()) report.first_error = r.first_error;
  }
  if (!keep_alive.ok()) return keep_alive;
  return report;
}

std::string format_perf_report(PerfReport& report) {
  const double seconds = report.seconds > 0 ? report.seconds : 1e-9;
  const auto ok = static_cast<double>(report.ios - report.errors);
  char line[256];
  std::snprintf(line, sizeof line,
                "iops=%.0f mibps=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f ios=%llu errors=%llu",
                static_cast<double>(report.ios) / seconds, ok * report.block_bytes / seconds / 1048576.0,
                report.latency.percentile_us(50.0), report.latency.percentile_us(99.0),
                report.latency.percentile_us(99.9), static_cast<unsigned long long>(report.ios),
                static_cast<unsigned long long>(report.errors));
  return line;
}

}  // namespace portico::nvme_host
