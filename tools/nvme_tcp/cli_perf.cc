// portico-nvme perf: the load generator's command line.
#include <sched.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "tools/nvme_tcp/cli_commands.h"
#include "tools/nvme_tcp/perf.h"

namespace portico::nvme_host::cli {
namespace {

struct PerfCli {
  ConnectionArgs connection;
  std::string pattern = "randread";
  std::string block_size = "4096";
  uint32_t depth = 1;
  uint32_t queues = 1;
  double seconds = 10;
  uint64_t ios = 0;
  std::string size;
  uint64_t seed = 1;
  uint32_t nsid = 1;
  int cpu = -1;
};

// The whole process, so that the worker threads started later inherit it.
Status pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    return error(ErrorCode::invalid_argument, "--cpu " + std::to_string(cpu) + ": " + std::strerror(errno));
  }
  return {};
}

int run(const PerfCli& args) {
  if (args.cpu >= 0) {
    if (Status s = pin_to_cpu(args.cpu); !s.ok()) return fail(s);
  }
  PerfOptions options;
  const std::map<std::string, AccessPattern> patterns{{"randread", AccessPattern::random_read},
                                                      {"randwrite", AccessPattern::random_write},
                                                      {"read", AccessPattern::sequential_read},
                                                      {"write", AccessPattern::sequential_write}};
  options.pattern = patterns.at(args.pattern);
  auto bs = parse_size(args.block_size);
  if (!bs || *bs == 0 || *bs > UINT32_MAX) return fail("bad --bs '" + args.block_size + "'");
  options.block_bytes = static_cast<uint32_t>(*bs);
  if (!args.size.empty()) {
    auto span = parse_size(args.size);
    if (!span) return fail("bad --size '" + args.size + "'");
    options.span_bytes = *span;
  }
  options.nsid = args.nsid;
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(args.seconds * 1000));
  options.ios = args.ios;
  options.seed = args.seed;
  return with_session(args.connection, static_cast<uint16_t>(args.queues), static_cast<uint16_t>(args.depth),
                      [&](ControllerSession& session) {
                        if (session.io_queue_count() < args.queues) {
                          std::fprintf(stderr, "portico-nvme: the controller granted %zu I/O queues of %u\n",
                                       session.io_queue_count(), args.queues);
                        }
                        auto ns = namespace_of(session, args.nsid);
                        if (!ns.ok()) return fail(ns.status());
                        auto report = run_perf(session, options, ns->block_size, ns->size_blocks);
                        if (!report.ok()) return fail(report.status());
                        std::printf("%s\n", format_perf_report(*report).c_str());
                        std::fflush(stdout);
                        if (report->errors != 0) return fail("first error: " + report->first_error);
                        return 0;
                      });
}

}  // namespace

void add_perf_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<PerfCli>();
  CLI::App* perf = app.add_subcommand("perf", "Load generator: prints iops, MiB/s and p50/p99/p99.9 latency");
  add_connection_options(*perf, args->connection);
  perf->add_option("--rw", args->pattern, "Access pattern")
      ->capture_default_str()
      ->check(CLI::IsMember({"randread", "randwrite", "read", "write"}));
  perf->add_option("--bs", args->block_size, "I/O size, a multiple of the block size (4096, 4k, 1M)")
      ->capture_default_str();
  perf->add_option("--qd", args->depth, "Commands in flight per queue")->capture_default_str()->check(CLI::Range(1, 1024));
  perf->add_option("--queues", args->queues, "I/O queues, one thread each")->capture_default_str()->check(
      CLI::Range(1, 256));
  perf->add_option("--seconds", args->seconds, "Run time")->capture_default_str()->check(CLI::PositiveNumber);
  perf->add_option("--ios", args->ios, "Stop after this many commands instead of a time limit");
  perf->add_option("--size", args->size, "Use only the first SIZE bytes of the namespace");
  perf->add_option("--seed", args->seed, "Random offsets seed")->capture_default_str();
  perf->add_option("--nsid", args->nsid, "Namespace")->capture_default_str();
  perf->add_option("--cpu", args->cpu, "Pin the process to this CPU (sched_setaffinity)")->check(CLI::NonNegativeNumber);
  perf->callback([&action, args] { action = [args] { return run(*args); }; });
}

}  // namespace portico::nvme_host::cli
