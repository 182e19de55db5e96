// A host's association with one NVMe over Fabrics controller over NVMe/TCP (NVMe over Fabrics
// 1.1, "Controller Initialization"): the admin queue, Connect with CNTLID FFFFh, CC.EN = 1 and
// CSTS.RDY, Identify Controller, Set Features Number of Queues, then one connection and Connect
// per I/O queue carrying the CNTLID the admin Connect returned. Keep Alive goes on the admin
// queue within KATO: the owner calls keep_alive_if_due() from time to time (the CLI's perf
// loop does), so no thread of the session's own touches a queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "tools/nvme_tcp/connection_setup.h"
#include "tools/nvme_tcp/fabrics_commands.h"
#include "tools/nvme_tcp/host_queue.h"
#include "tools/nvme_tcp/identify_data.h"

namespace portico::nvme_host {

struct SessionOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 4420;
  std::string subsystem_nqn;
  std::string host_nqn;
  HostId host_id{};
  TransportOptions transport;
  uint16_t io_queues = 1;
  uint16_t io_queue_depth = 32;  // commands in flight per I/O queue
  uint32_t keep_alive_ms = 5000;  // KATO; 0: no keep alive
  std::chrono::milliseconds timeout{10000};
};

class ControllerSession {
 public:
  static Result<std::unique_ptr<ControllerSession>> open(const SessionOptions& options);

  ControllerSession(const ControllerSession&) = delete;
  ControllerSession& operator=(const ControllerSession&) = delete;
  ~ControllerSession() = default;

  Queue& admin() { return *admin_; }
  Queue& io(size_t index) { return *io_.at(index); }
  [[nodiscard]] size_t io_queue_count() const { return io_.size(); }
  [[nodiscard]] uint16_t controller_id() const { return controller_id_; }
  [[nodiscard]] const ControllerIdentity& identity() const { return identity_; }
  [[nodiscard]] const SessionOptions& options() const { return options_; }

  Status keep_alive();
  // Sends Keep Alive when half of KATO has passed since the last one, as Linux's host does.
  Status keep_alive_if_due();
  // Disconnect on every I/O queue, a normal shutdown of the controller, then the connections
  // close. Goes on past a failure and reports the first one.
  Status close();

 private:
  explicit ControllerSession(const SessionOptions& options) : options_(options) {}
  Status open_admin();
  Status open_io_queues(uint32_t max_queue_entries);
  [[nodiscard]] ConnectArgs connect_args(uint16_t queue_id, uint16_t sq_size) const;

  SessionOptions options_;
  std::unique_ptr<Queue> admin_;
  std::vector<std::unique_ptr<Queue>> io_;
  uint16_t controller_id_ = 0;
  ControllerIdentity identity_;
  std::chrono::milliseconds ready_timeout_{0};
  std::chrono::steady_clock::time_point last_keep_alive_{};
};

}  // namespace portico::nvme_host
