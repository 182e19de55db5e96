// The NVMe/RDMA listening side: RDMA CM ids bound to the gateway's `rdma` listeners, one event
// channel polled on the first loop. A connect request is checked (its private data, the queue
// it asks for, the device's limits, the bounds per gateway and per host address), given a
// queue on the next loop round-robin (its completion queue, QP and buffers), and accepted — or
// rejected with the NVMe/RDMA reject status the host logs. CM events of a queue's id travel to
// the queue's loop. A device removal ends the queues on it and the listener binds again once a
// device with the address returns. Serves the same subsystems as the NVMe/TCP server (its
// ServerContext), so a configuration change reaches both transports at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "frontends/nvmeof/rdma/rdma_device.h"
#include "frontends/nvmeof/server/server_context.h"

namespace portico::runtime {
class LoopGroup;
}

namespace portico::nvmeof {

struct RdmaListenerSettings {
  std::vector<std::string> listeners;  // "192.0.2.1:4420", "[2001:db8::1]:4420"
  RdmaBufferSettings buffers;
  uint16_t io_queue_entries = 1024;  // beyond the subsystems' MQES the Connect is refused anyway
  uint16_t io_queues = 128;
  unsigned max_queues = 4096;        // queues of all hosts together
  unsigned max_queues_per_address = 256;
};

class RdmaListener {
 public:
  static Result<std::unique_ptr<RdmaListener>> create(RdmaListenerSettings settings, ServerContext& context,
                                                      runtime::LoopGroup& loops);
  virtual ~RdmaListener() = default;
  // Binds and listens on every listener. Fails, naming the listener, when one has no RDMA
  // device with its address.
  virtual Status start() = 0;
  [[nodiscard]] virtual const std::vector<std::string>& bound_listeners() const = 0;
  [[nodiscard]] virtual size_t queue_count() const = 0;
  // Stops listening, drains every queue for up to `grace`, closes the rest, releases the
  // devices. Blocks; call from a thread that is not a loop.
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

}  // namespace portico::nvmeof
