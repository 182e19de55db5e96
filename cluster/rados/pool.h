// An I/O context on the cluster-state pool, shared by everything that may still complete after
// RadosClusterState is gone (a late `applied` sends its notify ack through it): the context and
// the connection it belongs to live as long as the last holder.
#pragma once

#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <rados/librados.h>

#include "ceph/rados_connection.h"

namespace portico::cluster::rados {

// Ceph's EBLOCKLISTED: what a fenced client's operations fail with (errno 108).
inline constexpr int kBlocklisted = ESHUTDOWN;

class Pool {
 public:
  Pool(std::shared_ptr<ceph::RadosConnection> connection, rados_ioctx_t ioctx, std::string name)
      : connection_(std::move(connection)), ioctx_(ioctx), name_(std::move(name)) {}
  // The last holder may be an operation completing on a librados thread, where dropping the
  // last reference to the connection (rados_shutdown joins those threads) would deadlock: that
  // reference is then dropped on a thread of its own.
  ~Pool() {
    rados_ioctx_destroy(ioctx_);
    if (connection_.use_count() == 1) std::thread([connection = std::move(connection_)]() mutable { connection.reset(); }).detach();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  [[nodiscard]] rados_ioctx_t ioctx() const { return ioctx_; }
  [[nodiscard]] rados_t cluster() const { return connection_->handle(); }
  [[nodiscard]] const ceph::RadosConnection& connection() const { return *connection_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // "pool/object", for messages.
  [[nodiscard]] std::string where(const std::string& object) const { return name_ + "/" + object; }

  // Who hears that this client was blocklisted (set once, before any operation).
  void set_blocklisted_listener(std::function<void(const std::string& why)> listener) {
    blocklisted_listener_ = std::move(listener);
  }
  // Called wherever an operation fails with kBlocklisted; the listener hears the first only.
  void report_blocklisted(const std::string& why) {
    if (!blocklisted_reported_.exchange(true) && blocklisted_listener_) blocklisted_listener_(why);
  }

 private:
  std::shared_ptr<ceph::RadosConnection> connection_;
  rados_ioctx_t ioctx_;
  std::string name_;
  std::function<void(const std::string&)> blocklisted_listener_;
  std::atomic<bool> blocklisted_reported_{false};
};

}  // namespace portico::cluster::rados
