// The discovery subsystem of a gateway (NVMe over Fabrics 1.1, "Discovery Service"): a host that
// discovers through any gateway learns every live gateway's NVMe/TCP and NVMe/RDMA listeners for each
// subsystem it may connect to, so `nvme connect-all` through one gateway makes a path through
// each. The gateways come from the cluster's membership (each records its listeners); alone, a
// gateway lists its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/nvme/discovery_log.h"
#include "core/nvme/subsystem.h"

namespace portico::nvmeof {

// A listener as gateways record it: "address:port" for NVMe/TCP, "rdma:address:port" for
// NVMe/RDMA (a gateway that predates RDMA skips what it cannot parse).
inline constexpr std::string_view kRdmaListenerPrefix = "rdma:";

// A gateway's listeners as the membership record and the discovery log take them.
std::vector<std::string> transport_listeners(const std::vector<std::string>& tcp, const std::vector<std::string>& rdma);

// The discovery log entries for `host_nqn`: one per (live gateway, listener, subsystem the host
// is allowed), ordered by subsystem, then gateway, then listener. Listeners that do not parse
// are skipped.
std::vector<nvme::DiscoveryEntry> discovery_entries(const std::vector<nvme::Subsystem*>& subsystems,
                                                    ClusterState& cluster,
                                                    const std::vector<std::string>& local_listeners,
                                                    const std::string& host_nqn);

// The discovery subsystem serving those entries for the subsystems `subsystems` returns at the
// time (they change with the configuration); controller ids from `template_config`'s range.
using SubsystemList = std::function<std::vector<std::shared_ptr<nvme::Subsystem>>()>;
std::shared_ptr<nvme::Subsystem> make_discovery_subsystem(SubsystemList subsystems,
                                                          ClusterState& cluster,
                                                          std::vector<std::string> local_listeners,
                                                          const nvme::SubsystemConfig& template_config);

}  // namespace portico::nvmeof
