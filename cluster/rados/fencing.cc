#include "cluster/rados/fencing.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

namespace portico::cluster::rados {
namespace {

std::optional<GatewayRecord> find_instance(const std::vector<GatewayRecord>& records, uint64_t instance_id) {
  for (const auto& r : records) {
    if (r.instance_id == instance_id) return r;
  }
  return std::nullopt;
}

}  // namespace

Status Fencer::fence_address(const std::string& address, const std::string& who, const std::string& why) {
  if (address.empty()) return error(ErrorCode::not_found, who + " has no known address to blocklist");
  if (address == pool_->connection().address()) {
    return error(ErrorCode::internal, who + " is this gateway itself (" + address + "): never fenced by itself");
  }
  const auto started = std::chrono::steady_clock::now();
  std::string mutable_address = address;  // rados_blocklist_add takes a char*
  const int ret = rados_blocklist_add(pool_->cluster(), mutable_address.data(), expiry_s_);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (ret < 0) {
    if (metrics_) metrics_->fencing_failures.fetch_add(1, std::memory_order_relaxed);
    return error(ErrorCode::io_error, "rados_blocklist_add(" + address + ") for " + who + ": " + ceph::rados_error_text(ret));
  }
  if (metrics_) metrics_->gateways_fenced.fetch_add(1, std::memory_order_relaxed);
  // This client's later operations then carry the epoch that holds the entry, so an OSD applies
  // them only after it knows the fenced client is out.
  const int map_ret = rados_wait_for_latest_osdmap(pool_->cluster());
  if (map_ret < 0) {
    return error(ErrorCode::io_error, "rados_wait_for_latest_osdmap after fencing " + who + ": " +
                                          ceph::rados_error_text(map_ret));
  }
  spdlog::warn("cluster: fenced {} at {} for {} s ({} ms): {}", who, address, expiry_s_, ms, why);
  return {};
}

Status Fencer::fence_instances(const std::vector<uint64_t>& instance_ids, const std::string& why) {
  std::vector<uint64_t> ids = instance_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const uint64_t self = pool_->connection().instance_id();
  std::vector<GatewayRecord> records = membership_->cached();
  bool reread = false;
  std::string failures;
  for (uint64_t id : ids) {
    const std::string client = "client." + std::to_string(id);
    if (id == self) {
      failures += (failures.empty() ? "" : "; ") + client + " is this gateway itself (its own handler did not apply)";
      continue;
    }
    auto record = find_instance(records, id);
    if (!record && !reread) {  // a gateway that registered since the last heartbeat
      reread = true;
      auto fresh = membership_->read_all();
      if (fresh.ok()) {
        records = std::move(*fresh);
        membership_->set_cached(records);
        record = find_instance(records, id);
      }
    }
    if (!record) {
      failures += (failures.empty() ? "" : "; ") + client + " is no registered gateway in " +
                  pool_->where(membership_->object()) + ": its address is unknown";
      continue;
    }
    const std::string who = "gateway '" + record->name + "' (" + client + ")";
    auto status = fence_address(record->address, who, why);
    if (!status.ok()) failures += (failures.empty() ? "" : "; ") + status.message();
  }
  if (!failures.empty()) return error(ErrorCode::io_error, why + ": cannot fence: " + failures);
  return {};
}

}  // namespace portico::cluster::rados
