// The NVMe/TCP front-end (NVMe/TCP Transport Specification 1.0): listens on the gateway's
// listeners, runs one NVMe queue per TCP connection on the runtime's io_uring loops, and hands
// every command to the core's NVMe controllers (core/nvme/controller.h), whose namespaces are the
// same units the iSCSI front-end serves as LUNs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/nvme/subsystem.h"

namespace portico::runtime {
class LoopGroup;
}

namespace portico::nvmeof {

struct ServerContext;

struct NvmeTcpServerSettings {
  std::vector<std::string> listeners;  // "127.0.0.1:4420", "[::1]:4420"
  // NVMe/RDMA listeners served through context() by an RdmaListener (frontends/nvmeof/rdma);
  // here for the discovery log, and so that a gateway may have these alone.
  std::vector<std::string> rdma_listeners;
  // Where the discovery controller is usually reached (8009); it answers on every listener.
  std::vector<std::string> discovery_listeners;
  std::vector<std::shared_ptr<nvme::Subsystem>> subsystems;  // may be none yet (a group being set up)
  // IOCCSZ's data part that every subsystem announces (their in_capsule_data_bytes).
  uint32_t in_capsule_data_bytes = 8192;
  // The discovery controllers' ids: this gateway's range (as its subsystems').
  uint16_t controller_id_first = 1;
  uint16_t controller_id_count = 0xffef;
  bool header_digest = true;  // offered when a host asks
  bool data_digest = true;
  uint32_t max_h2c_data = 128 * 1024;  // MAXH2CDATA
  // A peer must send its ICReq and Connect within this time of connecting.
  std::chrono::seconds setup_timeout{15};
  unsigned max_connections_per_listener = 1024;
  unsigned max_connections_per_address = 256;  // a host opens one per queue
  // Buffers peers make us allocate (data they send, data they ask for): per queue and in all.
  // Beyond them a queue stops reading commands until earlier ones end.
  uint64_t max_queue_buffer_bytes = 32u << 20;
  uint64_t max_buffer_bytes = 1u << 30;
};

class NvmeTcpServer {
 public:
  // `cluster` (the gateway's, outliving the server) names the live gateways the discovery log lists.
  static Result<std::unique_ptr<NvmeTcpServer>> create(NvmeTcpServerSettings settings, ClusterState& cluster,
                                                       runtime::LoopGroup& loops);
  virtual ~NvmeTcpServer() = default;
  // Binds every listener and starts accepting. Fails (naming the listener) if one cannot be bound.
  virtual Status start() = 0;
  // The listeners as bound, valid after start().
  [[nodiscard]] virtual const std::vector<std::string>& bound_listeners() const = 0;
  // Open TCP connections (admin and I/O queues, discovery included) and the controllers of its
  // subsystems (discovery excluded), for the metrics.
  [[nodiscard]] virtual size_t connection_count() const = 0;
  // A new configuration version: hosts connect to `subsystems` from now on and the discovery
  // log lists them (a host with a persistent discovery connection is told it changed). The
  // controllers of a subsystem that is gone end, and so do their queues. Any thread.
  virtual void set_subsystems(std::vector<std::shared_ptr<nvme::Subsystem>> subsystems) = 0;
  [[nodiscard]] virtual size_t controller_count() const = 0;
  // What every queue shares (the subsystems, the discovery subsystem, the buffer budget), for
  // another transport serving the same subsystems. Outlives nothing of the server.
  virtual ServerContext& context() = 0;
  // Stops accepting, lets commands in the core finish (up to `grace`), closes every queue.
  // Blocks until done. Call from a thread that is not a loop.
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

}  // namespace portico::nvmeof
