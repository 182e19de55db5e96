// The target port groups' access states, as the cluster reports them: one group per gateway
// (its ALUA target port group, and the NVMe ANA group with the same id). Each command set says
// which of its commands a state allows (core/scsi/access_state.cc, core/nvme/...); this gateway's
// own group (every command's, but for a command through another gateway's port) is one atomic load.
#include "core/unit.h"

namespace portico {

void Unit::refresh_access_states() {
  auto groups = cluster_.target_port_groups();
  // Only this gateway's own group decides the fast path: another gateway that is down
  // (unavailable) must not slow every command here.
  const uint16_t local = cluster_.local_target_port_group();
  AluaState local_state = AluaState::active_optimized;
  for (const auto& g : groups) {
    if (g.id == local) local_state = g.state;
  }
  std::lock_guard lock(access_mutex_);
  port_groups_ = std::move(groups);
  local_group_state_.store(local_state, std::memory_order_release);
}

AluaState Unit::access_state(uint16_t group) const {
  if (group == cluster_.local_target_port_group()) return local_group_state_.load(std::memory_order_acquire);
  AluaState state = AluaState::active_optimized;
  std::lock_guard lock(access_mutex_);
  for (const auto& g : port_groups_) {
    if (g.id == group) state = g.state;
  }
  return state;
}

}  // namespace portico
