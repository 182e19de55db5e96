// Queue life cycle, the receive framing and the send path.
#include "frontends/nvmeof/server/queue_connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/nvme/subsystem.h"
#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"
#include "frontends/nvmeof/server/queue_connect.h"

namespace portico::nvmeof {
namespace {

// Bound on queued outgoing bytes before the queue stops reading new PDUs from a host that does
// not read its responses (resumes when the queue drains).
constexpr size_t kMaxQueuedTxBytes = 8u << 20;
constexpr std::chrono::milliseconds kLivenessPeriod{1000};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

QueueConnection::QueueConnection(ServerContext& context, runtime::EventLoop& loop, int fd, uint64_t id,
                                 std::string local_address, std::string peer_address)
    : context_(context), loop_(loop), fd_(fd), id_(id), local_address_(std::move(local_address)),
      peer_address_(std::move(peer_address)),
      buffers_(context.buffers, context.settings.max_queue_buffer_bytes),
      receiver_(context.transport_limits()) {}

QueueConnection::~QueueConnection() {
  if (fd_ >= 0) ::close(fd_);
}

std::string QueueConnection::who() const {
  if (!link_.controller) return "nvme-tcp: queue " + std::to_string(id_) + " (" + peer_address_ + ")";
  return "nvme-tcp: " + link_.controller->subsystem().nqn() + " controller " + std::to_string(link_.controller->id()) +
         " queue " + std::to_string(link_.queue.id) + " (" + link_.controller->host_nqn() + " at " + peer_address_ + ")";
}

void QueueConnection::start(UniqueFunction<void(uint64_t)> on_closed) {
  on_closed_ = std::move(on_closed);
  spdlog::debug("nvme-tcp: connection {} from {} to {}", id_, peer_address_, local_address_);
  // A peer that connects and never sends its ICReq and Connect costs a descriptor and a buffer:
  // it gets setup_timeout to become a queue.
  const auto timeout = context_.settings.setup_timeout;
  setup_timer_ = loop_.schedule_after(std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
                                      [this, timeout]() {
                                        auto self = shared_from_this();
                                        setup_timer_ = 0;
                                        if (phase_ != Phase::connected) {
                                          close("no ICReq and Connect within " + std::to_string(timeout.count()) +
                                                " s");
                                        }
                                      });
  schedule_liveness_check();
  post_recv();
}

void QueueConnection::close(const std::string& reason) {
  if (phase_ == Phase::closing) return;
  // What runs below may finish the close and drop the owner's reference (a command ending
  // inside release_queue()): this frame keeps the connection alive until it returns.
  auto self = shared_from_this();
  const bool connected = phase_ == Phase::connected;
  if (!reason.empty()) {
    if (connected) {
      spdlog::info("{} closed: {}", who(), reason);
    } else if (const auto log = context_.peer_log.allow(); log.write) {
      spdlog::info("nvme-tcp: connection {} ({}) closed before Connect: {}{}", id_, peer_address_, reason,
                   suppressed_note(log.suppressed_before));
    }
  }
  phase_ = Phase::closing;
  close_reason_ = reason;
  if (setup_timer_ != 0) loop_.cancel_timer(std::exchange(setup_timer_, 0));
  if (liveness_timer_ != 0) loop_.cancel_timer(std::exchange(liveness_timer_, 0));
  if (budget_timer_ != 0) loop_.cancel_timer(std::exchange(budget_timer_, 0));
  ::shutdown(fd_, SHUT_RDWR);  // completes the pending recv and send with an error or EOF
  loop_.cancel_fd(fd_);
  // A `done` running inside may finish the close: the local copy keeps the controller.
  if (auto controller = link_.controller) release_connected_queue(*controller, *link_.subsystem, link_.queue);
  // Commands still collecting data never reach the core; those in the core finish there.
  for (auto it = commands_.begin(); it != commands_.end();) {
    it = it->second->in_core ? std::next(it) : commands_.erase(it);
  }
  maybe_finish_close();
}

void QueueConnection::drain() {
  auto self = shared_from_this();
  draining_ = true;
  // Asynchronous Event Requests stay in the core until an event comes: they end now
  // (Aborted, SQ Deletion), so that only real commands are waited for.
  if (auto controller = link_.controller) controller->release_queue(link_.queue);
  if (phase_ != Phase::connected || in_core_ == 0) close("gateway shutting down");
}

void QueueConnection::maybe_finish_close() {
  if (phase_ != Phase::closing || recv_pending_ || send_pending_ || in_core_ > 0 || closed_notified_) return;
  closed_notified_ = true;
  commands_.clear();
  link_.controller.reset();
  // The owner drops its reference: this object may be destroyed inside the call.
  auto notify = std::move(on_closed_);
  if (notify) notify(id_);
}

void QueueConnection::schedule_liveness_check() {
  liveness_timer_ = loop_.schedule_after(kLivenessPeriod, [this]() {
    auto self = shared_from_this();  // a close inside may drop the owner's reference
    liveness_timer_ = 0;
    check_liveness();
    if (phase_ != Phase::closing) schedule_liveness_check();
  });
}

void QueueConnection::check_liveness() {
  if (phase_ != Phase::connected || !link_.controller) return;
  if (auto reason = queue_end_reason(*link_.controller, link_.queue, now_ns())) close(*reason);
}

// ---------------------------------------------------------------------------------------------
// Receive path

void QueueConnection::post_recv() {
  if (phase_ == Phase::closing || recv_pending_ || close_after_send_) return;
  if (rx_waiting_for_budget_ || tx_next_.size() > kMaxQueuedTxBytes) return;  // resumed later
  auto space = rx_.writable();
  recv_pending_ = true;
  loop_.recv(fd_, space, [self = shared_from_this()](int result) { self->on_recv(result); });
}

void QueueConnection::on_recv(int result) {
  recv_pending_ = false;
  if (phase_ == Phase::closing) return maybe_finish_close();
  if (result <= 0) {
    return close(result == 0 ? "closed by the host" : std::string("receive failed: ") + std::strerror(-result));
  }
  rx_.commit(static_cast<size_t>(result));
  process_rx();
  post_recv();
}

void QueueConnection::process_rx() {
  auto self = shared_from_this();  // a close below must not destroy the connection under us
  while (phase_ != Phase::closing && !close_after_send_ && !rx_waiting_for_budget_) {
    const auto buffered = rx_.readable();
    auto framed = receiver_.frame(buffered);
    if (!framed.ok()) {
      return terminate(framed.error(), buffered.first(std::min<size_t>(buffered.size(), kCommonHeaderSize)));
    }
    if (!framed->has_value()) {
      rx_.reserve_for(kCommonHeaderSize);
      return;
    }
    const uint32_t length = **framed;
    if (buffered.size() < length) {
      rx_.reserve_for(length);  // bounded: frame() checked the length against the limits
      return;
    }
    const auto raw = buffered.first(length);
    auto decoded = receiver_.receive(raw);
    if (!decoded.ok()) return terminate(decoded.error(), raw.first(std::min<size_t>(raw.size(), kMaxHeaderLength)));
    if (!dispatch(*decoded, raw)) return;
    if (rx_waiting_for_budget_) return;  // the PDU stays buffered; it is dispatched again later
    rx_.consume(length);
  }
}

bool QueueConnection::dispatch(const DecodedPdu& pdu, std::span<const uint8_t> raw) {
  switch (pdu.layout.common.type) {
    case PduType::ic_req: {
      // The receiver negotiated the parameters; the ICResp goes out before anything else.
      const auto& queue = *receiver_.established();
      encode_ic_resp(queue.response, tx_next_.bytes());
      phase_ = Phase::awaiting_connect;
      flush_tx();
      return true;
    }
    case PduType::capsule_cmd: {
      const auto verdict = on_capsule(std::get<CapsuleCmd>(pdu.header), pdu.data);
      if (verdict == Dispatch::wait) rx_waiting_for_budget_ = true;
      return verdict != Dispatch::stop;
    }
    case PduType::h2c_data:
      if (!pdu.data_digest_ok) {
        // The data is damaged: the command ends with Transient Transport Error once its data is
        // in (the host may retry it), and the queue goes on, as SPDK's target does.
        const auto& data = std::get<DataPdu>(pdu.header);
        if (auto it = commands_.find(data.cccid); it != commands_.end()) it->second->digest_failed = true;
      }
      return on_h2c_data(pdu, raw.first(std::min<size_t>(raw.size(), kMaxHeaderLength)));
    case PduType::h2c_term_req: {
      const auto& term = std::get<TermReq>(pdu.header);
      close("the host ended the connection (H2CTermReq FES " + std::to_string(term.fes) + ", FEI " +
            std::to_string(term.fei) + ")");
      return false;
    }
    default:
      break;
  }
  // The receiver admits host-to-controller types only; this is a sequence the queue cannot take.
  terminate(pdu_error(FatalErrorStatus::pdu_sequence_error, 0,
                      std::string("unexpected ") + std::string(pdu_type_name(pdu.layout.common.type))),
            raw.first(std::min<size_t>(raw.size(), kMaxHeaderLength)));
  return false;
}

void QueueConnection::terminate(const PduError& error, std::span<const uint8_t> offending_header) {
  if (const auto log = context_.peer_log.allow(); log.write) {
    spdlog::warn("{}: fatal transport error (FES {:02x}h, FEI {}): {}; sending C2HTermReq{}", who(),
                 static_cast<unsigned>(error.fes), error.fei, error.message, suppressed_note(log.suppressed_before));
  }
  encode_c2h_term_req(term_req_for(error), offending_header, tx_next_.bytes());
  close_after_send_ = true;
  flush_tx();
}

// ---------------------------------------------------------------------------------------------
// Send path

void QueueConnection::flush_tx() {
  if (phase_ == Phase::closing || send_pending_ || tx_next_.empty()) return;
  tx_sending_.clear();
  std::swap(tx_sending_, tx_next_);
  tx_sent_ = 0;
  send_pending_ = true;
  tx_sending_.prepare(0, tx_message_);
  loop_.sendmsg(fd_, &tx_message_, [self = shared_from_this()](int result) { self->on_sent(result); });
}

void QueueConnection::on_sent(int result) {
  send_pending_ = false;
  if (phase_ == Phase::closing) return maybe_finish_close();
  if (result < 0) return close(std::string("send failed: ") + std::strerror(-result));
  tx_sent_ += static_cast<size_t>(result);
  if (tx_sent_ < tx_sending_.size()) {
    // A partial send, or more pieces than one sendmsg takes: the rest.
    send_pending_ = true;
    tx_sending_.prepare(tx_sent_, tx_message_);
    loop_.sendmsg(fd_, &tx_message_, [self = shared_from_this()](int r) { self->on_sent(r); });
    return;
  }
  if (close_after_send_ && tx_next_.empty()) {
    return close(disconnecting_ ? "" : "after a fatal transport error");
  }
  flush_tx();
  post_recv();  // reading may have waited for the send queue to drain
}

}  // namespace portico::nvmeof
