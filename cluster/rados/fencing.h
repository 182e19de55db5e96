// Fencing: a gateway that did not acknowledge an event in time is blocklisted (osd blocklist,
// through rados_blocklist_add) before the event's publisher goes on, so that a partitioned
// gateway can never act on state the others have moved past — its RADOS and RBD I/O fails
// with EBLOCKLISTED from then on.
//
// Notify replies name a watcher by its client instance id ("gid"). Pacific's C API has no
// rados_list_watchers, so the address to blocklist is taken from the membership record that
// gateway registered (instance id and address, membership.h), re-read once when unknown.
// Blocking: runs on the worker thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/rados/membership.h"
#include "cluster/rados/pool.h"
#include "core/cluster_metrics.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

class Fencer {
 public:
  Fencer(std::shared_ptr<Pool> pool, std::shared_ptr<Membership> membership, uint32_t expiry_s,
         std::shared_ptr<ClusterMetrics> metrics = nullptr)
      : pool_(std::move(pool)), membership_(std::move(membership)), expiry_s_(expiry_s), metrics_(std::move(metrics)) {}

  // Blocklists the clients `instance_ids` (never this gateway's own). `why` ends up in the log
  // and the error. Fails naming every client that could not be fenced.
  Status fence_instances(const std::vector<uint64_t>& instance_ids, const std::string& why);
  // Blocklists one address (a previous incarnation of this gateway, say).
  Status fence_address(const std::string& address, const std::string& who, const std::string& why);

 private:
  std::shared_ptr<Pool> pool_;
  std::shared_ptr<Membership> membership_;
  uint32_t expiry_s_;
  std::shared_ptr<ClusterMetrics> metrics_;
};

}  // namespace portico::cluster::rados
