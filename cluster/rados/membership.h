// Gateway membership: object portico.gateways (or the name the options give), one omap entry
// per gateway: key = gateway name, value = a one-line text record
//
//   v=1 tpg=2 port=2 instance=4141 addr=127.0.0.1:0/3349102 heartbeat_ms=1764412345678
//       nvme=127.0.0.1:4420,[::1]:4420 iscsi=127.0.0.1:3260 lease_ms=10000 config=3
//       refused=4 refused_why=target%20iqn...:%20a%20new%20NVMe%20subsystem...
//
// (target port group id, relative target port id, the librados instance id and address that
// fencing blocklists, the last heartbeat in ms since the epoch, the NVMe/TCP listeners that the
// discovery controllers of every gateway list, the iSCSI portals that every gateway's
// SendTargets answer lists, the lease after which the others report it unavailable (for tools
// that read the record), the version of the group's configuration record it serves (absent: its
// own file) and the last version it refused with the reason (percent-encoded); unknown keys are
// ignored, so an older gateway reads a newer record).
// Gateway clocks are assumed to be NTP-synchronised well within the lease.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/rados/pool.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

struct GatewayRecord {
  std::string name;
  uint16_t target_port_group = 0;
  uint16_t relative_port_id = 0;
  uint64_t instance_id = 0;
  std::string address;
  int64_t heartbeat_ms = 0;
  std::vector<std::string> nvme_listeners;  // "address:port"
  std::vector<std::string> iscsi_portals;   // "address:port"
  int64_t lease_ms = 0;                     // 0: not recorded (an older gateway)
  uint64_t config_version = 0;              // 0: serves its own file, not the configuration record
  uint64_t config_refused = 0;              // the last record version it could not apply (0: none since)
  std::string config_refused_why;           // and why

  bool operator==(const GatewayRecord&) const = default;
};

std::string encode_gateway_record(const GatewayRecord& record);
Result<GatewayRecord> parse_gateway_record(const std::string& name, const std::string& text);
// The smallest id >= 1 that no record uses as target port group or relative port id.
uint16_t smallest_free_id(const std::vector<GatewayRecord>& records);
int64_t now_ms();

class Membership : public std::enable_shared_from_this<Membership> {
 public:
  Membership(std::shared_ptr<Pool> pool, std::string object, std::string gateway_name,
             std::vector<std::string> nvme_listeners = {}, std::vector<std::string> iscsi_portals = {},
             int64_t lease_ms = 0);

  struct Registration {
    GatewayRecord self;
    std::optional<GatewayRecord> previous;  // this name's record before, when it was another client
  };
  // Before register_self(): the configuration record version this gateway serves.
  void set_config_version(uint64_t version) { config_version_ = version; }
  // A later version applied, or one refused (and why): written with the next heartbeat.
  void set_config_state(uint64_t applied, uint64_t refused, const std::string& why);
  // Start-up only (blocking): reuses this name's ids or claims the smallest free one with a
  // version-guarded update, retried on a concurrent change.
  Result<Registration> register_self();
  // Blocking reads and writes of the membership object (worker or start-up threads).
  Result<std::vector<GatewayRecord>> read_all(uint64_t* version = nullptr);
  // Asynchronous heartbeat: writes this gateway's record with the current time, then reads
  // every record into the cache. Skipped while the previous round is still in flight.
  void heartbeat_async();

  // Waits (bounded) until no heartbeat round holds this membership: the last reference to the
  // pool must not be dropped on a librados thread.
  void wait_idle(std::chrono::milliseconds limit) const;

  [[nodiscard]] std::vector<GatewayRecord> cached() const;
  void set_cached(std::vector<GatewayRecord> records);
  [[nodiscard]] const GatewayRecord& self() const { return self_; }
  [[nodiscard]] const std::string& object() const { return object_; }

 private:
  struct Round;
  friend struct Round;

  std::shared_ptr<Pool> pool_;
  std::string object_;
  std::string gateway_name_;
  std::vector<std::string> nvme_listeners_;
  std::vector<std::string> iscsi_portals_;
  int64_t lease_ms_ = 0;
  uint64_t config_version_ = 0;
  GatewayRecord self_;
  mutable std::mutex mutex_;
  std::vector<GatewayRecord> cache_;
  // Shared with the round in flight, which clears it only after dropping its reference to this.
  std::shared_ptr<std::atomic<bool>> round_in_flight_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> last_heartbeat_error_{0};
};

}  // namespace portico::cluster::rados
