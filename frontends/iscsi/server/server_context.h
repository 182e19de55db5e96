// What every connection of the iSCSI server shares: the settings, the targets by name, the
// session registry and the portal list for SendTargets. Read-only after start, except the
// registry (which locks itself).
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "frontends/iscsi/server/iscsi_server.h"
#include "frontends/iscsi/server/session_registry.h"

namespace portico::iscsi {

struct ServerContext {
  explicit ServerContext(IscsiServerSettings s) : settings(std::move(s)), sessions(settings.max_sessions) {}

  IscsiServerSettings settings;
  std::map<std::string, const IscsiTargetSettings*, std::less<>> targets_by_iqn;
  std::vector<std::string> portal_addresses;  // "127.0.0.1:3260", "[::1]:3260" as bound
  SessionRegistry sessions;
  std::atomic<bool> stopping{false};
};

}  // namespace portico::iscsi
