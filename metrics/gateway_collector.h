// The gateway's metrics as Prometheus families, built from the core's counters at each scrape
// (nothing is copied on the command path): per LUN, transport and operation the commands, errors,
// bytes and latency; reservation changes and task management functions per LUN; connections and
// sessions per front-end; cluster events, notify round trips, fencing and every gateway's lease.
//
// A LUN's series appear once it has served a command of that transport and operation: a gateway
// with thousands of LUNs exports what is used, not every combination at zero.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cluster_state.h"
#include "core/unit.h"

namespace portico::metrics {

struct LunSource {
  std::string target;  // its target's IQN
  uint64_t lun = 0;
  std::shared_ptr<const Unit> unit;
};

// What one front-end serves now.
struct FrontendLoad {
  std::string protocol;  // "iscsi", "nvme_tcp", "tcmu"
  uint64_t connections = 0;
  uint64_t sessions = 0;  // iSCSI sessions, NVMe controllers, TCMU devices
};

struct GatewaySources {
  std::function<std::vector<LunSource>()> luns;  // the units served now (the configuration changes live)
  std::function<std::vector<FrontendLoad>()> frontends;
  ClusterState* cluster = nullptr;  // outlives the collector
};

class GatewayCollector final : public prometheus::Collectable {
 public:
  explicit GatewayCollector(GatewaySources sources) : sources_(std::move(sources)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  GatewaySources sources_;
};

}  // namespace portico::metrics
