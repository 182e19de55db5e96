// What the `portico` command reads from a gateway group's RADOS objects, without any gateway's
// help: the membership records (who serves, with which ids, when each was last heard from) and a
// LUN's reservation record (registrants and holder, whichever protocol made them).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ceph/rados_connection.h"
#include "cluster/rados/config_record.h"
#include "cluster/rados/config_watch.h"
#include "cluster/rados/membership.h"
#include "cluster/rados/pool.h"
#include "cluster/rados/session_status.h"
#include "core/common/result.h"
#include "core/reservations/reservation_state.h"

namespace portico::cli {

struct ClusterOptions {
  std::string ceph_conf = "/etc/ceph/ceph.conf";
  std::string client = "client.admin";
  std::string keyring;
  std::string pool = "rbd";  // the gateways' shared objects (cluster.pool of their configuration)
  std::string gateways_object = "portico.gateways";
  std::string config_object = "portico.config";  // cluster.config_object
};

struct GatewayStatus {
  cluster::rados::GatewayRecord record;
  std::vector<cluster::rados::SessionLine> sessions;  // as of its last heartbeat that changed them
  int64_t heartbeat_age_ms = 0;
  int64_t lease_ms = 0;  // the record's, or the default when an older gateway did not record it
  bool live = false;     // heard from within its lease
};

// One gateway's answer to a configuration notify (config_watch.h), by its RADOS client id.
struct ConfigAck {
  uint64_t instance_id = 0;
  bool answered = false;  // false: it did not answer within the timeout
  cluster::rados::ConfigAnswer answer;
};

struct LunReservations {
  std::string image;    // "pool/name" as asked
  std::string lun_key;  // "rbd:<pool>/<image id>": the same on every gateway
  std::string object;   // its RADOS object
  uint64_t version = 0;
  ReservationState state;
  bool exists = false;  // no record yet: no gateway has served the LUN
};

class ClusterView {
 public:
  static Result<std::unique_ptr<ClusterView>> connect(const ClusterOptions& options);

  // Every gateway of the membership object, by name; `default_lease_ms` for records without one.
  // With `sessions`, each one's sessions and controllers from the status object too.
  Result<std::vector<GatewayStatus>> gateways(int64_t default_lease_ms, bool sessions = false) const;
  // The reservation record of image `image` ("pool/name", or "name" in the cluster pool).
  Result<LunReservations> reservations(const std::string& image) const;
  // The configuration record, and a guarded replacement of it (ErrorCode::busy when it is no
  // longer at `expected_version`).
  Result<cluster::rados::VersionedObject> config_record() const;
  Status write_config_record(uint64_t expected_version, const std::string& yaml) const;
  // The image ("pool/name", or "name" in the cluster pool) exists and can be opened.
  Status check_image(const std::string& image) const;
  // Resizes the image through librbd; each gateway sees the new size through its own watch of
  // the image header and tells its hosts (CAPACITY DATA HAS CHANGED, Namespace Attribute Changed).
  Status resize_image(const std::string& image, uint64_t bytes) const;
  // Tells every watching gateway that the record changed and waits (up to `timeout`) for each to
  // apply it or say why it cannot.
  Result<std::vector<ConfigAck>> notify_config(std::chrono::milliseconds timeout) const;
  // The monitors' config-key store, where the record's CHAP secrets are (ceph/config_key.h),
  // under "portico/<pool>/<config object>/".
  Result<std::string> config_key_get(const std::string& key) const;
  Status config_key_set(const std::string& key, const std::string& value) const;
  Status config_key_remove(const std::string& key) const;
  [[nodiscard]] std::string config_key_prefix() const {
    return "portico/" + options_.pool + "/" + options_.config_object + "/";
  }
  // "pool/object" of the configuration record, for messages.
  [[nodiscard]] std::string config_where() const { return pool_->where(options_.config_object); }

 private:
  ClusterView() = default;
  ClusterOptions options_;
  std::shared_ptr<ceph::RadosConnection> connection_;  // outlives pool_ (declared first)
  std::shared_ptr<cluster::rados::Pool> pool_;
};

}  // namespace portico::cli
