#include "cli/cluster_view.h"

#include <fmt/format.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "ceph/config_key.h"
#include "cluster/rados/object_names.h"
#include "cluster/rados/omap_read.h"
#include "cluster/rados/versioned_object.h"

namespace portico::cli {

Result<std::unique_ptr<ClusterView>> ClusterView::connect(const ClusterOptions& options) {
  ceph::RadosOptions rados;
  rados.conf_path = options.ceph_conf;
  rados.client_name = options.client;
  rados.keyring = options.keyring;
  rados.connect_timeout_s = 10;
  // A short-lived command: no admin socket (on a gateway host it would collide with the
  // gateway's, named after the same client, and librados would complain on stderr).
  rados.overrides = {{"admin_socket", ""}};
  auto connection = ceph::RadosConnection::connect(rados);
  if (!connection.ok()) return connection.status();
  auto ioctx = (*connection)->open_pool(options.pool);
  if (!ioctx.ok()) return ioctx.status();
  std::unique_ptr<ClusterView> view(new ClusterView());
  view->options_ = options;
  view->connection_ = std::move(*connection);
  view->pool_ = std::make_shared<cluster::rados::Pool>(view->connection_, *ioctx, options.pool);
  return view;
}

Result<std::vector<GatewayStatus>> ClusterView::gateways(int64_t default_lease_ms, bool sessions) const {
  cluster::rados::Membership membership(pool_, options_.gateways_object, "");
  auto records = membership.read_all();
  if (!records.ok()) return records.status();
  std::map<std::string, std::string> lists;
  if (sessions) {
    constexpr uint64_t kMaxGateways = 1024;
    auto read = cluster::rados::read_omap(*pool_, cluster::rados::status_object_name(options_.gateways_object), kMaxGateways);
    if (!read.ok()) return read.status();
    lists = std::move(read->entries);
  }
  const int64_t now = cluster::rados::now_ms();
  std::vector<GatewayStatus> out;
  for (auto& record : *records) {
    GatewayStatus status;
    status.heartbeat_age_ms = now - record.heartbeat_ms;
    status.lease_ms = record.lease_ms != 0 ? record.lease_ms : default_lease_ms;
    status.live = status.heartbeat_age_ms <= status.lease_ms;
    if (auto list = lists.find(record.name); list != lists.end()) {
      status.sessions = cluster::rados::decode_session_lines(list->second);
    }
    status.record = std::move(record);
    out.push_back(std::move(status));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.record.name < b.record.name; });
  return out;
}

namespace {

// The RBD image id of `name` in `pool` (what gateways key the LUN's shared state by).
Result<std::string> image_id(const ceph::RadosConnection& connection, const std::string& pool,
                             const std::string& name) {
  auto ioctx = connection.open_pool(pool);
  if (!ioctx.ok()) return ioctx.status();
  rbd_image_t image = nullptr;
  int ret = rbd_open_read_only(*ioctx, name.c_str(), &image, nullptr);
  if (ret < 0) {
    rados_ioctx_destroy(*ioctx);
    return error(ret == -ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                 "image " + pool + "/" + name + ": " + ceph::rados_error_text(ret));
  }
  char id[64] = {};
  ret = rbd_get_id(image, id, sizeof(id));
  rbd_close(image);
  rados_ioctx_destroy(*ioctx);
  if (ret < 0) return error(ErrorCode::io_error, "image " + pool + "/" + name + ": rbd_get_id: " + ceph::rados_error_text(ret));
  return std::string(id);
}

// "pool/name" or "name" (in `default_pool`).
Result<std::pair<std::string, std::string>> split_image(const std::string& image, const std::string& default_pool) {
  const size_t slash = image.find('/');
  const std::string pool = slash == std::string::npos ? default_pool : image.substr(0, slash);
  const std::string name = slash == std::string::npos ? image : image.substr(slash + 1);
  if (pool.empty() || name.empty() || name.find('/') != std::string::npos) {
    return error(ErrorCode::invalid_argument, "image '" + image + "': expected POOL/NAME or NAME");
  }
  return std::make_pair(pool, name);
}

}  // namespace

Status ClusterView::check_image(const std::string& image) const {
  auto where = split_image(image, options_.pool);
  if (!where.ok()) return where.status();
  auto id = image_id(*connection_, where->first, where->second);
  return id.ok() ? Status{} : id.status();
}

Status ClusterView::resize_image(const std::string& image, uint64_t bytes) const {
  auto where = split_image(image, options_.pool);
  if (!where.ok()) return where.status();
  auto ioctx = connection_->open_pool(where->first);
  if (!ioctx.ok()) return ioctx.status();
  const std::string name = where->first + "/" + where->second;
  rbd_image_t handle = nullptr;
  int ret = rbd_open(*ioctx, where->second.c_str(), &handle, nullptr);
  if (ret == 0) {
    rbd_image_info_t info{};
    ret = rbd_stat(handle, &info, sizeof(info));
    if (ret == 0 && bytes < info.size) {
      rbd_close(handle);
      rados_ioctx_destroy(*ioctx);
      return error(ErrorCode::invalid_argument, fmt::format("image {}: {} bytes is smaller than its {} bytes: a LUN is "
                                                            "not shrunk under its hosts' file systems",
                                                            name, bytes, info.size));
    }
    if (ret == 0) ret = rbd_resize(handle, bytes);
    rbd_close(handle);
  }
  rados_ioctx_destroy(*ioctx);
  if (ret < 0) {
    return error(ret == -ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                 "image " + name + ": " + ceph::rados_error_text(ret));
  }
  return {};
}

Result<cluster::rados::VersionedObject> ClusterView::config_record() const {
  return cluster::rados::read_config_record(*pool_, options_.config_object);
}

Status ClusterView::write_config_record(uint64_t expected_version, const std::string& yaml) const {
  return cluster::rados::write_config_record(*pool_, options_.config_object, expected_version, yaml);
}

Result<std::string> ClusterView::config_key_get(const std::string& key) const {
  return ceph::config_key_get(*connection_, key);
}

Status ClusterView::config_key_set(const std::string& key, const std::string& value) const {
  return ceph::config_key_set(*connection_, key, value);
}

Status ClusterView::config_key_remove(const std::string& key) const { return ceph::config_key_remove(*connection_, key); }

Result<std::vector<ConfigAck>> ClusterView::notify_config(std::chrono::milliseconds timeout) const {
  char* reply = nullptr;
  size_t reply_length = 0;
  const std::string payload = "config";
  const int ret = rados_notify2(pool_->ioctx(), options_.config_object.c_str(), payload.data(),
                                static_cast<int>(payload.size()), static_cast<uint64_t>(timeout.count()), &reply,
                                &reply_length);
  // -ETIMEDOUT still carries the answers of those that answered.
  if (ret < 0 && ret != -ETIMEDOUT) {
    return error(ErrorCode::io_error, config_where() + ": rados_notify2: " + ceph::rados_error_text(ret));
  }
  std::vector<ConfigAck> out;
  notify_ack_t* acks = nullptr;
  notify_timeout_t* timeouts = nullptr;
  size_t ack_count = 0;
  size_t timeout_count = 0;
  if (reply != nullptr && rados_decode_notify_response(reply, reply_length, &acks, &ack_count, &timeouts, &timeout_count) == 0) {
    for (size_t i = 0; i < ack_count; ++i) {
      ConfigAck ack;
      ack.instance_id = acks[i].notifier_id;
      ack.answered = true;
      ack.answer = cluster::rados::ConfigAnswer::decode(
          std::string(acks[i].payload != nullptr ? acks[i].payload : "", acks[i].payload_len));
      out.push_back(std::move(ack));
    }
    for (size_t i = 0; i < timeout_count; ++i) out.push_back({timeouts[i].notifier_id, false, {}});
    rados_free_notify_response(acks, ack_count, timeouts);
  }
  if (reply != nullptr) rados_buffer_free(reply);
  return out;
}

Result<LunReservations> ClusterView::reservations(const std::string& image) const {
  auto where = split_image(image, options_.pool);
  if (!where.ok()) return where.status();
  const auto& [pool, name] = *where;
  auto id = image_id(*connection_, pool, name);
  if (!id.ok()) return id.status();
  LunReservations out;
  out.image = pool + "/" + name;
  out.lun_key = "rbd:" + pool + "/" + *id;
  out.object = cluster::rados::lun_object_name(out.lun_key);
  auto record = cluster::rados::read_versioned_object(*pool_, out.object, "reservation record of " + out.image);
  if (!record.ok()) return record.status();
  out.exists = record->exists;
  out.version = record->version;
  if (record->data.empty()) return out;  // none, or created by a watch and never written
  auto state = parse_reservation_state(record->data);
  if (!state.ok()) return error(ErrorCode::invalid_argument, pool_->where(out.object) + ": " + state.status().message());
  out.state = std::move(*state);
  return out;
}

}  // namespace portico::cli
