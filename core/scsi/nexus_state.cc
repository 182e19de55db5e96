#include "core/scsi/nexus_state.h"

#include <algorithm>

namespace portico::scsi {

void NexusState::keep_attachments(std::vector<std::shared_ptr<Attachment>> attachments) {
  std::lock_guard lock(attachments_mutex_);
  attachments_ = std::move(attachments);
}

void NexusState::add_attachment(std::shared_ptr<Attachment> attachment) {
  std::lock_guard lock(attachments_mutex_);
  attachments_.push_back(std::move(attachment));
}

void NexusState::drop_attachments() {
  std::vector<std::shared_ptr<Attachment>> dropped;
  std::lock_guard lock(attachments_mutex_);
  dropped.swap(attachments_);
}

void NexusState::raise_unit_attention(uint64_t lun, Asc condition) {
  std::lock_guard lock(mutex_);
  auto& queue = pending_[lun];
  if (condition.code == 0x29) {
    // A reset makes older conditions moot; keep only the first reset-class one.
    if (!queue.empty() && queue.front().code == 0x29) return;
    queued_.fetch_sub(queue.size(), std::memory_order_relaxed);
    queue.clear();
    queue.push_back(condition);
    queued_.fetch_add(1, std::memory_order_release);
    return;
  }
  if (std::find(queue.begin(), queue.end(), condition) != queue.end()) return;
  if (queue.size() >= kMaxQueued) return;  // SAM-5 5.14: a target may drop UAs beyond its limit
  queue.push_back(condition);
  queued_.fetch_add(1, std::memory_order_release);
}

std::optional<Asc> NexusState::take_unit_attention(uint64_t lun) {
  if (queued_.load(std::memory_order_acquire) == 0) return std::nullopt;  // every command asks
  std::lock_guard lock(mutex_);
  auto it = pending_.find(lun);
  if (it == pending_.end() || it->second.empty()) return std::nullopt;
  Asc condition = it->second.front();
  it->second.pop_front();
  queued_.fetch_sub(1, std::memory_order_relaxed);
  return condition;
}

std::optional<Asc> NexusState::peek_unit_attention(uint64_t lun) const {
  if (queued_.load(std::memory_order_acquire) == 0) return std::nullopt;
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
  const auto kept = std::remove(queue.begin(), queue.end(), condition);
  queued_.fetch_sub(static_cast<size_t>(queue.end() - kept), std::memory_order_relaxed);
  queue.erase(kept, queue.end());
}

}  // namespace portico::scsi
