#include "tools/nvme_tcp/controller_session.h"

#include <algorithm>

#include "tools/nvme_tcp/admin_commands.h"
#include "tools/nvme_tcp/controller_enable.h"

namespace portico::nvme_host {
namespace {

// The admin queue as Linux's fabrics host opens it: 32 entries (SQSIZE 31, NVME_AQ_DEPTH) and
// 8 KiB of in-capsule data (NVME_TCP_ADMIN_CCSZ), which Connect's 1024 bytes need.
constexpr uint16_t kAdminSqSize = 31;
constexpr uint16_t kAdminDepth = 16;
constexpr uint32_t kAdminInCapsuleData = 8192;

}  // namespace

Result<std::unique_ptr<ControllerSession>> ControllerSession::open(const SessionOptions& options) {
  std::unique_ptr<ControllerSession> session(new ControllerSession(options));
  if (Status s = session->open_admin(); !s.ok()) return s;
  auto cap = property_get(session->admin(), kPropertyCap, true);
  if (!cap.ok()) return cap.status();
  const ControllerCapabilities caps = decode_cap(*cap);
  session->ready_timeout_ = caps.ready_timeout.count() > 0 ? caps.ready_timeout : options.timeout;
  if (Status s = enable_controller(session->admin(), session->ready_timeout_); !s.ok()) return s;
  auto identity = identify_controller(session->admin());
  if (!identity.ok()) return identity.status();
  session->identity_ = std::move(*identity);
  if (Status s = session->open_io_queues(caps.max_queue_entries); !s.ok()) return s;
  return session;
}

ConnectArgs ControllerSession::connect_args(uint16_t queue_id, uint16_t sq_size) const {
  ConnectArgs args;
  args.queue_id = queue_id;
  args.sq_size = sq_size;
  // KATO belongs to the admin Connect; on an I/O queue it is reserved.
  args.keep_alive_ms = queue_id == 0 ? options_.keep_alive_ms : 0;
  args.controller_id = queue_id == 0 ? nvme::kDynamicControllerId : controller_id_;
  args.host_id = options_.host_id;
  args.subsystem_nqn = options_.subsystem_nqn;
  args.host_nqn = options_.host_nqn;
  return args;
}

Status ControllerSession::open_admin() {
  QueueOptions q;
  q.host = options_.address;
  q.port = options_.port;
  q.queue_id = 0;
  q.depth = kAdminDepth;
  q.transport = options_.transport;
  q.in_capsule_limit = kAdminInCapsuleData;
  q.timeout = options_.timeout;
  auto queue = Queue::connect(q);
  if (!queue.ok()) return queue.status();
  admin_ = std::move(*queue);
  auto cntlid = connect(*admin_, connect_args(0, kAdminSqSize));
  if (!cntlid.ok()) return cntlid.status();
  controller_id_ = *cntlid;
  last_keep_alive_ = std::chrono::steady_clock::now();
  return {};
}

Status ControllerSession::open_io_queues(uint32_t max_queue_entries) {
  if (options_.io_queues == 0) return {};
  auto counts = set_number_of_queues(*admin_, options_.io_queues);
  if (!counts.ok()) return counts.status();
  const auto queues = static_cast<uint16_t>(
      std::min<uint32_t>({options_.io_queues, counts->submission, counts->completion}));
  // SQSIZE (0's based) may not exceed MQES; a full queue keeps one entry free, so `depth`
  // commands in flight need depth + 1 entries. MAXCMD, when set, bounds what is outstanding.
  uint32_t depth = std::min<uint32_t>(options_.io_queue_depth, max_queue_entries - 1);
  if (identity_.max_commands != 0) depth = std::min<uint32_t>(depth, identity_.max_commands);
  depth = std::max<uint32_t>(depth, 1);
  for (uint16_t qid = 1; qid <= queues; ++qid) {
    QueueOptions q;
    q.host = options_.address;
    q.port = options_.port;
    q.queue_id = qid;
    q.depth = static_cast<uint16_t>(depth);
    q.transport = options_.transport;
    q.in_capsule_limit = identity_.in_capsule_data_bytes();
    q.timeout = options_.timeout;
    auto queue = Queue::connect(q);
    if (!queue.ok()) return queue.status();
    auto cntlid = connect(**queue, connect_args(qid, static_cast<uint16_t>(depth)));
    if (!cntlid.ok()) return cntlid.status();
    if (*cntlid != controller_id_) {
      return error(ErrorCode::invalid_argument, (*queue)->name() + ": Connect answered CNTLID " +
                                                    std::to_string(*cntlid) + ", the admin queue's is " +
                                                    std::to_string(controller_id_));
    }
    io_.push_back(std::move(*queue));
  }
  return {};
}

Status ControllerSession::keep_alive() {
  last_keep_alive_ = std::chrono::steady_clock::now();
  return nvme_host::keep_alive(*admin_);
}

Status ControllerSession::keep_alive_if_due() {
  if (options_.keep_alive_ms == 0) return {};
  const auto interval = std::chrono::milliseconds(options_.keep_alive_ms / 2);
  if (std::chrono::steady_clock::now() - last_keep_alive_ < interval) return {};
  return keep_alive();
}

Status ControllerSession::close() {
  Status first;
  auto keep = [&](Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  for (auto& queue : io_) {
    keep(disconnect(*queue));
    queue->close();
  }
  io_.clear();
  if (admin_) {
    keep(shutdown_controller(*admin_, ready_timeout_));
    admin_->close();
  }
  return first;
}

}  // namespace portico::nvme_host
