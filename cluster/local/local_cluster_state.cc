#include "cluster/local/local_cluster_state.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace portico::cluster {

// Handlers by LUN key, shared with the subscriptions so that unsubscribing after the state is
// gone stays safe.
struct LocalClusterState::Subscribers {
  std::mutex mutex;
  uint64_t next_id = 1;
  std::multimap<std::string, std::pair<uint64_t, std::shared_ptr<EventHandler>>> by_lun;
};

class LocalClusterState::Subscription final : public EventSubscription {
 public:
  Subscription(std::weak_ptr<Subscribers> subscribers, uint64_t id) : subscribers_(std::move(subscribers)), id_(id) {}
  ~Subscription() override {
    auto subscribers = subscribers_.lock();
    if (!subscribers) return;
    std::lock_guard lock(subscribers->mutex);
    for (auto it = subscribers->by_lun.begin(); it != subscribers->by_lun.end(); ++it) {
      if (it->second.first == id_) {
        subscribers->by_lun.erase(it);
        break;
      }
    }
  }

 private:
  std::weak_ptr<Subscribers> subscribers_;
  uint64_t id_;
};

LocalClusterState::LocalClusterState(std::string state_dir, uint16_t target_port_group)
    : state_dir_(std::move(state_dir)), target_port_group_(target_port_group),
      subscribers_(std::make_shared<Subscribers>()) {}

LocalClusterState::~LocalClusterState() = default;

Result<LunIdentity> LocalClusterState::lun_identity(const std::string& lun_key) {
  return derive_lun_identity(lun_key);
}

std::vector<TargetPortGroupInfo> LocalClusterState::target_port_groups() {
  TargetPortGroupInfo group;
  group.id = target_port_group_;
  group.state = access_state_.load();
  group.relative_port_ids = {1};
  return {group};
}

void LocalClusterState::set_access_state(AluaState state) {
  access_state_.store(state);
  std::vector<std::shared_ptr<EventHandler>> handlers;
  {
    std::lock_guard lock(subscribers_->mutex);
    for (auto& [key, entry] : subscribers_->by_lun) handlers.push_back(entry.second);
  }
  LunEvent event;
  event.kind = LunEvent::Kind::access_state_changed;
  for (auto& handler : handlers) (*handler)(event, []() {});
}

std::unique_ptr<EventSubscription> LocalClusterState::subscribe(const std::string& lun_key, EventHandler handler) {
  std::lock_guard lock(subscribers_->mutex);
  const uint64_t id = subscribers_->next_id++;
  subscribers_->by_lun.emplace(lun_key, std::make_pair(id, std::make_shared<EventHandler>(std::move(handler))));
  return std::make_unique<Subscription>(subscribers_, id);
}

void LocalClusterState::publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done) {
  std::vector<std::shared_ptr<EventHandler>> handlers;
  {
    std::lock_guard lock(subscribers_->mutex);
    auto [begin, end] = subscribers_->by_lun.equal_range(lun_key);
    for (auto it = begin; it != end; ++it) handlers.push_back(it->second.second);
  }
  // Every handler acknowledges; `done` runs after the last one (possibly on another thread).
  struct Pending {
    std::atomic<size_t> remaining;
    UniqueFunction<void(Status)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = handlers.size() + 1;
  pending->done = std::move(done);
  auto release = [pending]() {
    if (pending->remaining.fetch_sub(1) == 1) pending->done(Status{});
  };
  for (auto& handler : handlers) (*handler)(event, release);
  release();
}

std::string LocalClusterState::record_path(const std::string& lun_key) const {
  std::ostringstream name;
  name << std::hex << stable_hash64(lun_key) << ".reservation";
  return (std::filesystem::path(state_dir_) / name.str()).string();
}

void LocalClusterState::read_reservation(const std::string& lun_key,
                                         UniqueFunction<void(Result<VersionedRecord>)> done) {
  VersionedRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(lun_key);
    if (it != records_.end()) {
      record = it->second;
    } else if (!state_dir_.empty()) {
      std::ifstream in(record_path(lun_key), std::ios::binary);
      if (in) {
        std::ostringstream bytes;
        bytes << in.rdbuf();
        record.version = 1;
        record.bytes = bytes.str();
        records_[lun_key] = record;
      }
    }
  }
  done(std::move(record));
}

void LocalClusterState::write_reservation(const std::string& lun_key, uint64_t expected_version, std::string bytes,
                                          bool persist_through_power_loss, UniqueFunction<void(Status)> done) {
  Status status;
  {
    std::lock_guard lock(mutex_);
    VersionedRecord& record = records_[lun_key];
    if (record.version != expected_version) {
      status = error(ErrorCode::busy, "reservation record of " + lun_key + " changed concurrently");
    } else {
      if (!state_dir_.empty()) status = persist(lun_key, bytes, persist_through_power_loss);
      if (status.ok()) {
        record.version = expected_version + 1;
        record.bytes = std::move(bytes);
      }
    }
  }
  done(std::move(status));
}

Status LocalClusterState::persist(const std::string& lun_key, const std::string& bytes, bool keep) {
  const std::string path = record_path(lun_key);
  std::error_code ec;
  if (!keep) {
    std::filesystem::remove(path, ec);
    return {};
  }
  // Write-then-rename so that a crash never leaves a torn record.
  std::filesystem::create_directories(state_dir_, ec);
  const std::string temporary = path + ".tmp";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return error(ErrorCode::io_error, "reservation record of " + lun_key + ": cannot write " + temporary);
  std::filesystem::rename(temporary, path, ec);
  if (ec) return error(ErrorCode::io_error, "reservation record of " + lun_key + ": cannot rename to " + path);
  return {};
}

}  // namespace portico::cluster
