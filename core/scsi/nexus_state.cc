#include "core/scsi/nexus_state.h"

#include <algorithm>

namespace portico::scsi {

void NexusState::raise_unit_attention(uint64_t lun, Asc condition) {
  std::lock_guard lock(mutex_);
  auto& queue = pending_[lun];
  if (condition.code == 0x29) {
    // A reset makes older conditions moot; keep only the first reset-class one.
    if (!queue.empty() && queue.front().code == 0x29) return;
    queue.clear();
    queue.push_back(condition);
    return;
  }
  if (std::find(queue.begin(), queue.end(), condition) != queue.end()) return;
  if (queue.size() >= kMaxQueued) return;  // SAM-5 5.14: a target may drop UAs beyond its limit
  queue.push_back(condition);
}

std::optional<Asc> NexusState::take_unit_attention(uint64_t lun) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(lun);
  if (it == pending_.end() || it->second.empty()) return std::nullopt;
  Asc condition = it->second.front();
  it->second.pop_front();
  return condition;
}

std::optional<Asc> NexusState::peek_unit_attention(uint64_t lun) const {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(lun);
  if (it == pending_.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

void NexusState::clear_unit_attention(uint64_t lun, Asc condition) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(lun);
  if (it == pending_.end()) return;
  auto& queue = it->second;
  queue.erase(std::remove(queue.begin(), queue.end(), condition), queue.end());
}

}  // namespace portico::scsi
