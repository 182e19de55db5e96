#include "core/scsi/copy_manager.h"

#include <algorithm>

#include "core/scsi/logical_unit.h"

namespace portico::scsi {

void CopyManager::set_directory(std::shared_ptr<const Directory> directory) {
  std::lock_guard lock(mutex_);
  directory_ = std::move(directory);
}

std::shared_ptr<LogicalUnit> CopyManager::find_unit_by_naa(uint64_t naa) const {
  std::shared_ptr<const Directory> directory;
  {
    std::lock_guard lock(mutex_);
    directory = directory_;
  }
  if (!directory) return nullptr;
  for (const auto& weak : *directory) {
    auto unit = weak.lock();
    if (unit && unit->identity().naa == naa) return unit;
  }
  return nullptr;
}

CopyRecord* CopyManager::locate(const std::string& nexus_key, uint8_t list_id) {
  for (auto& record : records_) {
    if (record.list_id == list_id && record.nexus_key == nexus_key) return &record;
  }
  return nullptr;
}

CopyManager::Admission CopyManager::begin(const std::string& nexus_key, std::optional<uint8_t> list_id) {
  std::lock_guard lock(mutex_);
  if (running_ >= copy_limits::kMaxConcurrentCopies) return Admission::too_many_copies;
  if (list_id) {
    CopyRecord* existing = locate(nexus_key, *list_id);
    // SPC-4 6.4.3.2: a list identifier may not name two copies of one nexus at once.
    if (existing != nullptr && existing->in_progress) return Admission::list_id_in_use;
    // A new copy with the same list identifier replaces what was kept about the previous one.
    if (existing != nullptr) std::erase_if(records_, [&](const CopyRecord& r) { return &r == existing; });
    if (records_.size() >= kMaxRecords) {
      auto oldest_done = std::find_if(records_.begin(), records_.end(), [](const CopyRecord& r) { return !r.in_progress; });
      if (oldest_done != records_.end()) records_.erase(oldest_done);
    }
    CopyRecord record;
    record.nexus_key = nexus_key;
    record.list_id = *list_id;
    records_.push_back(std::move(record));
  }
  ++running_;
  return Admission::admitted;
}

void CopyManager::progress(const std::string& nexus_key, std::optional<uint8_t> list_id, uint16_t segments_processed,
                           uint64_t bytes_transferred) {
  if (!list_id) return;
  std::lock_guard lock(mutex_);
  if (CopyRecord* record = locate(nexus_key, *list_id)) {
    record->segments_processed = segments_processed;
    record->bytes_transferred = bytes_transferred;
  }
}

void CopyManager::finish(const std::string& nexus_key, std::optional<uint8_t> list_id, uint8_t status,
                         std::vector<uint8_t> sense) {
  std::lock_guard lock(mutex_);
  if (running_ > 0) --running_;
  if (!list_id) return;
  if (CopyRecord* record = locate(nexus_key, *list_id)) {
    record->in_progress = false;
    record->failed = status != 0;
    record->status = status;
    record->sense = std::move(sense);
  }
}

std::optional<CopyRecord> CopyManager::find(const std::string& nexus_key, uint8_t list_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& record : records_) {
    if (record.list_id == list_id && record.nexus_key == nexus_key) return record;
  }
  return std::nullopt;
}

void CopyManager::discard_failure_details(const std::string& nexus_key, uint8_t list_id) {
  std::lock_guard lock(mutex_);
  if (CopyRecord* record = locate(nexus_key, list_id)) record->sense.clear();
}

}  // namespace portico::scsi
