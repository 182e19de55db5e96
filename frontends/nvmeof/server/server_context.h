// What every queue of the NVMe/TCP server shares: the settings, the subsystems by NQN, the
// gateway-wide buffer budget. Read-only after start, except the budget (which is atomic).
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "core/common/log_rate_limiter.h"
#include "frontends/nvmeof/protocol/queue_setup.h"
#include "frontends/nvmeof/server/nvme_tcp_server.h"
#include "runtime/buffer_budget.h"

namespace portico::nvmeof {

struct ServerContext {
  explicit ServerContext(NvmeTcpServerSettings s) : settings(std::move(s)), buffers(settings.max_buffer_bytes) {
    for (const auto& subsystem : settings.subsystems) subsystems.emplace(subsystem->nqn(), subsystem.get());
  }
  // The discovery subsystem (discovery_service.h); its controllers list every gateway's listeners.
  void add_discovery(std::shared_ptr<nvme::Subsystem> subsystem) {
    subsystems.emplace(subsystem->nqn(), subsystem.get());
    discovery = std::move(subsystem);
  }
  // What a queue offers in its ICResp. In-capsule data: the largest any subsystem announces
  // (IOCCSZ), and at least 8 KiB, which the admin queue takes for Connect and admin data.
  [[nodiscard]] ControllerTransportLimits transport_limits() const {
    ControllerTransportLimits limits;
    limits.header_digest = settings.header_digest;
    limits.data_digest = settings.data_digest;
    limits.max_h2c_data = settings.max_h2c_data;
    uint32_t in_capsule = 8192;
    for (const auto& subsystem : settings.subsystems) {
      in_capsule = std::max(in_capsule, subsystem->config().in_capsule_data_bytes);
    }
    limits.in_capsule_data = in_capsule;
    return limits;
  }

  NvmeTcpServerSettings settings;
  std::map<std::string, nvme::Subsystem*, std::less<>> subsystems;
  std::shared_ptr<nvme::Subsystem> discovery;
  runtime::BufferPool buffers;
  LogRateLimiter peer_log{20};  // lines per second about peers that have not connected
  std::atomic<bool> stopping{false};
};

}  // namespace portico::nvmeof
