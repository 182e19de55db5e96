// The collector against a real SCSI unit on the in-memory cluster: commands run through the core
// show up per transport and operation with their bytes, errors and latency, reservation changes
// and task management functions per LUN; the text is what Prometheus' format asks for.
#include "metrics/gateway_collector.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "tests/unit/core/test_fixtures.h"

namespace portico::metrics {
namespace {

using testing::TargetFixture;

std::string text_of(const GatewayCollector& collector) {
  return prometheus::TextSerializer().Serialize(collector.Collect());
}

// The value of the sample whose line starts with `series` (name and labels exactly), or -1.
double sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

constexpr const char* kLun = "target=\"iqn.2026-11.io.portico:test\",lun=\"0\"";

std::string series(const std::string& name, const std::string& extra) {
  return name + "{" + kLun + (extra.empty() ? "" : "," + extra) + "}";
}

// The fixture's one unit as LUN 0 of the test target.
GatewaySources lun_sources(const TargetFixture& f) {
  GatewaySources sources;
  sources.luns = [unit = f.unit]() { return std::vector<LunSource>{{"iqn.2026-11.io.portico:test", 0, unit}}; };
  return sources;
}

TEST(GatewayCollector, CountsCommandsBytesErrorsAndLatencyPerTransportAndOperation) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  GatewayCollector collector(lun_sources(f));
  const std::string idle = text_of(collector);
  EXPECT_EQ(idle.find("portico_lun_commands_total{" + std::string(kLun) + ",transport=\"iscsi\",op=\"read\"}"),
            std::string::npos)
      << "no read series before a read";

  for (int i = 0; i < 3; ++i) f.run(*nexus, {0x2a, 0, 0, 0, 0, 8, 0, 0, 2, 0}, std::vector<uint8_t>(1024, 0x11));
  f.run(*nexus, {0x28, 0, 0, 0, 0, 8, 0, 0, 2, 0});
  // A read beyond the last block: CHECK CONDITION, counted as an error with no bytes.
  auto beyond = f.run(*nexus, {0x28, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0});
  ASSERT_EQ(beyond.task->status, scsi::ScsiStatus::check_condition);
  f.run(*nexus, {0x00, 0, 0, 0, 0, 0});  // TEST UNIT READY

  const std::string text = text_of(collector);
  const std::string iscsi_write = "transport=\"iscsi\",op=\"write\"";
  const std::string iscsi_read = "transport=\"iscsi\",op=\"read\"";
  EXPECT_EQ(sample(text, series("portico_lun_commands_total", iscsi_write)), 3);
  EXPECT_EQ(sample(text, series("portico_lun_bytes_total", iscsi_write)), 3 * 1024);
  EXPECT_EQ(sample(text, series("portico_lun_errors_total", iscsi_write)), 0);
  EXPECT_EQ(sample(text, series("portico_lun_commands_total", iscsi_read)), 2);
  EXPECT_EQ(sample(text, series("portico_lun_bytes_total", iscsi_read)), 1024) << "only the read that succeeded";
  EXPECT_EQ(sample(text, series("portico_lun_errors_total", iscsi_read)), 1);
  EXPECT_EQ(sample(text, series("portico_lun_latency_seconds_count", iscsi_write)), 3);
  EXPECT_EQ(sample(text, series("portico_lun_latency_seconds_bucket", iscsi_write + ",le=\"+Inf\"")), 3);
  EXPECT_GE(sample(text, series("portico_lun_latency_seconds_sum", iscsi_write)), 0);
  EXPECT_NE(text.find("# TYPE portico_lun_latency_seconds histogram"), std::string::npos);
  // TEST UNIT READY is an "other" command: counted, but no latency histogram of its own.
  EXPECT_EQ(sample(text, series("portico_lun_commands_total", "transport=\"iscsi\",op=\"other\"")), 1);
  EXPECT_EQ(text.find("portico_lun_latency_seconds_count{" + std::string(kLun) + ",transport=\"iscsi\",op=\"other\"}"),
            std::string::npos);
}

TEST(GatewayCollector, BucketsAreCumulativeAndEndWithTheCount) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  for (int i = 0; i < 5; ++i) f.run(*nexus, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  GatewayCollector collector(lun_sources(f));
  const auto families = collector.Collect();
  const prometheus::MetricFamily* latency = nullptr;
  for (const auto& family : families) {
    if (family.name == "portico_lun_latency_seconds") latency = &family;
  }
  ASSERT_NE(latency, nullptr);
  ASSERT_EQ(latency->metric.size(), 1u);
  const auto& histogram = latency->metric[0].histogram;
  ASSERT_EQ(histogram.bucket.size(), kLatencyBucketsUs.size() + 1);
  for (size_t i = 1; i < histogram.bucket.size(); ++i) {
    EXPECT_GE(histogram.bucket[i].cumulative_count, histogram.bucket[i - 1].cumulative_count);
    EXPECT_GT(histogram.bucket[i].upper_bound, histogram.bucket[i - 1].upper_bound);
  }
  EXPECT_EQ(histogram.bucket.back().cumulative_count, 5u);
  EXPECT_EQ(histogram.sample_count, 5u);
  EXPECT_TRUE(std::isinf(histogram.bucket.back().upper_bound));
}

TEST(GatewayCollector, CountsReservationChangesAndTaskManagementPerLun) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  ASSERT_EQ(f.pr_out(*nexus, 0x00, 0, 0, 0xabc).task->status, scsi::ScsiStatus::good);  // REGISTER
  ASSERT_EQ(f.pr_out(*nexus, 0x01, 1, 0xabc, 0).task->status, scsi::ScsiStatus::good);  // RESERVE WE
  bool done = false;
  f.target.task_management(*nexus, scsi::TmfFunction::abort_task, 0, 77, f.executor,
                           [&done](scsi::TmfResponse) { done = true; });
  ASSERT_TRUE(done);
  f.target.task_management(*nexus, scsi::TmfFunction::logical_unit_reset, 0, 0, f.executor,
                           [](scsi::TmfResponse) {});
  GatewayCollector collector(lun_sources(f));
  const std::string text = text_of(collector);
  EXPECT_EQ(sample(text, series("portico_lun_reservation_changes_total", "")), 2);
  EXPECT_EQ(sample(text, series("portico_lun_task_management_total", "function=\"abort_task\"")), 1);
  EXPECT_EQ(sample(text, series("portico_lun_task_management_total", "function=\"lun_reset\"")), 1);
  EXPECT_EQ(sample(text, series("portico_lun_task_management_total", "function=\"clear_task_set\"")), -1)
      << "a function never asked for has no series";
}

TEST(GatewayCollector, FrontEndLoadsAndAClusterOfOneGateway) {
  cluster::LocalClusterState cluster;
  GatewaySources sources;
  sources.frontends = []() {
    return std::vector<FrontendLoad>{{"iscsi", 3, 2}, {"nvme_tcp", 4, 1}};
  };
  sources.cluster = &cluster;
  GatewayCollector collector(std::move(sources));
  const std::string text = text_of(collector);
  EXPECT_EQ(sample(text, "portico_frontend_connections{protocol=\"iscsi\"}"), 3);
  EXPECT_EQ(sample(text, "portico_frontend_sessions{protocol=\"iscsi\"}"), 2);
  EXPECT_EQ(sample(text, "portico_frontend_sessions{protocol=\"nvme_tcp\"}"), 1);
  EXPECT_EQ(sample(text, "portico_cluster_state_current"), 1) << "a gateway alone always knows its state";
  EXPECT_EQ(text.find("portico_cluster_events_published_total"), std::string::npos) << "no cluster events alone";
  EXPECT_EQ(text.find("portico_lun_"), std::string::npos) << "no LUN, no LUN families";
}

// A clustered gateway's view without Ceph: the in-memory state, with metrics and a membership.
class CountingCluster final : public testing::LocalClusterProxy {
 public:
  std::vector<GatewayInfo> gateways() override { return members; }
  [[nodiscard]] const ClusterMetrics* metrics() const override { return &counted; }

  ClusterMetrics counted;
  std::vector<GatewayInfo> members;
};

TEST(GatewayCollector, ClusterEventsNotifyRoundTripsFencingAndEveryGatewaysLease) {
  CountingCluster cluster;
  cluster.counted.events_published = 3;
  cluster.counted.events_received = 5;
  cluster.counted.gateways_fenced = 1;
  cluster.counted.notify_round_trip.add(2'000'000);   // 2 ms
  cluster.counted.notify_round_trip.add(40'000'000);  // 40 ms
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  cluster.members = {{"gw1", 1, 1, AluaState::active_optimized, {}, {"127.0.0.1:3260"}, now_ms - 500},
                     {"gw2", 2, 2, AluaState::unavailable, {}, {"127.0.0.2:3260"}, now_ms - 30'000}};
  GatewaySources sources;
  sources.cluster = &cluster;
  const std::string text = text_of(GatewayCollector(std::move(sources)));
  EXPECT_EQ(sample(text, "portico_cluster_events_published_total"), 3);
  EXPECT_EQ(sample(text, "portico_cluster_events_received_total"), 5);
  EXPECT_EQ(sample(text, "portico_cluster_events_publish_failed_total"), 0);
  EXPECT_EQ(sample(text, "portico_cluster_gateways_fenced_total"), 1);
  EXPECT_EQ(sample(text, "portico_cluster_notify_round_trip_seconds_count"), 2);
  EXPECT_EQ(sample(text, "portico_cluster_notify_round_trip_seconds_bucket{le=\"0.0025\"}"), 1);
  EXPECT_EQ(sample(text, "portico_cluster_notify_round_trip_seconds_bucket{le=\"+Inf\"}"), 2);
  EXPECT_EQ(sample(text, "portico_gateway_up{gateway=\"gw1\",target_port_group=\"1\"}"), 1);
  EXPECT_EQ(sample(text, "portico_gateway_up{gateway=\"gw2\",target_port_group=\"2\"}"), 0);
  const double age = sample(text, "portico_gateway_heartbeat_age_seconds{gateway=\"gw2\",target_port_group=\"2\"}");
  EXPECT_GE(age, 30.0);
  EXPECT_LT(age, 40.0);
}

}  // namespace
}  // namespace portico::metrics
