// The first capsule of every NVMe-oF queue, whatever its transport: the Fabrics Connect that
// creates the admin queue's controller or joins an I/O queue to one (NVMe over Fabrics 1.1,
// "Connect command"). The transport has gathered the Connect data (in the capsule for TCP; in
// the capsule or read from the host for RDMA) and checked where its SGL put it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/nvme/controller.h"
#include "core/nvme/fabrics.h"
#include "frontends/nvmeof/server/server_context.h"

namespace portico::nvmeof {

struct QueueConnected {
  std::shared_ptr<nvme::Controller> controller;
  std::shared_ptr<nvme::Subsystem> subsystem;  // kept by the queue: a subsystem removed meanwhile stays until it closes
  nvme::ConnectCommand connect;
};

// What a queue holds once its Connect succeeded, whatever its transport.
struct ConnectedQueue {
  std::shared_ptr<nvme::Controller> controller;
  std::shared_ptr<nvme::Subsystem> subsystem;
  nvme::QueueContext queue;
  bool sq_flow_control = true;  // CQEs report SQHD
  uint16_t sq_head = 0;

  // Takes the Connect's outcome; the Connect itself was the queue's first entry.
  void adopt(QueueConnected&& connected);
  // A submission queue entry was consumed (before the queue is connected: none counted).
  void consume_entry() { sq_head = static_cast<uint16_t>((sq_head + 1) % (queue.size == 0 ? 1 : queue.size)); }
};

// The answer to a Connect that made no queue (or to a first capsule that is no Connect).
struct QueueConnectRefused {
  nvme::CompletionStatus status;
  uint32_t dw0 = 0;
};

// `data` is the Connect data as the host sent it; `data_form_ok` says whether its SGL had a form
// the transport takes for it (Data SGL Length Invalid otherwise, as for a length that does not
// match); `transport` ("nvme-tcp", "nvme-rdma") and
// `peer` name the queue in log lines.
std::variant<QueueConnected, QueueConnectRefused> connect_queue(ServerContext& context,
                                                                const nvme::SubmissionEntry& sqe,
                                                                std::span<const uint8_t> data, bool data_form_ok,
                                                                nvme::FabricsTransport fabric, std::string_view transport, const std::string& peer);

// Why a connected queue must end now, checked about once a second: its controller ended, or (the
// admin queue) the Keep Alive Timer expired (NVMe Base 2.0, "Keep Alive Timer": every queue of
// the association ends and a host still there reconnects). The admin queue also lets a
// discovery controller look whether its log changed.
std::optional<std::string> queue_end_reason(nvme::Controller& controller, const nvme::QueueContext& queue,
                                            int64_t now_ns);

// The queue is going away: a fused Compare still waiting and (admin queue) the outstanding
// Asynchronous Event Requests end now (their `done` runs inside); the admin queue's end ends
// its controller.
void release_connected_queue(nvme::Controller& controller, nvme::Subsystem& subsystem, nvme::QueueContext& queue);

// Whether `sqe` is a Fabrics Disconnect (NVMe over Fabrics 1.1): its answer is the queue's last.
bool is_disconnect(const nvme::SubmissionEntry& sqe);

}  // namespace portico::nvmeof
