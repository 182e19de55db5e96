// One librados client (one `rados_t`): the gateway's identity towards Ceph. The RBD backend and
// the RADOS cluster state share it, so that blocklisting this client fences both the data path and
// the state updates at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <string>

#include <rados/librados.h>

#include "ceph/work_queue.h"
#include "core/common/result.h"

namespace portico::ceph {

struct RadosOptions {
  std::string conf_path;                    // ceph.conf; "" = librados' default search
  std::string client_name = "client.admin";
  std::string keyring;                      // "" = as ceph.conf says
  std::map<std::string, std::string> overrides;  // extra config options (set before connect)
  uint32_t connect_timeout_s = 30;
};

class RadosConnection {
 public:
  // Connects; the error names the conf file and librados' reason.
  static Result<std::shared_ptr<RadosConnection>> connect(const RadosOptions& options);
  ~RadosConnection();
  RadosConnection(const RadosConnection&) = delete;
  RadosConnection& operator=(const RadosConnection&) = delete;

  [[nodiscard]] rados_t handle() const { return cluster_; }
  // An I/O context on `pool`; the caller destroys it with rados_ioctx_destroy.
  Result<rados_ioctx_t> open_pool(const std::string& pool) const;
  // This client's instance id (the "gid" that notify replies and watcher lists name).
  [[nodiscard]] uint64_t instance_id() const;
  // This client's address as Ceph's blocklist names it ("127.0.0.1:0/123456"), "" if unknown.
  [[nodiscard]] std::string address() const;
  [[nodiscard]] const RadosOptions& options() const { return options_; }
  // The threads that run this client's blocking librbd calls (RBD allocation queries), shared
  // by every image: two, started on first use.
  [[nodiscard]] std::shared_ptr<WorkerPool> blocking_workers() const;
  // The process is about to end with images still open (RbdBlockDevice::leave_open_at_exit):
  // this client is not shut down (librbd's image contexts still use it); the process's exit
  // ends it. Images cannot outlive their client any other way.
  void leave_open_at_exit() { leave_open_ = true; }

 private:
  RadosConnection(RadosOptions options, rados_t cluster) : options_(std::move(options)), cluster_(cluster) {}

  RadosOptions options_;
  rados_t cluster_;
  mutable std::mutex workers_mutex_;
  mutable std::shared_ptr<WorkerPool> workers_;
  std::atomic<bool> leave_open_{false};
};

// "error 2 (No such file or directory)" from a negative librados return value.
std::string rados_error_text(int ret);

}  // namespace portico::ceph
