#include "daemon/config_change.h"

#include <fmt/format.h>

#include <map>

namespace portico::daemon {
namespace {

std::map<std::string, const TargetConfig*> by_iqn(const Config& config) {
  std::map<std::string, const TargetConfig*> out;
  for (const auto& target : config.targets) out.emplace(target.iqn, &target);
  return out;
}

std::map<uint64_t, const LunConfig*> by_number(const TargetConfig& target) {
  std::map<uint64_t, const LunConfig*> out;
  for (const auto& lun : target.luns) out.emplace(lun.lun, &lun);
  return out;
}

bool access_differs(const TargetConfig& a, const TargetConfig& b) {
  return a.alias != b.alias || a.any_initiator != b.any_initiator || a.allowed_initiators != b.allowed_initiators ||
         a.chap != b.chap || a.initiator_chap != b.initiator_chap || a.nvme != b.nvme;
}

Status needs_restart(const std::string& iqn, const std::string& what) {
  return error(ErrorCode::unsupported, "target " + iqn + ": " + what + " takes effect only when the gateway restarts");
}

Status refuse_tcmu(const TargetConfig& target, const LunConfig& lun, const char* change) {
  if (lun.tcmu.empty()) return {};
  return needs_restart(target.iqn, fmt::format("LUN {} with TCMU exports {}", lun.lun, change));
}

// The same LUN for a target whose namespaces are rebuilt anyway (or that has none): its NSID
// alone does not count, so adding an `nvme` section does not disturb the LUNs' iSCSI sessions.
bool same_lun(const LunConfig& a, const LunConfig& b, bool nsid_counts) {
  if (nsid_counts) return a == b;
  LunConfig x = a;
  x.nsid = b.nsid;
  return x == b;
}

std::string plural(size_t n, const char* one) { return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s"); }

}  // namespace

std::string ConfigChange::summary() const {
  if (empty()) return "no change";
  std::vector<std::string> parts;
  if (!added_targets.empty()) parts.push_back(plural(added_targets.size(), "target") + " added");
  if (!removed_targets.empty()) parts.push_back(plural(removed_targets.size(), "target") + " removed");
  if (!added_luns.empty()) parts.push_back(plural(added_luns.size(), "LUN") + " added");
  if (!removed_luns.empty()) parts.push_back(plural(removed_luns.size(), "LUN") + " removed");
  if (!access_changed.empty()) parts.push_back(plural(access_changed.size(), "target") + "' access changed");
  if (!nvme_changed.empty()) parts.push_back(plural(nvme_changed.size(), "NVMe subsystem") + " replaced");
  return fmt::format("{}", fmt::join(parts, ", "));
}

Result<ConfigChange> plan_config_change(const Config& current, const Config& next) {
  ConfigChange change;
  const auto before = by_iqn(current);
  const auto after = by_iqn(next);
  for (const auto& [iqn, target] : before) {
    if (after.count(iqn) != 0) continue;
    for (const auto& lun : target->luns) {
      if (auto refused = refuse_tcmu(*target, lun, "removed"); !refused.ok()) return refused;
    }
    change.removed_targets.push_back(iqn);
  }
  for (const auto& [iqn, target] : after) {
    auto old = before.find(iqn);
    if (old == before.end()) {
      for (const auto& lun : target->luns) {
        if (auto refused = refuse_tcmu(*target, lun, "added"); !refused.ok()) return refused;
      }
      change.added_targets.push_back(*target);
      continue;
    }
    const TargetConfig& was = *old->second;
    const bool nvme_changed =
        was.nvme.has_value() != target->nvme.has_value() || (was.nvme && was.nvme->nqn != target->nvme->nqn);
    if (nvme_changed) change.nvme_changed.push_back(iqn);
    if (access_differs(was, *target)) change.access_changed.push_back(iqn);
    const auto luns_before = by_number(was);
    const auto luns_after = by_number(*target);
    for (const auto& [number, lun] : luns_before) {
      auto now = luns_after.find(number);
      if (now != luns_after.end() && same_lun(*now->second, *lun, !nvme_changed && target->nvme)) continue;
      if (auto refused = refuse_tcmu(was, *lun, now == luns_after.end() ? "removed" : "changed"); !refused.ok()) {
        return refused;
      }
      change.removed_luns.push_back({iqn, *lun});
    }
    for (const auto& [number, lun] : luns_after) {
      auto then = luns_before.find(number);
      if (then != luns_before.end() && same_lun(*then->second, *lun, !nvme_changed && target->nvme)) continue;
      if (auto refused = refuse_tcmu(*target, *lun, "added"); !refused.ok()) return refused;
      change.added_luns.push_back({iqn, *lun});
    }
  }
  return change;
}

}  // namespace portico::daemon
