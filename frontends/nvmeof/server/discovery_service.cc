#include "frontends/nvmeof/server/discovery_service.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>

#include "core/common/stable_hash.h"
#include "runtime/socket_address.h"

namespace portico::nvmeof {

std::vector<std::string> transport_listeners(const std::vector<std::string>& tcp, const std::vector<std::string>& rdma) {
  std::vector<std::string> all = tcp;
  for (const auto& listener : rdma) all.push_back(std::string(kRdmaListenerPrefix) + listener);
  return all;
}

std::vector<nvme::DiscoveryEntry> discovery_entries(const std::vector<nvme::Subsystem*>& subsystems,
                                                    ClusterState& cluster,
                                                    const std::vector<std::string>& local_listeners,
                                                    const std::string& host_nqn) {
  struct Gateway {
    uint16_t port_id;
    std::vector<std::string> listeners;
  };
  std::vector<Gateway> gateways;
  for (const auto& g : cluster.gateways()) {
    if (g.state == AluaState::unavailable || g.nvme_listeners.empty()) continue;
    gateways.push_back({g.target_port_group, g.nvme_listeners});
  }
  std::sort(gateways.begin(), gateways.end(), [](const Gateway& a, const Gateway& b) { return a.port_id < b.port_id; });
  if (gateways.empty()) gateways.push_back({cluster.local_target_port_group(), local_listeners});
  std::vector<nvme::DiscoveryEntry> entries;
  for (const nvme::Subsystem* subsystem : subsystems) {
    if (subsystem->discovery() || !subsystem->host_allowed(host_nqn)) continue;
    for (const auto& gateway : gateways) {
      for (const auto& listener : gateway.listeners) {
        const bool rdma = std::string_view(listener).starts_with(kRdmaListenerPrefix);
        auto address = runtime::SocketAddress::parse(rdma ? listener.substr(kRdmaListenerPrefix.size()) : listener);
        if (!address.ok()) continue;
        nvme::DiscoveryEntry e;
        e.transport = rdma ? nvme::TransportType::rdma : nvme::TransportType::tcp;
        e.family = address->family() == AF_INET6 ? nvme::AddressFamily::ipv6 : nvme::AddressFamily::ipv4;
        e.subsystem_type = nvme::SubsystemType::nvme;
        e.port_id = gateway.port_id;  // one port per gateway, as its ANA group
        e.service_id = std::to_string(address->port());
        e.subsystem_nqn = subsystem->nqn();
        e.address = address->host();
        entries.push_back(std::move(e));
      }
    }
  }
  return entries;
}

std::shared_ptr<nvme::Subsystem> make_discovery_subsystem(SubsystemList subsystems,
                                                          ClusterState& cluster,
                                                          std::vector<std::string> local_listeners,
                                                          const nvme::SubsystemConfig& template_config) {
  nvme::SubsystemConfig config;
  config.nqn = nvme::kDiscoveryNqn;
  config.discovery = true;
  config.serial = fmt::format("PT{:016x}", stable_hash64(config.nqn));
  config.max_queue_size = 32;
  config.controller_id_first = template_config.controller_id_first;
  config.controller_id_count = template_config.controller_id_count;
  config.discovery_entries = [subsystems = std::move(subsystems), &cluster,
                              listeners = std::move(local_listeners)](const std::string& host_nqn) {
    const auto current = subsystems();
    std::vector<nvme::Subsystem*> list;
    for (const auto& subsystem : current) list.push_back(subsystem.get());
    return discovery_entries(list, cluster, listeners, host_nqn);
  };
  return std::make_shared<nvme::Subsystem>(std::move(config), cluster);
}

}  // namespace portico::nvmeof
