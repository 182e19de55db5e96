// What every queue of the NVMe/TCP server shares: the settings, the subsystems by NQN, the
// gateway-wide buffer budget. Read-only after start, except the budget (which is atomic) and the
// subsystems (a snapshot replaced whole by a new configuration version).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <vector>
#include <string>

#include "core/common/log_rate_limiter.h"
#include "frontends/nvmeof/protocol/queue_setup.h"
#include "frontends/nvmeof/server/nvme_tcp_server.h"
#include "runtime/buffer_budget.h"

namespace portico::nvmeof {

using SubsystemMap = std::map<std::string, std::shared_ptr<nvme::Subsystem>, std::less<>>;

struct ServerContext {
  explicit ServerContext(NvmeTcpServerSettings s) : settings(std::move(s)), buffers(settings.max_buffer_bytes) {}

  // The subsystems served now, the discovery subsystem among them.
  [[nodiscard]] std::shared_ptr<const SubsystemMap> subsystems() const {
    return subsystems_by_nqn.load(std::memory_order_acquire);
  }
  // Those that hosts connect to for I/O (the discovery subsystem's log lists them).
  [[nodiscard]] std::vector<std::shared_ptr<nvme::Subsystem>> io_subsystems() const {
    std::vector<std::shared_ptr<nvme::Subsystem>> out;
    const auto map = subsystems();
    for (const auto& [nqn, subsystem] : *map) {
      if (!subsystem->discovery()) out.push_back(subsystem);
    }
    return out;
  }
  // Serves `io` and the discovery subsystem from now on.
  void set_subsystems(const std::vector<std::shared_ptr<nvme::Subsystem>>& io) {
    auto map = std::make_shared<SubsystemMap>();
    for (const auto& subsystem : io) map->emplace(subsystem->nqn(), subsystem);
    if (discovery) map->emplace(discovery->nqn(), discovery);
    subsystems_by_nqn.store(std::move(map), std::memory_order_release);
  }
  // What a queue offers in its ICResp. In-capsule data: the largest any subsystem announces
  // (IOCCSZ), and at least 8 KiB, which the admin queue takes for Connect and admin data.
  [[nodiscard]] ControllerTransportLimits transport_limits() const {
    ControllerTransportLimits limits;
    limits.header_digest = settings.header_digest;
    limits.data_digest = settings.data_digest;
    limits.max_h2c_data = settings.max_h2c_data;
    // Every subsystem announces the gateway's one setting (gateway.nvme_in_capsule_data).
    uint32_t in_capsule = std::max<uint32_t>(8192, settings.in_capsule_data_bytes);
    limits.in_capsule_data = in_capsule;
    return limits;
  }

  NvmeTcpServerSettings settings;
  std::atomic<std::shared_ptr<const SubsystemMap>> subsystems_by_nqn{std::make_shared<const SubsystemMap>()};
  std::shared_ptr<nvme::Subsystem> discovery;  // set before any queue connects
  runtime::BufferPool buffers;
  LogRateLimiter peer_log{20};  // lines per second about peers that have not connected
  std::atomic<bool> stopping{false};
};

}  // namespace portico::nvmeof
