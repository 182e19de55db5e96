#include "cluster/rados/rados_cluster_state.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>

#include "cluster/local/lun_identity.h"
#include "cluster/rados/event_channel.h"
#include "cluster/rados/fencing.h"
#include "cluster/rados/membership.h"
#include "cluster/rados/pool.h"
#include "cluster/rados/reservation_store.h"
#include "cluster/rados/session_status.h"

namespace portico::cluster::rados {
namespace {

// How old a watch's last confirmation may be before the state counts as unknown: half the
// lease, but never less than two linger pings (objecter_tick_interval) or every check between
// two pings would fail.
std::chrono::milliseconds stale_after(const RadosClusterOptions& options, rados_t cluster) {
  auto threshold = options.lease / 2;
  char value[64] = {};
  if (rados_conf_get(cluster, "objecter_tick_interval", value, sizeof value) == 0) {
    const double tick_s = std::strtod(value, nullptr);
    const auto floor = std::chrono::milliseconds(static_cast<int64_t>(tick_s * 2000.0) + 500);
    if (threshold < floor) {
      spdlog::warn("cluster: half the lease ({} ms) is shorter than two watch pings (objecter_tick_interval {} s); "
                   "a watch counts as stale after {} ms",
                   threshold.count(), value, floor.count());
      threshold = floor;
    }
  }
  return threshold;
}

Status check_options(const RadosClusterOptions& options) {
  auto bad = [](const std::string& why) { return error(ErrorCode::invalid_argument, "rados cluster state: " + why); };
  if (options.gateway_name.empty()) return bad("gateway name is empty");
  if (options.gateway_name.find_first_of(" \t\n") != std::string::npos) return bad("gateway name has white space");
  if (options.pool.empty()) return bad("pool is empty");
  if (options.heartbeat_interval.count() <= 0) return bad("heartbeat interval must be positive");
  if (options.lease <= options.heartbeat_interval) return bad("lease must be longer than the heartbeat interval");
  if (options.notify_timeout.count() <= 0) return bad("notify timeout must be positive");
  if (options.watch_timeout_s == 0) return bad("watch timeout must be positive");
  return {};
}

}  // namespace

RadosClusterState::RadosClusterState(RadosClusterOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<RadosClusterState>> RadosClusterState::start(std::shared_ptr<ceph::RadosConnection> connection,
                                                                   RadosClusterOptions options) {
  if (auto status = check_options(options); !status.ok()) return status;
  auto ioctx = connection->open_pool(options.pool);
  if (!ioctx.ok()) return error(ioctx.status().code(), "rados cluster state: rados_ioctx_create: " + ioctx.status().message());
  std::unique_ptr<RadosClusterState> state(new RadosClusterState(options));
  state->pool_ = std::make_shared<Pool>(connection, *ioctx, options.pool);
  state->pool_->set_blocklisted_listener(options.on_fenced);
  state->membership_ =
      std::make_shared<Membership>(state->pool_, options.gateways_object, options.gateway_name, options.nvme_listeners,
                                 options.iscsi_portals, options.lease.count());
  state->membership_->set_config_version(options.config_version);
  auto registration = state->membership_->register_self();
  if (!registration.ok()) return error(registration.status().code(), "rados cluster state: " + registration.status().message());
  state->target_port_group_ = registration->self.target_port_group;
  state->relative_port_id_ = registration->self.relative_port_id;

  auto fencer =
      std::make_shared<Fencer>(state->pool_, state->membership_, options.blocklist_expiry_s, state->metrics_);
  if (registration->previous && options.fence_previous_incarnation) {
    const auto& previous = *registration->previous;
    auto fenced = fencer->fence_address(previous.address,
                                        "the previous client of gateway '" + options.gateway_name + "' (client." +
                                            std::to_string(previous.instance_id) + ")",
                                        "gateway '" + options.gateway_name + "' started again");
    if (!fenced.ok()) spdlog::warn("cluster: {}", fenced.message());
  }
  EventChannelOptions channel;
  channel.watch_timeout_s = options.watch_timeout_s;
  channel.notify_timeout = options.notify_timeout;
  channel.stale_after = stale_after(options, connection->handle());
  channel.metrics = state->metrics_;
  state->events_ = std::make_shared<EventChannel>(state->pool_, channel, fencer);
  state->reservations_ = std::make_unique<ReservationStore>(state->pool_);
  // Proven from now on only as long as the heartbeat's checks renew it.
  state->set_proven_until(std::chrono::steady_clock::now() + channel.stale_after);
  state->heartbeat_thread_ = std::thread([raw = state.get()]() { raw->heartbeat_loop(); });
  pthread_setname_np(state->heartbeat_thread_.native_handle(), "rados-heartbeat");
  spdlog::info("cluster: gateway '{}' is target port group {} / relative port {} in {} (client.{} at {})",
               options.gateway_name, state->target_port_group_, state->relative_port_id_,
               state->pool_->where(options.gateways_object), connection->instance_id(), connection->address());
  return state;
}

RadosClusterState::~RadosClusterState() {
  {
    std::lock_guard lock(heartbeat_mutex_);
    stopping_ = true;
  }
  heartbeat_wake_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  if (events_) events_->shutdown();
  if (membership_) membership_->wait_idle(options_.lease);
}

void RadosClusterState::set_config_state(uint64_t applied, uint64_t refused, const std::string& why) {
  membership_->set_config_state(applied, refused, why);
  {
    std::lock_guard lock(heartbeat_mutex_);
    heartbeat_now_ = true;
  }
  heartbeat_wake_.notify_all();
}

void RadosClusterState::heartbeat_loop() {
  std::unique_lock lock(heartbeat_mutex_);
  while (!stopping_) {
    lock.unlock();
    membership_->heartbeat_async();
    announce_access_state_changes();
    publish_sessions();
    set_proven_until(events_->check_watches());
    lock.lock();
    heartbeat_wake_.wait_for(lock, options_.heartbeat_interval, [this]() { return stopping_ || heartbeat_now_; });
    heartbeat_now_ = false;
  }
}

namespace {

// One asynchronous omap write of the session list; the pool is held until it completes.
struct SessionWrite {
  std::shared_ptr<Pool> pool;
  std::string object;
  std::shared_ptr<std::atomic<bool>> in_flight;
  rados_write_op_t op = nullptr;
  rados_completion_t completion = nullptr;

  static void done(rados_completion_t completion, void* arg) {
    std::unique_ptr<SessionWrite> write(static_cast<SessionWrite*>(arg));
    const int ret = rados_aio_get_return_value(completion);
    if (ret < 0) spdlog::debug("cluster: {}: session list not written: {}", write->pool->where(write->object), ceph::rados_error_text(ret));
    rados_aio_release(completion);
    rados_release_write_op(write->op);
    write->in_flight->store(false);
  }
};

}  // namespace

void RadosClusterState::publish_sessions() {
  if (!options_.session_lines || sessions_in_flight_->load()) return;
  std::string lines = options_.session_lines();
  if (lines == published_sessions_) return;
  auto write = std::make_unique<SessionWrite>();
  write->pool = pool_;
  write->object = status_object_name(options_.gateways_object);
  write->in_flight = sessions_in_flight_;
  const char* key = options_.gateway_name.c_str();
  const char* value = lines.data();
  const size_t key_length = options_.gateway_name.size();
  const size_t value_length = lines.size();
  write->op = rados_create_write_op();
  rados_write_op_omap_set2(write->op, &key, &value, &key_length, &value_length, 1);
  rados_aio_create_completion2(write.get(), &SessionWrite::done, &write->completion);
  sessions_in_flight_->store(true);
  const int ret = rados_aio_write_op_operate(write->op, pool_->ioctx(), write->completion, write->object.c_str(), nullptr,
                                             LIBRADOS_OPERATION_NOFLAG);
  if (ret < 0) {
    sessions_in_flight_->store(false);
    rados_aio_release(write->completion);
    rados_release_write_op(write->op);
    return;
  }
  write.release();
  published_sessions_ = std::move(lines);
}

void RadosClusterState::set_proven_until(std::chrono::steady_clock::time_point until) {
  proven_until_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count(),
                         std::memory_order_release);
}

void RadosClusterState::announce_access_state_changes() {
  // SPC-4 5.15.2.3: a change of a target port group's asymmetric access state (a gateway's
  // lease running out, its return) is a unit attention on every I_T nexus, so that hosts re-read
  // REPORT TARGET PORT GROUPS. Each gateway derives it from the same membership records. A group
  // seen for the first time (a gateway joining) changes no state: it is only added.
  // Only from a fresh view: while this gateway's own heartbeat rounds fail (RADOS unreachable)
  // every other record ages alike, and it refuses commands anyway; the baseline stays.
  const int64_t now = now_ms();
  const auto records = membership_->cached();
  const bool fresh = std::any_of(records.begin(), records.end(), [&](const GatewayRecord& record) {
    return record.target_port_group == target_port_group_ &&
           now - record.heartbeat_ms <= 2 * options_.heartbeat_interval.count();
  });
  if (!fresh) return;
  bool changed = false;
  for (const auto& group : target_port_groups()) {
    const auto [known, added] = access_states_.try_emplace(group.id, group.state);
    if (added) {
      spdlog::info("cluster: target port group {} listed, {}", group.id, alua_state_name(group.state));
    } else if (known->second != group.state) {
      spdlog::info("cluster: target port group {} is now {}", group.id, alua_state_name(group.state));
      known->second = group.state;
      changed = true;
    }
  }
  if (changed) events_->deliver_to_all(LunEvent::Kind::access_state_changed);
}

Result<LunIdentity> RadosClusterState::lun_identity(const std::string& lun_key) { return derive_lun_identity(lun_key); }

std::vector<TargetPortGroupInfo> RadosClusterState::target_port_groups() {
  const int64_t now = now_ms();
  std::vector<TargetPortGroupInfo> groups;
  for (const auto& record : membership_->cached()) {
    TargetPortGroupInfo group;
    group.id = record.target_port_group;
    // This gateway's own group is the one answering: active whatever its last heartbeat.
    const bool live = record.target_port_group == target_port_group_ || now - record.heartbeat_ms <= options_.lease.count();
    group.state = live ? AluaState::active_optimized : AluaState::unavailable;
    group.relative_port_ids = {record.relative_port_id};
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<GatewayInfo> RadosClusterState::gateways() {
  const int64_t now = now_ms();
  std::vector<GatewayInfo> all;
  for (const auto& record : membership_->cached()) {
    const bool live = record.target_port_group == target_port_group_ || now - record.heartbeat_ms <= options_.lease.count();
    all.push_back({record.name, record.target_port_group, record.relative_port_id,
                   live ? AluaState::active_optimized : AluaState::unavailable, record.nvme_listeners,
                   record.iscsi_portals, record.heartbeat_ms});
  }
  return all;
}

std::unique_ptr<EventSubscription> RadosClusterState::subscribe(const std::string& lun_key, EventHandler handler) {
  return events_->subscribe(lun_key, std::move(handler));
}

void RadosClusterState::publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done) {
  events_->publish(lun_key, event, std::move(done));
}

void RadosClusterState::read_reservation(const std::string& lun_key,
                                         UniqueFunction<void(Result<VersionedRecord>)> done) {
  reservations_->read(lun_key, std::move(done));
}

void RadosClusterState::write_reservation(const std::string& lun_key, uint64_t expected_version, std::string bytes,
                                          bool /*persist_through_power_loss: RADOS keeps every record*/,
                                          UniqueFunction<void(Status)> done) {
  reservations_->write(lun_key, expected_version, std::move(bytes), std::move(done));
}

}  // namespace portico::cluster::rados
