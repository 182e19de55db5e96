// What every connection of the iSCSI server shares: the settings, the targets by name, the
// session registry and the portal list for SendTargets. Read-only after start, except the
// registry (which locks itself) and the targets (a snapshot replaced whole by a new
// configuration version).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "core/common/log_rate_limiter.h"
#include "frontends/iscsi/server/iscsi_server.h"
#include "frontends/iscsi/server/session_registry.h"
#include "runtime/buffer_budget.h"
#include "runtime/peer_limits.h"

namespace portico::iscsi {

using TargetMap = std::map<std::string, std::shared_ptr<const IscsiTargetSettings>, std::less<>>;

// The target's ACL admits `initiator` (an iSCSI name).
bool acl_allows(const IscsiTargetSettings& target, std::string_view initiator);

struct ServerContext {
  explicit ServerContext(IscsiServerSettings s)
      : settings(std::move(s)), sessions(settings.max_sessions), buffers(settings.max_buffer_bytes) {
    auto map = std::make_shared<TargetMap>();
    for (auto& target : settings.targets) map->emplace(target.iqn, std::make_shared<const IscsiTargetSettings>(target));
    settings.targets.clear();  // the map holds them
    targets_by_iqn.store(std::move(map));
  }

  [[nodiscard]] std::shared_ptr<const TargetMap> targets() const { return targets_by_iqn.load(std::memory_order_acquire); }

  IscsiServerSettings settings;
  std::atomic<std::shared_ptr<const TargetMap>> targets_by_iqn;
  std::vector<std::string> portal_addresses;  // "127.0.0.1:3260", "[::1]:3260" as bound
  SessionRegistry sessions;
  runtime::BufferPool buffers;  // every connection's buffers together (buffer_budget.h)
  // What peers cost before they have logged in (peer_limits.h; connection counts are the
  // acceptor's, frontends/common/tcp_acceptor.h).
  runtime::AuthFailureThrottle auth_failures;
  LogRateLimiter unauthenticated_log{20};  // lines per second
  std::atomic<unsigned> discovery_sessions{0};
  std::atomic<bool> stopping{false};
};

}  // namespace portico::iscsi
