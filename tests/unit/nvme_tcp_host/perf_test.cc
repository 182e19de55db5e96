// The load generator against the fake target: every command completes, the counts add up, and
// the result line has portico-loadgen's shape.
#include <gtest/gtest.h>

#include <regex>

#include "tests/unit/nvme_tcp_host/host_test_support.h"
#include "tools/nvme_tcp/perf.h"

namespace portico::nvme_host::test {
namespace {

TEST(Perf, RandomWriteThenSequentialRead_OnTwoQueuesCompletesEveryCommand) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target, 2, 4));
  ASSERT_TRUE(session.ok()) << session.status().message();

  PerfOptions options;
  options.pattern = AccessPattern::random_write;
  options.block_bytes = 4096;
  options.ios = 301;
  auto writes = run_perf(**session, options, 512, 256);
  ASSERT_TRUE(writes.ok()) << writes.status().message();
  EXPECT_EQ(writes->ios, 301u);
  EXPECT_EQ(writes->errors, 0u);
  EXPECT_EQ(writes->latency.count(), 301u);

  options.pattern = AccessPattern::sequential_read;
  options.block_bytes = 8192;
  options.ios = 64;
  auto reads = run_perf(**session, options, 512, 256);
  ASSERT_TRUE(reads.ok()) << reads.status().message();
  EXPECT_EQ(reads->ios, 64u);
  // Sequential: the two queues together walk the 16 units of the namespace in turn, 4 times.
  size_t reads_seen = 0;
  for (const auto& c : target.controller().commands()) reads_seen += c.sqe.opcode == 0x02 ? 1 : 0;
  EXPECT_EQ(reads_seen, 64u);

  const std::string line = format_perf_report(*reads);
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(iops=\d+ mibps=\d+\.\d p50_us=\d+\.\d p99_us=\d+\.\d p999_us=\d+\.\d ios=64 errors=0)")))
      << line;
}

TEST(Perf, ABlockSizeThatIsNotAMultipleOfTheLbaSizeIsRefused) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target));
  ASSERT_TRUE(session.ok()) << session.status().message();
  PerfOptions options;
  options.block_bytes = 1000;
  options.ios = 1;
  auto report = run_perf(**session, options, 512, 256);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("not a multiple of the block size 512"), std::string::npos);
}

}  // namespace
}  // namespace portico::nvme_host::test
