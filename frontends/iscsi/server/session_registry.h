// Live sessions of the gateway, for TSIH allocation, the session limit and session reinstatement
// (RFC 7143 §6.3.5: a login with TSIH 0 and the ISID of an existing session from the same
// initiator to the same target closes the old session).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/executor.h"

namespace portico::iscsi {

struct SessionKey {
  std::string initiator_name;
  std::array<uint8_t, 6> isid{};
  std::string target_name;

  bool operator==(const SessionKey&) const = default;
};

struct SessionKeyHash {
  size_t operator()(const SessionKey& k) const;
};

class SessionRegistry {
 public:
  // How to end a registered session: runs `close` on the session's own executor.
  struct Entry {
    uint16_t tsih = 0;
    uint64_t owner_id = 0;  // connection id
    Executor* executor = nullptr;
    // Runs on `executor`; must tolerate the connection being gone (it captures a weak_ptr).
    std::function<void()> close;
  };

  explicit SessionRegistry(unsigned max_sessions) : max_sessions_(max_sessions) {}

  enum class AddResult { added, limit_reached };
  // Registers a session; if one with the same key exists it is told to close (reinstatement) and
  // replaced. Returns the new TSIH through `tsih`.
  AddResult add(const SessionKey& key, uint64_t owner_id, Executor& executor, std::function<void()> close,
                uint16_t& tsih);
  // Removes the session if `owner_id` still owns it.
  void remove(const SessionKey& key, uint64_t owner_id);
  // Tells every session whose key `match` selects to close (each on its own executor); returns
  // how many were told.
  size_t close_matching(const std::function<bool(const SessionKey&)>& match);
  [[nodiscard]] size_t size() const;
  // Every session's key and TSIH, for the gateway's status.
  [[nodiscard]] std::vector<std::pair<SessionKey, uint16_t>> snapshot() const;
  [[nodiscard]] bool tsih_in_use(uint16_t tsih) const;

 private:
  mutable std::mutex mutex_;
  unsigned max_sessions_;
  uint16_t next_tsih_ = 1;
  std::unordered_map<SessionKey, Entry, SessionKeyHash> sessions_;
};

}  // namespace portico::iscsi
