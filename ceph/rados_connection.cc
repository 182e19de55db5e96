#include "ceph/rados_connection.h"

#include <cstring>
#include <string_view>

#include <spdlog/spdlog.h>

namespace portico::ceph {

std::string rados_error_text(int ret) {
  const int code = ret < 0 ? -ret : ret;
  return "error " + std::to_string(code) + " (" + std::strerror(code) + ")";
}

Result<std::shared_ptr<RadosConnection>> RadosConnection::connect(const RadosOptions& options) {
  const std::string where = options.conf_path.empty() ? std::string("the default ceph.conf") : options.conf_path;
  rados_t cluster = nullptr;
  // rados_create2 wants the full entity name ("client.portico"); accept a bare id too.
  std::string name = options.client_name;
  if (name.find('.') == std::string::npos) name = "client." + name;
  int ret = rados_create2(&cluster, "ceph", name.c_str(), 0);
  if (ret < 0) return error(ErrorCode::internal, "rados_create2 for " + name + ": " + rados_error_text(ret));

  auto fail = [&](const std::string& what, int code) -> Status {
    rados_shutdown(cluster);
    return error(code == -ETIMEDOUT ? ErrorCode::timed_out : ErrorCode::io_error,
                 "ceph cluster " + where + " as " + name + ": " + what + ": " + rados_error_text(code));
  };
  ret = rados_conf_read_file(cluster, options.conf_path.empty() ? nullptr : options.conf_path.c_str());
  if (ret < 0) return fail("cannot read the configuration", ret);
  if (!options.keyring.empty()) {
    ret = rados_conf_set(cluster, "keyring", options.keyring.c_str());
    if (ret < 0) return fail("keyring", ret);
  }
  const std::string timeout = std::to_string(options.connect_timeout_s);
  for (const char* key : {"client_mount_timeout", "rados_mon_op_timeout"}) {
    ret = rados_conf_set(cluster, key, timeout.c_str());
    if (ret < 0) return fail(std::string("option ") + key, ret);
  }
  for (const auto& [key, value] : options.overrides) {
    ret = rados_conf_set(cluster, key.c_str(), value.c_str());
    if (ret < 0) return fail("option " + key + "=" + value, ret);
  }
  ret = rados_connect(cluster);
  if (ret < 0) return fail("cannot connect", ret);
  auto connection = std::shared_ptr<RadosConnection>(new RadosConnection(options, cluster));
  spdlog::info("ceph: connected to {} as {} (instance {}, {})", where, name, connection->instance_id(),
               connection->address());
  return connection;
}

RadosConnection::~RadosConnection() {
  workers_.reset();  // every image (each holding the pool) is closed by now: joins the threads
  if (leave_open_) return;  // images left open for the process's exit still use it
  rados_shutdown(cluster_);
}

std::shared_ptr<WorkerPool> RadosConnection::blocking_workers() const {
  std::lock_guard lock(workers_mutex_);
  if (!workers_) workers_ = std::make_shared<WorkerPool>("rbd-metadata", 2);
  return workers_;
}

Result<rados_ioctx_t> RadosConnection::open_pool(const std::string& pool) const {
  rados_ioctx_t ioctx = nullptr;
  const int ret = rados_ioctx_create(cluster_, pool.c_str(), &ioctx);
  if (ret < 0) {
    return error(ret == -ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                 "ceph pool '" + pool + "': " + rados_error_text(ret));
  }
  return ioctx;
}

uint64_t RadosConnection::instance_id() const { return rados_get_instance_id(cluster_); }

std::string RadosConnection::address() const {
  char* addr = nullptr;
  if (rados_getaddrs(cluster_, &addr) < 0 || addr == nullptr) return {};
  std::string text(addr);
  rados_buffer_free(addr);
  return text;
}

}  // namespace portico::ceph
