// The clustered ClusterState: several gateways serve the same LUNs active/active and keep
// everything that must be identical in RADOS, with Ceph as the only distributed engine.
//
//   membership.h          who the gateways are (ALUA target port groups), heartbeats
//   reservation_store.h   reservation records with version-guarded writes
//   event_channel.h       events over watch/notify; losing the channel stops service
//   fencing.h             a gateway that does not acknowledge an event is blocklisted
//   object_names.h        which objects, under which names
//
// Threads: one heartbeat thread (membership heartbeat, watch checks) and one worker (blocking
// librados calls: fencing, re-watching). Nothing here blocks the caller's thread except start()
// and the first subscribe() of a LUN (start-up, never an event loop).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ceph/rados_connection.h"
#include "core/cluster_state.h"

namespace portico::cluster::rados {

class EventChannel;
class Membership;
class Pool;
class ReservationStore;

struct RadosClusterOptions {
  std::string pool = "rbd";
  std::string gateway_name;  // unique per gateway (configuration); its ids stay with it
  std::chrono::milliseconds heartbeat_interval{2000};
  std::chrono::milliseconds lease{10000};  // a gateway whose heartbeat is older is unavailable
  std::chrono::milliseconds notify_timeout{5000};
  uint32_t watch_timeout_s = 10;       // given to rados_watch3
  uint32_t blocklist_expiry_s = 3600;  // how long a fenced gateway stays blocklisted
  std::string gateways_object = "portico.gateways";  // shared by every gateway of the same LUNs
  std::vector<std::string> nvme_listeners;  // this gateway's, for every gateway's discovery log
  std::vector<std::string> iscsi_portals;   // this gateway's, for every gateway's SendTargets
  uint64_t config_version = 0;              // the configuration record version it serves (0: none)
  // Blocklist the previous client of this gateway name at start (a stale process cannot write).
  bool fence_previous_incarnation = true;
  // What this gateway serves now (session_status.h), asked at each heartbeat and written to the
  // status object when it changed. Empty: nothing published.
  std::function<std::string()> session_lines;
  // Told once (on a librados or worker thread) when another gateway has blocklisted this one:
  // nothing this client does reaches the OSDs any more. Empty: only logged.
  std::function<void(const std::string& why)> on_fenced;
};

class RadosClusterState final : public ClusterState {
 public:
  // Opens the pool, registers this gateway and starts the heartbeat (blocking).
  static Result<std::unique_ptr<RadosClusterState>> start(std::shared_ptr<ceph::RadosConnection> connection,
                                                          RadosClusterOptions options);
  // Stops the heartbeat, unwatches every LUN and flushes librados' callbacks: no handler runs
  // after it returns.
  ~RadosClusterState() override;
  RadosClusterState(const RadosClusterState&) = delete;
  RadosClusterState& operator=(const RadosClusterState&) = delete;

  Result<LunIdentity> lun_identity(const std::string& lun_key) override;
  // From the membership cache (refreshed by the heartbeat): no RADOS call.
  std::vector<TargetPortGroupInfo> target_port_groups() override;
  std::vector<GatewayInfo> gateways() override;
  [[nodiscard]] const ClusterMetrics* metrics() const override { return metrics_.get(); }
  uint16_t local_target_port_group() override { return target_port_group_; }
  // Renewed by the heartbeat's watch checks: a gateway that was stopped or cut off past it
  // refuses commands even before it has noticed the lost watch.
  [[nodiscard]] int64_t state_proven_until_ns() const override {
    return proven_until_ns_.load(std::memory_order_acquire);
  }
  [[nodiscard]] uint16_t local_relative_port_id() const { return relative_port_id_; }
  // The pool of the shared objects (the configuration record's watch uses it too).
  [[nodiscard]] std::shared_ptr<Pool> pool() const { return pool_; }
  // The configuration record version this gateway now serves, and the last one it refused
  // (0: none) with the reason: in its membership record at once (the next heartbeat, now).
  void set_config_state(uint64_t applied, uint64_t refused, const std::string& why);

  std::unique_ptr<EventSubscription> subscribe(const std::string& lun_key, EventHandler handler) override;
  void publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done) override;

  // The record always lives in RADOS, whatever `persist_through_power_loss` says (RADOS is
  // durable either way; SPC-4 5.12.5 allows keeping a non-APTPL record).
  void read_reservation(const std::string& lun_key, UniqueFunction<void(Result<VersionedRecord>)> done) override;
  void write_reservation(const std::string& lun_key, uint64_t expected_version, std::string bytes,
                         bool persist_through_power_loss, UniqueFunction<void(Status)> done) override;

 private:
  explicit RadosClusterState(RadosClusterOptions options);
  void heartbeat_loop();
  void announce_access_state_changes();  // heartbeat thread
  void publish_sessions();               // heartbeat thread
  void set_proven_until(std::chrono::steady_clock::time_point until);

  RadosClusterOptions options_;
  std::shared_ptr<Pool> pool_;
  std::shared_ptr<Membership> membership_;
  std::unique_ptr<ReservationStore> reservations_;
  std::shared_ptr<EventChannel> events_;
  std::atomic<int64_t> proven_until_ns_{INT64_MAX};  // steady_clock
  uint16_t target_port_group_ = 0;
  uint16_t relative_port_id_ = 0;
  // Heartbeat thread only: each group's state at the last look.
  std::map<uint16_t, AluaState> access_states_;

  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_wake_;
  bool stopping_ = false;
  bool heartbeat_now_ = false;  // a configuration state to publish before the interval ends
  std::string published_sessions_;  // heartbeat thread: the last list written
  std::shared_ptr<std::atomic<bool>> sessions_in_flight_ = std::make_shared<std::atomic<bool>>(false);
  std::thread heartbeat_thread_;
  // Shared with the event channel and the fencer, whose callbacks may outlive this object.
  std::shared_ptr<ClusterMetrics> metrics_ = std::make_shared<ClusterMetrics>();
};

}  // namespace portico::cluster::rados
