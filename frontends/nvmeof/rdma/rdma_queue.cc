// Queue life cycle, completions and posting.
#include "frontends/nvmeof/rdma/rdma_queue.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/nvme/subsystem.h"
#include "frontends/nvmeof/server/queue_connect.h"

namespace portico::nvmeof {
namespace {

constexpr std::chrono::milliseconds kLivenessPeriod{1000};
// After close, posted work requests flush within moments; a device that never flushes them
// does not keep the queue (and the gateway's shutdown) waiting longer than this.
constexpr std::chrono::milliseconds kFlushLimit{5000};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RdmaQueue::RdmaQueue(RdmaQueueSetup setup)
    : context_(*setup.context), loop_(*setup.loop), loop_index_(setup.loop_index), device_(std::move(setup.device)),
      cm_id_(setup.cm_id), shape_(setup.shape), id_(setup.id), local_address_(std::move(setup.local_address)),
      peer_address_(std::move(setup.peer_address)), in_capsule_limit_(setup.in_capsule_limit),
      buffers_(context_.buffers, context_.settings.max_queue_buffer_bytes) {}

RdmaQueue::~RdmaQueue() { tear_down(); }

std::string RdmaQueue::who() const {
  if (!link_.controller) return "nvme-rdma: queue " + std::to_string(id_) + " (" + peer_address_ + ")";
  return "nvme-rdma: " + link_.controller->subsystem().nqn() + " controller " + std::to_string(link_.controller->id()) +
         " queue " + std::to_string(link_.queue.id) + " (" + link_.controller->host_nqn() + " at " + peer_address_ + ")";
}

Status RdmaQueue::create_resources(std::unique_ptr<RdmaCmContext> cm_context) {
  const ibv_device_attr& attr = device_->attributes();
  const RegisteredChunks& chunks = device_->chunks(loop_index_);
  // Send queue: per command its response's SEND, and before it the RDMA WRITEs of its data (or
  // the RDMA READs of the host's), each taking up to max_sge chunks. Beyond that a command waits.
  const uint32_t max_transfer = 1u << 20;
  const uint32_t per_command = 1 + (chunks.chunks_for(max_transfer) + device_->write_sge() - 1) / device_->write_sge();
  const uint32_t entries = shape_.entries;
  const auto device_wr = static_cast<uint32_t>(std::max(attr.max_qp_wr, 16));
  max_send_wr_ = std::min(device_wr, entries * per_command);
  send_slots_free_ = max_send_wr_;
  const uint32_t cq_entries = std::min<uint32_t>(max_send_wr_ + entries, static_cast<uint32_t>(std::max(attr.max_cqe, 32)));
  send_with_invalidate_ = (attr.device_cap_flags & IBV_DEVICE_MEM_MGT_EXTENSIONS) != 0;

  channel_ = ibv_create_comp_channel(device_->verbs());
  if (channel_ == nullptr) return error(ErrorCode::io_error, std::string("ibv_create_comp_channel: ") + std::strerror(errno));
  const int flags = fcntl(channel_->fd, F_GETFL);
  if (flags < 0 || fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return error(ErrorCode::io_error, std::string("completion channel O_NONBLOCK: ") + std::strerror(errno));
  }
  cq_ = ibv_create_cq(device_->verbs(), static_cast<int>(cq_entries), nullptr, channel_, 0);
  if (cq_ == nullptr) return error(ErrorCode::io_error, std::string("ibv_create_cq: ") + std::strerror(errno));

  ibv_qp_init_attr qp_attr{};
  qp_attr.send_cq = cq_;
  qp_attr.recv_cq = cq_;
  qp_attr.qp_type = IBV_QPT_RC;
  qp_attr.cap.max_send_wr = max_send_wr_;
  qp_attr.cap.max_recv_wr = entries;
  qp_attr.cap.max_send_sge = std::max(device_->write_sge(), device_->read_sge());
  qp_attr.cap.max_recv_sge = 1;
  qp_attr.sq_sig_all = 0;
  if (rdma_create_qp(cm_id_, device_->pd(), &qp_attr) != 0) {
    return error(ErrorCode::io_error, std::string("rdma_create_qp: ") + std::strerror(errno));
  }
  qp_ = cm_id_->qp;

  // Receives: one per submission queue entry, each an SQE and the in-capsule data it may carry.
  receive_bytes_ = nvme::kSqeSize + in_capsule_limit_;
  const size_t receive_total = size_t{receive_bytes_} * entries;
  receive_memory_ = std::make_unique<uint8_t[]>(receive_total);
  receive_mr_ = ibv_reg_mr(device_->pd(), receive_memory_.get(), receive_total, kLocalWrite);
  // Responses: a CQE per command slot. Slots: the entries the host may have outstanding, and as
  // many again for answers sent whose completion has not been seen yet.
  const uint32_t slot_count = 2u * entries;
  response_memory_ = std::make_unique<uint8_t[]>(size_t{slot_count} * 16);
  response_mr_ = ibv_reg_mr(device_->pd(), response_memory_.get(), size_t{slot_count} * 16, 0);
  if (receive_mr_ == nullptr || response_mr_ == nullptr) {
    return error(ErrorCode::io_error, std::string("ibv_reg_mr (queue buffers): ") + std::strerror(errno));
  }
  slots_.resize(slot_count);
  for (uint32_t i = slot_count; i > 0; --i) free_slots_.push_back(i - 1);
  for (uint32_t i = 0; i < entries; ++i) {
    if (!post_receive(i)) return error(ErrorCode::io_error, std::string("ibv_post_recv: ") + std::strerror(errno));
  }
  if (ibv_req_notify_cq(cq_, 0) != 0) return error(ErrorCode::io_error, "ibv_req_notify_cq failed");
  cm_context_ = std::move(cm_context);
  cm_id_->context = cm_context_.get();
  return Status::ok_status();
}

rdma_cm_id* RdmaQueue::release_cm_id() {
  // The QP goes with the queue's resources; the caller rejects and destroys the id.
  if (qp_ != nullptr) {
    rdma_destroy_qp(cm_id_);
    qp_ = nullptr;
  }
  cm_id_->context = nullptr;
  cm_context_.reset();
  return std::exchange(cm_id_, nullptr);
}

void RdmaQueue::start(UniqueFunction<void(uint64_t)> on_closed) {
  on_closed_ = std::move(on_closed);
  spdlog::debug("nvme-rdma: queue {} from {} to {}: {} entries, {} RDMA READs in flight", id_, peer_address_,
                local_address_, shape_.entries, shape_.read_depth);
  const auto timeout = context_.settings.setup_timeout;
  setup_timer_ = loop_.schedule_after(std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
                                      [this, timeout]() {
                                        auto self = shared_from_this();
                                        setup_timer_ = 0;
                                        if (phase_ != Phase::connected) {
                                          close("no Connect within " + std::to_string(timeout.count()) + " s");
                                        }
                                      });
  schedule_liveness_check();
  arm_completions();
}

void RdmaQueue::on_cm_event(rdma_cm_event_type type, int status) {
  auto self = shared_from_this();
  switch (type) {
    case RDMA_CM_EVENT_ESTABLISHED:
      return;  // the host's first capsule follows; the setup timer bounds the wait for it
    case RDMA_CM_EVENT_DISCONNECTED:
      return close(phase_ == Phase::closing ? "" : "disconnected by the host");
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
      return close("its RDMA device " + device_->name() + " was removed");
    case RDMA_CM_EVENT_REJECTED:
    case RDMA_CM_EVENT_CONNECT_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
      return close(std::string("the connection was not established (") + rdma_event_str(type) +
                   ", status " + std::to_string(status) + ")");
    default:
      return;
  }
}

void RdmaQueue::close(const std::string& reason) {
  if (phase_ == Phase::closing) return;
  auto self = shared_from_this();  // a command ending inside may drop the owner's reference
  const bool connected = phase_ == Phase::connected;
  if (!reason.empty()) {
    if (connected) {
      spdlog::info("{} closed: {}", who(), reason);
    } else if (const auto log = context_.peer_log.allow(); log.write) {
      spdlog::info("nvme-rdma: queue {} ({}) closed before Connect: {}{}", id_, peer_address_, reason,
                   suppressed_note(log.suppressed_before));
    }
  }
  phase_ = Phase::closing;
  for (auto* timer : {&setup_timer_, &liveness_timer_, &budget_timer_}) {
    if (*timer != 0) loop_.cancel_timer(std::exchange(*timer, 0));
  }
  // The QP to the error state: every posted work request completes (flushed), and the host is
  // told with a disconnect.
  if (cm_id_ != nullptr) rdma_disconnect(cm_id_);
  if (qp_ != nullptr) {
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_ERR;
    ibv_modify_qp(qp_, &attr, IBV_QP_STATE);
  }
  if (auto controller = link_.controller) release_connected_queue(*controller, *link_.subsystem, link_.queue);
  // Commands waiting for chunks or send queue space never go on; those with work requests in
  // flight end with their flushed completion; those in the core finish there.
  for (uint32_t slot : blocked_) {
    if (slots_[slot]) release_slot(slot);
  }
  blocked_.clear();
  waiting_capsules_.clear();
  flush_timer_ = loop_.schedule_after(kFlushLimit, [this]() {
    auto keep = shared_from_this();
    flush_timer_ = 0;
    if (signaled_in_flight_ > 0 || receives_posted_ > 0) {
      spdlog::warn("{}: {} work request(s) not flushed after {} ms; releasing the queue anyway", who(),
                   signaled_in_flight_ + receives_posted_, kFlushLimit.count());
      signaled_in_flight_ = 0;
      receives_posted_ = 0;
    }
    maybe_finish_close();
  });
  maybe_finish_close();
}

void RdmaQueue::drain() {
  auto self = shared_from_this();
  draining_ = true;
  if (auto controller = link_.controller) controller->release_queue(link_.queue);
  if (phase_ != Phase::connected) return close("gateway shutting down");
  close_if_drained();
}

void RdmaQueue::close_if_drained() {
  // The answers sent must reach the host before the QP goes to the error state, which would
  // flush them: the close waits for their completions too.
  if (draining_ && phase_ == Phase::connected && in_core_ == 0 && signaled_in_flight_ == 0 && blocked_.empty()) {
    close("gateway shutting down");
  }
}

void RdmaQueue::maybe_finish_close() {
  if (phase_ != Phase::closing || closed_notified_ || in_core_ > 0 || signaled_in_flight_ > 0 ||
      receives_posted_ > 0) {
    return;
  }
  if (completion_poll_pending_) {
    loop_.cancel_fd(channel_->fd);  // its callback comes back here
    return;
  }
  closed_notified_ = true;
  if (flush_timer_ != 0) loop_.cancel_timer(std::exchange(flush_timer_, 0));
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot]) release_slot(slot);
  }
  link_.controller.reset();
  tear_down();
  auto notify = std::move(on_closed_);
  if (notify) notify(id_);
}

void RdmaQueue::tear_down() {
  if (torn_down_) return;
  torn_down_ = true;
  if (cm_id_ != nullptr && qp_ != nullptr) rdma_destroy_qp(cm_id_);
  qp_ = nullptr;
  if (cq_ != nullptr) ibv_destroy_cq(cq_);
  cq_ = nullptr;
  if (channel_ != nullptr) ibv_destroy_comp_channel(channel_);
  channel_ = nullptr;
  if (receive_mr_ != nullptr) ibv_dereg_mr(receive_mr_);
  if (response_mr_ != nullptr) ibv_dereg_mr(response_mr_);
  receive_mr_ = response_mr_ = nullptr;
  // Waits until every event of the id the listener took is acknowledged (it acknowledges at once).
  if (cm_id_ != nullptr) rdma_destroy_id(std::exchange(cm_id_, nullptr));
  cm_context_.reset();
}

void RdmaQueue::schedule_liveness_check() {
  liveness_timer_ = loop_.schedule_after(kLivenessPeriod, [this]() {
    auto self = shared_from_this();
    liveness_timer_ = 0;
    if (phase_ == Phase::connected && link_.controller) {
      if (auto reason = queue_end_reason(*link_.controller, link_.queue, now_ns())) return close(*reason);
    }
    if (phase_ != Phase::closing) schedule_liveness_check();
  });
}

// ---------------------------------------------------------------------------------------------
// Completions

void RdmaQueue::arm_completions() {
  if (torn_down_ || completion_poll_pending_) return;
  completion_poll_pending_ = true;
  loop_.poll(channel_->fd, POLLIN, [self = shared_from_this()](int result) { self->on_completion_event(result); });
}

void RdmaQueue::on_completion_event(int result) {
  completion_poll_pending_ = false;
  if (result < 0 && phase_ == Phase::closing) return maybe_finish_close();
  // Every event is acknowledged, then notification re-armed before the queue is drained: a
  // completion that arrives meanwhile raises a new event.
  ibv_cq* cq = nullptr;
  void* cq_context = nullptr;
  unsigned events = 0;
  while (ibv_get_cq_event(channel_, &cq, &cq_context) == 0) ++events;
  if (events > 0) ibv_ack_cq_events(cq_, events);
  ibv_req_notify_cq(cq_, 0);
  auto self = shared_from_this();
  drain_completions();
  if (closed_notified_) return;
  arm_completions();
  maybe_finish_close();
}

void RdmaQueue::drain_completions() {
  // A bounded batch: work posted while handling completions brings more (with soft-RoCE even
  // inside the post), so "until the queue is empty" could keep the loop here for seconds while
  // the other queues on it (an admin queue's Keep Alive) wait. The rest comes on the next turn,
  // after the loop's other I/O.
  constexpr int kBatches = 4;
  ibv_wc completions[32];
  for (int batch = 0; batch < kBatches; ++batch) {
    const int n = ibv_poll_cq(cq_, 32, completions);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) on_work_completion(completions[i]);
    if (closed_notified_ || n < 32) return;
  }
  if (!drain_posted_) {
    drain_posted_ = true;
    loop_.post([self = shared_from_this()]() {
      self->drain_posted_ = false;
      if (self->closed_notified_ || self->cq_ == nullptr) return;
      self->drain_completions();
      self->maybe_finish_close();
    });
  }
}

void RdmaQueue::on_work_completion(const ibv_wc& wc) {
  const auto kind = static_cast<WorkKind>(wc.wr_id >> 32);
  const auto index = static_cast<uint32_t>(wc.wr_id);
  if (kind == WorkKind::receive) {
    --receives_posted_;
  } else if (kind != WorkKind::unsignaled) {
    --signaled_in_flight_;
  }
  if (wc.status != IBV_WC_SUCCESS) {
    if (phase_ != Phase::closing && wc.status != IBV_WC_WR_FLUSH_ERR) {
      close(std::string("a work request failed: ") + ibv_wc_status_str(wc.status) + " (vendor error " +
            std::to_string(wc.vendor_err) + ")");
    } else if (phase_ != Phase::closing) {
      close("the queue pair went to the error state");
    }
    // A flushed read or send releases its command (unless the core holds it).
    if ((kind == WorkKind::read || kind == WorkKind::send) && index < slots_.size() && slots_[index]) {
      RdmaCommand& command = *slots_[index];
      send_slots_free_ += std::exchange(command.send_slots, 0);
      if (command.stage != Stage::in_core) release_slot(index);
    }
    return;
  }
  switch (kind) {
    case WorkKind::receive: {
      if (phase_ == Phase::closing) return;
      const std::span<const uint8_t> capsule(receive_buffer(index), wc.byte_len);
      bool taken = waiting_capsules_.empty() && on_capsule(capsule);
      if (!taken && phase_ != Phase::closing) waiting_capsules_.emplace_back(capsule.begin(), capsule.end());
      // Its content is taken (or copied): the receive goes back to the host at once.
      if (phase_ != Phase::closing && !post_receive(index)) {
        close(std::string("ibv_post_recv failed: ") + std::strerror(errno));
      }
      return;
    }
    case WorkKind::read:
      send_slots_free_ += std::exchange(slots_[index]->send_slots, 0);
      on_read_done(index);
      break;
    case WorkKind::send:
      send_slots_free_ += std::exchange(slots_[index]->send_slots, 0);
      on_send_done(index);
      break;
    case WorkKind::unsignaled:
      break;  // completes only on an error, handled above
  }
  retry_blocked();
}

bool RdmaQueue::post_receive(uint32_t index) {
  ibv_sge sge{};
  sge.addr = reinterpret_cast<uintptr_t>(receive_buffer(index));
  sge.length = receive_bytes_;
  sge.lkey = receive_mr_->lkey;
  ibv_recv_wr wr{};
  wr.wr_id = work_id(WorkKind::receive, index);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  if (ibv_post_recv(qp_, &wr, &bad) != 0) return false;
  ++receives_posted_;
  return true;
}

bool RdmaQueue::post_send_chain(ibv_send_wr* first, unsigned count) {
  ibv_send_wr* bad = nullptr;
  if (const int rc = ibv_post_send(qp_, first, &bad); rc != 0) {
    close(std::string("ibv_post_send failed: ") + std::strerror(rc));
    return false;
  }
  send_slots_free_ -= count;
  ++signaled_in_flight_;  // each chain signals its last work request only
  return true;
}

void RdmaQueue::retry_blocked() {
  while (!blocked_.empty() && phase_ != Phase::closing) {
    const uint32_t slot = blocked_.front();
    RdmaCommand& command = *slots_[slot];
    const bool went = command.blocked == Blocked::read ? start_read(slot) : respond(slot);
    if (phase_ == Phase::closing) return;
    if (!went) return;  // still blocked: it stays first, in order
    command.blocked = Blocked::none;
    blocked_.pop_front();
  }
  take_waiting_capsules();
}

}  // namespace portico::nvmeof
