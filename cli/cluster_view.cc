#include "cli/cluster_view.h"

#include <rbd/librbd.h>

#include <algorithm>

#include "cluster/rados/object_names.h"
#include "cluster/rados/versioned_object.h"

namespace portico::cli {

Result<std::unique_ptr<ClusterView>> ClusterView::connect(const ClusterOptions& options) {
  ceph::RadosOptions rados;
  rados.conf_path = options.ceph_conf;
  rados.client_name = options.client;
  rados.keyring = options.keyring;
  rados.connect_timeout_s = 10;
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

Result<std::vector<GatewayStatus>> ClusterView::gateways(int64_t default_lease_ms) const {
  cluster::rados::Membership membership(pool_, options_.gateways_object, "");
  auto records = membership.read_all();
  if (!records.ok()) return records.status();
  const int64_t now = cluster::rados::now_ms();
  std::vector<GatewayStatus> out;
  for (auto& record : *records) {
    GatewayStatus status;
    status.heartbeat_age_ms = now - record.heartbeat_ms;
    status.lease_ms = record.lease_ms != 0 ? record.lease_ms : default_lease_ms;
    status.live = status.heartbeat_age_ms <= status.lease_ms;
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

}  // namespace

Result<cluster::rados::VersionedObject> ClusterView::config_record() const {
  return cluster::rados::read_config_record(*pool_, options_.config_object);
}

Status ClusterView::write_config_record(uint64_t expected_version, const std::string& yaml) const {
  return cluster::rados::write_config_record(*pool_, options_.config_object, expected_version, yaml);
}

Result<LunReservations> ClusterView::reservations(const std::string& image) const {
  const size_t slash = image.find('/');
  const std::string pool = slash == std::string::npos ? options_.pool : image.substr(0, slash);
  const std::string name = slash == std::string::npos ? image : image.substr(slash + 1);
  if (pool.empty() || name.empty() || name.find('/') != std::string::npos) {
    return error(ErrorCode::invalid_argument, "image '" + image + "': expected POOL/NAME or NAME");
  }
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
