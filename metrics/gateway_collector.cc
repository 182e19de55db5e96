#include "metrics/gateway_collector.h"

#include <array>
#include <chrono>
#include <limits>
#include <utility>
#include <vector>

namespace portico::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_value(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

void add_histogram(MetricFamily& f, Labels labels, const LatencyHistogram& h) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i].load(std::memory_order_relaxed);
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < kLatencyBucketsUs.size() ? kLatencyBucketsUs[i] / 1e6 : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  // The buckets were read one by one while commands completed: the count is their sum, so that
  // the +Inf bucket equals it as the format requires.
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9;
  f.metric.push_back(std::move(m));
}

void collect_luns(const std::vector<LunSource>& luns, std::vector<MetricFamily>& out) {
  auto commands = family("portico_lun_commands_total", "Commands a LUN completed, by front-end transport and operation",
                         MetricType::Counter);
  auto errors = family("portico_lun_errors_total",
                       "Commands that ended with an error status (aborted ones included)", MetricType::Counter);
  auto bytes = family("portico_lun_bytes_total", "Bytes moved by the commands that succeeded", MetricType::Counter);
  auto latency = family("portico_lun_latency_seconds",
                        "Time from a command's admission by the LUN (its data in hand) to its completion",
                        MetricType::Histogram);
  auto reservations = family("portico_lun_reservation_changes_total",
                             "Reservation changes this gateway stored in the cluster's record", MetricType::Counter);
  auto tmfs = family("portico_lun_task_management_total", "Task management functions (NVMe Abort included)",
                     MetricType::Counter);
  for (const auto& source : luns) {
    const Labels lun{{"target", source.target}, {"lun", std::to_string(source.lun)}};
    const UnitMetrics& m = source.unit->metrics();
    for (size_t t = 0; t < kTransportCount; ++t) {
      for (size_t o = 0; o < kIoClassCount; ++o) {
        const auto transport = static_cast<Transport>(t);
        const auto io_class = static_cast<IoClass>(o);
        const OperationCounters& c = m.operations(transport, io_class);
        const uint64_t count = c.latency.count.load(std::memory_order_relaxed);
        if (count == 0) continue;
        Labels labels = lun;
        labels.push_back({"transport", transport_name(transport)});
        labels.push_back({"op", io_class_name(io_class)});
        add_value(commands, labels, static_cast<double>(count));
        add_value(errors, labels, static_cast<double>(c.errors.load(std::memory_order_relaxed)));
        add_value(bytes, labels, static_cast<double>(c.bytes.load(std::memory_order_relaxed)));
        if (io_class != IoClass::other) add_histogram(latency, labels, c.latency);
      }
    }
    add_value(reservations, lun, static_cast<double>(m.reservation_changes()));
    for (size_t k = 0; k < kTaskManagementKindCount; ++k) {
      const auto kind = static_cast<TaskManagementKind>(k);
      if (const uint64_t n = m.task_management(kind); n != 0) {
        Labels labels = lun;
        labels.push_back({"function", task_management_name(kind)});
        add_value(tmfs, labels, static_cast<double>(n));
      }
    }
  }
  for (auto* f : {&commands, &errors, &bytes, &latency, &reservations, &tmfs}) out.push_back(std::move(*f));
}

void collect_frontends(const std::vector<FrontendLoad>& loads, std::vector<MetricFamily>& out) {
  auto connections = family("portico_frontend_connections", "Open connections per front-end", MetricType::Gauge);
  auto sessions = family("portico_frontend_sessions",
                         "iSCSI sessions, NVMe controllers or TCMU devices per front-end", MetricType::Gauge);
  for (const auto& load : loads) {
    add_value(connections, {{"protocol", load.protocol}}, static_cast<double>(load.connections));
    add_value(sessions, {{"protocol", load.protocol}}, static_cast<double>(load.sessions));
  }
  out.push_back(std::move(connections));
  out.push_back(std::move(sessions));
}

void collect_cluster(ClusterState& cluster, std::vector<MetricFamily>& out) {
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  auto current = family("portico_cluster_state_current",
                        "1 while this gateway can prove its cached cluster state current (it serves), else 0",
                        MetricType::Gauge);
  add_value(current, {}, cluster.state_proven_until_ns() >= now_ns ? 1 : 0);
  out.push_back(std::move(current));
  if (const ClusterMetrics* m = cluster.metrics()) {
    struct Counter {
      const char* name;
      const char* help;
      const std::atomic<uint64_t>& value;
    };
    const std::array<Counter, 6> counters = {{
        {"portico_cluster_events_published_total",
         "Cluster events (reservation changes, resets, notices) applied by every gateway", m->events_published},
        {"portico_cluster_events_publish_failed_total",
         "Cluster events that some gateway neither applied nor could be fenced for", m->events_publish_failed},
        {"portico_cluster_events_received_total",
         "Cluster events this gateway received from any gateway, itself included", m->events_received},
        {"portico_cluster_events_refused_total",
         "Cluster events this gateway could not decode (its unit stopped serving until re-read)", m->events_refused},
        {"portico_cluster_gateways_fenced_total", "Gateways (RADOS clients) this gateway blocklisted",
         m->gateways_fenced},
        {"portico_cluster_fencing_failures_total", "Blocklist requests that failed", m->fencing_failures},
    }};
    for (const auto& counter : counters) {
      auto f = family(counter.name, counter.help, MetricType::Counter);
      add_value(f, {}, static_cast<double>(counter.value.load(std::memory_order_relaxed)));
      out.push_back(std::move(f));
    }
    auto round_trip = family("portico_cluster_notify_round_trip_seconds",
                             "From publishing an event to every watching gateway's acknowledgement (or the timeout)",
                             MetricType::Histogram);
    add_histogram(round_trip, {}, m->notify_round_trip);
    out.push_back(std::move(round_trip));
  }
  const auto gateways = cluster.gateways();
  if (gateways.empty()) return;
  auto up = family("portico_gateway_up", "1 while a gateway's lease holds (its heartbeat is recent), else 0",
                   MetricType::Gauge);
  auto age = family("portico_gateway_heartbeat_age_seconds", "Time since a gateway's last membership heartbeat",
                    MetricType::Gauge);
  const int64_t wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& g : gateways) {
    const Labels labels{{"gateway", g.name}, {"target_port_group", std::to_string(g.target_port_group)}};
    add_value(up, labels, g.state == AluaState::unavailable ? 0 : 1);
    if (g.heartbeat_ms != 0) add_value(age, labels, static_cast<double>(wall_ms - g.heartbeat_ms) / 1000.0);
  }
  out.push_back(std::move(up));
  out.push_back(std::move(age));
}

}  // namespace

std::vector<MetricFamily> GatewayCollector::Collect() const {
  std::vector<MetricFamily> out;
  if (sources_.luns) collect_luns(sources_.luns(), out);
  if (sources_.frontends) collect_frontends(sources_.frontends(), out);
  if (sources_.cluster != nullptr) collect_cluster(*sources_.cluster, out);
  // A family without samples (no LUN has served yet) says nothing: leave it out.
  std::erase_if(out, [](const MetricFamily& f) { return f.metric.empty(); });
  return out;
}

}  // namespace portico::metrics
