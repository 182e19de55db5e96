#include "frontends/iscsi/server/session_registry.h"

#include <functional>

namespace portico::iscsi {

size_t SessionKeyHash::operator()(const SessionKey& k) const {
  size_t h = std::hash<std::string>{}(k.initiator_name);
  for (uint8_t b : k.isid) h = h * 131 + b;
  return h ^ (std::hash<std::string>{}(k.target_name) << 1);
}

SessionRegistry::AddResult SessionRegistry::add(const SessionKey& key, uint64_t owner_id, Executor& executor,
                                                std::function<void()> close, uint16_t& tsih) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end() && sessions_.size() >= max_sessions_) return AddResult::limit_reached;
  if (it != sessions_.end()) {
    // Reinstatement: the old connection closes itself on its own loop.
    Entry& old = it->second;
    old.executor->post([close_old = std::move(old.close)]() { close_old(); });
    sessions_.erase(it);
  }
  // TSIH 0 is reserved (RFC 7143 §11.12.6); skip values still in use after wrap-around.
  do {
    tsih = next_tsih_++;
    if (next_tsih_ == 0) next_tsih_ = 1;
  } while (tsih == 0 || [&] {
    for (const auto& [k, e] : sessions_) {
      if (e.tsih == tsih) return true;
    }
    return false;
  }());
  sessions_.emplace(key, Entry{tsih, owner_id, &executor, std::move(close)});
  return AddResult::added;
}

void SessionRegistry::remove(const SessionKey& key, uint64_t owner_id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it != sessions_.end() && it->second.owner_id == owner_id) sessions_.erase(it);
}

size_t SessionRegistry::close_matching(const std::function<bool(const SessionKey&)>& match) {
  std::lock_guard lock(mutex_);
  size_t told = 0;
  for (const auto& [key, entry] : sessions_) {
    if (!match(key)) continue;
    entry.executor->post(entry.close);
    ++told;
  }
  return told;
}

std::vector<std::pair<SessionKey, uint16_t>> SessionRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<SessionKey, uint16_t>> out;
  out.reserve(sessions_.size());
  for (const auto& [key, entry] : sessions_) out.emplace_back(key, entry.tsih);
  return out;
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

bool SessionRegistry::tsih_in_use(uint16_t tsih) const {
  std::lock_guard lock(mutex_);
  for (const auto& [k, e] : sessions_) {
    if (e.tsih == tsih) return true;
  }
  return false;
}

}  // namespace portico::iscsi
