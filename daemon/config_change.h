// What a gateway must do to go from the configuration it serves to a new version of the group's
// configuration record, without a restart: which targets appear or go, which LUNs are added or
// removed (a LUN whose settings changed is removed and added again), which targets' access
// settings change. Pure: the gateway (gateway.cc) carries the plan out.
//
// One change cannot be applied while serving; the plan is then refused as a whole, naming it,
// and the gateway keeps the version it serves: a TCMU export that changes (LIO's backstores are
// set up by the administrator against the handler's devices, created at start).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "daemon/config.h"

namespace portico::daemon {

struct LunChange {
  std::string iqn;  // its target
  LunConfig lun;
};

struct ConfigChange {
  std::vector<TargetConfig> added_targets;    // with their LUNs
  std::vector<std::string> removed_targets;   // IQNs
  std::vector<LunChange> removed_luns;        // of targets that stay (changed LUNs too)
  std::vector<LunChange> added_luns;          // of targets that stay (changed LUNs too)
  std::vector<std::string> access_changed;    // targets that stay whose alias, ACL, CHAP or hosts changed
  // Targets that stay whose NVMe subsystem appears, goes or changes its NQN: the old one (if
  // any) ends, with its controllers, and a new one serves the target's LUNs as namespaces.
  std::vector<std::string> nvme_changed;

  [[nodiscard]] bool empty() const {
    return added_targets.empty() && removed_targets.empty() && removed_luns.empty() && added_luns.empty() &&
           access_changed.empty() && nvme_changed.empty();
  }
  // "2 targets added, 1 LUN removed", for the log.
  [[nodiscard]] std::string summary() const;
};

// Fails (ErrorCode::unsupported, naming the target and what changed) when `next` cannot be
// served without a restart.
Result<ConfigChange> plan_config_change(const Config& current, const Config& next);

}  // namespace portico::daemon
