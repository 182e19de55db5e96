// Connection life cycle, the receive framing and the send path.
#include "frontends/iscsi/server/connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "core/common/big_endian.h"
#include "frontends/iscsi/protocol/crc32c.h"

namespace portico::iscsi {
namespace {

constexpr size_t kBhsLength = 48;
// Bound on queued outgoing bytes before we stop reading new PDUs from an initiator that does
// not read its responses (protects memory; resumes when the queue drains).
constexpr size_t kMaxQueuedTxBytes = 32u << 20;
// During login we accept this much data per PDU whatever is declared (RFC 7143 §13.12).
constexpr uint32_t kLoginMaxDataSegment = 8192;

}  // namespace

Connection::Connection(ServerContext& context, runtime::EventLoop& loop, int fd, uint64_t id,
                       std::string local_address, std::string peer_address)
    : context_(context),
      loop_(loop),
      fd_(fd),
      id_(id),
      local_address_(std::move(local_address)),
      peer_address_(std::move(peer_address)),
      buffers_(context.buffers, context.settings.max_session_buffer_bytes) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start(UniqueFunction<void(uint64_t)> on_closed) {
  on_closed_ = std::move(on_closed);
  login_ = std::make_unique<LoginState>(make_login_policy(context_), local_portal_group_tag());
  spdlog::debug("iscsi: connection {} from {} to {}", id_, peer_address_, local_address_);
  // A peer that connects and never logs in (or lingers in the login phase) costs a descriptor
  // and a buffer: it gets login_timeout to reach the full feature phase.
  const auto timeout = context_.settings.login_timeout;
  login_timer_ = loop_.schedule_after(std::chrono::duration_cast<std::chrono::milliseconds>(timeout), [this, timeout]() {
    login_timer_ = 0;
    if (!logged_in_) close("no login within " + std::to_string(timeout.count()) + " s");
  });
  post_recv();
}

void Connection::close(const std::string& reason) {
  if (phase_ == Phase::closing) return;
  if (!reason.empty()) {
    if (logged_in_) {
      spdlog::info("iscsi: connection {} ({} {}) closed: {}", id_, peer_address_, session_key_.initiator_name, reason);
    } else if (const auto log = context_.unauthenticated_log.allow(); log.write) {
      // Anyone can connect: what peers that never logged in cause is rate-limited.
      spdlog::info("iscsi: connection {} ({}) closed before login: {}{}", id_, peer_address_, reason,
                   suppressed_note(log.suppressed_before));
    }
  }
  phase_ = Phase::closing;
  close_reason_ = reason;
  if (counts_as_discovery_) {
    counts_as_discovery_ = false;
    context_.discovery_sessions.fetch_sub(1);
  }
  if (login_timer_ != 0) loop_.cancel_timer(std::exchange(login_timer_, 0));
  if (login_reply_timer_ != 0) loop_.cancel_timer(std::exchange(login_reply_timer_, 0));
  if (nop_timer_ != 0) loop_.cancel_timer(std::exchange(nop_timer_, 0));
  if (parked_timer_ != 0) loop_.cancel_timer(std::exchange(parked_timer_, 0));
  parked_.clear();
  ::shutdown(fd_, SHUT_RDWR);  // completes the pending recv and send with an error or EOF
  loop_.cancel_fd(fd_);
  // Tasks still waiting for data-out never reach the core; those in the core finish there.
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    it = it->second->submitted ? std::next(it) : erase_task(it);
  }
  maybe_finish_close();
}

void Connection::drain() {
  draining_ = true;
  if (phase_ != Phase::full_feature || tasks_in_core_ == 0) {
    close("gateway shutting down");
  }
}

void Connection::maybe_finish_close() {
  if (phase_ != Phase::closing || recv_pending_ || send_pending_ || holds_ > 0 || tasks_in_core_ > 0 ||
      closed_notified_) {
    return;
  }
  closed_notified_ = true;
  if (registered_) context_.sessions.remove(session_key_, id_);
  if (nexus_ && target_ != nullptr) target_->scsi_target->detach(nexus_);
  nexus_.reset();
  // The owner drops its reference: this object may be destroyed inside the call.
  auto notify = std::move(on_closed_);
  if (notify) notify(id_);
}

// ---------------------------------------------------------------------------------------------
// Receive path

void Connection::post_recv() {
  if (phase_ == Phase::closing || recv_pending_) return;
  if (rx_paused_ || tx_.queued_bytes() > kMaxQueuedTxBytes) return;  // resumed by on_sent()
  auto space = rx_.writable();
  recv_pending_ = true;
  loop_.recv(fd_, space, [self = this](int result) { self->on_recv(result); });
}

void Connection::on_recv(int result) {
  recv_pending_ = false;
  if (phase_ == Phase::closing) {
    maybe_finish_close();
    return;
  }
  if (result <= 0) {
    close(result == 0 ? "closed by the initiator" : std::string("receive failed: ") + std::strerror(-result));
    return;
  }
  activity_since_nop_ = true;
  rx_.commit(static_cast<size_t>(result));
  if (!run_held(&Connection::process_rx)) return;
  post_recv();
}

bool Connection::run_held(void (Connection::*step)()) {
  // The step may close the connection; the hold keeps the close from finishing (and destroying
  // this object) underneath it. It finishes here instead.
  ++holds_;
  (this->*step)();
  --holds_;
  if (phase_ != Phase::closing) return true;
  maybe_finish_close();
  return false;
}

void Connection::process_rx() {
  const uint32_t max_data = phase_ == Phase::login ? kLoginMaxDataSegment : params_.max_recv_data_segment_length_target;
  while (phase_ != Phase::closing) {
    if (tx_.queued_bytes() > kMaxQueuedTxBytes) {
      // The initiator does not read its responses: stop taking its PDUs, even those already
      // received in this batch; on_sent() resumes here once the queue drains.
      rx_paused_ = true;
      return;
    }
    auto bytes = rx_.readable();
    if (bytes.size() < kBhsLength) {
      rx_.reserve_for(kBhsLength);
      return;
    }
    auto layout = pdu_layout(bytes.first<kBhsLength>(), header_digest_, data_digest_, max_data);
    if (!layout.ok()) {
      // RFC 7143 §7.13: a PDU whose length cannot be trusted ends the connection; nothing
      // after it can be framed.
      close("protocol error: " + layout.status().message());
      return;
    }
    if (bytes.size() < layout->total_length) {
      rx_.reserve_for(layout->total_length);
      return;
    }
    auto header = bytes.first<kBhsLength>();
    if (header_digest_) {
      const uint32_t expected = load_le32(bytes.data() + layout->header_digest_offset);
      if (crc32c(bytes.first(layout->header_digest_offset)) != expected) {
        // §7.8: a header digest error cannot be trusted to frame; at ERL 0 close.
        close("header digest error");
        return;
      }
    }
    auto ahs = bytes.subspan(kBhsLength, layout->ahs_length);
    auto data = bytes.subspan(layout->data_offset, layout->data_length);
    if (data_digest_ && layout->data_length > 0) {
      const uint32_t expected = load_le32(bytes.data() + layout->data_digest_offset);
      if (crc32c(bytes.subspan(layout->data_offset, layout->padded_data_length)) != expected) {
        // §7.8: a payload digest error is answered with a Reject (reason 02h) and the payload
        // is discarded. A command PDU is then as if never sent: the initiator retries it. A
        // Data-Out's header is intact (it has its own digest or none), so its task goes on
        // collecting data and ends with PROTOCOL SERVICE CRC ERROR once all of it is in
        // (on_data_out); nothing of it is written.
        send_reject(kRejectDataDigestError, header);
        const auto bhs_for_task = decode_bhs(header);
        bool keep_reading = true;
        if (bhs_for_task.ok() && bhs_for_task->opcode == Opcode::scsi_data_out && phase_ == Phase::full_feature &&
            !discovery_) {
          keep_reading = on_data_out(*bhs_for_task, data, PayloadDigest::failed);
        }
        rx_.consume(layout->total_length);
        if (!keep_reading) return;
        continue;
      }
    }
    auto bhs = decode_bhs(header);
    bool keep_going;
    if (!bhs.ok()) {
      if (phase_ == Phase::login) {
        // RFC 7143 §6.1: before the full feature phase only Login Requests are valid, and an
        // opcode that is no initiator opcode at all is no exception: close, as dispatch() does
        // for the other non-login PDUs (a Reject here would keep a pre-login connection open).
        char what[64];
        std::snprintf(what, sizeof(what), "invalid opcode 0x%02x during login", header[0] & 0x3f);
        close(what);
        keep_going = false;
      } else {
        // After a Logout Response nothing more is answered (§11.14), as in dispatch().
        if (phase_ == Phase::full_feature) send_reject(kRejectProtocolError, header);
        keep_going = phase_ == Phase::full_feature;
      }
    } else {
      keep_going = dispatch(*bhs, ahs, data);
    }
    rx_.consume(layout->total_length);
    if (!keep_going) return;
  }
}

bool Connection::dispatch(const Bhs& bhs, std::span<const uint8_t> ahs, std::span<const uint8_t> data) {
  // After a Logout Response or a failed login nothing more is processed (§11.14, §6.9): the
  // connection closes once the response is sent.
  if (phase_ == Phase::logging_out) return false;
  if (phase_ == Phase::login) {
    if (bhs.opcode != Opcode::login_request) {
      // RFC 7143 §6.2: only Login Requests before the full feature phase.
      close("non-login PDU during login");
      return false;
    }
    return on_login_request(bhs, data);
  }
  switch (bhs.opcode) {
    case Opcode::nop_out:
      return on_nop_out(bhs, data);
    case Opcode::scsi_command:
      if (discovery_) break;
      return on_scsi_command(bhs, ahs, data);
    case Opcode::task_management_request:
      if (discovery_) break;
      return on_task_management(bhs);
    case Opcode::text_request:
      return on_text_request(bhs, data);
    case Opcode::scsi_data_out:
      if (discovery_) break;
      return on_data_out(bhs, data);
    case Opcode::logout_request:
      return on_logout_request(bhs);
    case Opcode::login_request:
      // §6.2: a login request in full feature phase is a protocol error.
      send_reject(kRejectProtocolError, bhs.raw);
      return true;
    case Opcode::snack_request:
      // ERL 0 has no SNACK support (§7.1.4.1).
      send_reject(kRejectProtocolError, bhs.raw);
      return true;
    default:
      break;
  }
  send_reject(kRejectCommandNotSupported, bhs.raw);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Send path

OutPdu Connection::make_pdu(std::span<const uint8_t, 48> header, std::span<const uint8_t> data) {
  OutPdu pdu;
  std::copy(header.begin(), header.end(), pdu.header.begin());
  store_be24(pdu.header.data() + 5, static_cast<uint32_t>(data.size()));
  pdu.header_length = 48;
  if (header_digest_) {
    store_le32(pdu.header.data() + 48, crc32c(std::span<const uint8_t>(pdu.header.data(), 48)));
    pdu.header_length = 52;
  }
  pdu.data = data;
  const size_t pad = (4 - data.size() % 4) % 4;
  pdu.trailer_length = static_cast<uint8_t>(pad);
  if (data_digest_ && !data.empty()) {
    Crc32c crc;
    crc.update(data);
    crc.update(std::span<const uint8_t>(pdu.trailer.data(), pad));
    store_le32(pdu.trailer.data() + pad, crc.value());
    pdu.trailer_length = static_cast<uint8_t>(pad + 4);
  }
  return pdu;
}

void Connection::queue_pdu(OutPdu pdu) {
  if (phase_ == Phase::closing) return;
  tx_.push(std::move(pdu));
  flush_tx();
}

void Connection::flush_tx() {
  if (send_pending_ || phase_ == Phase::closing) return;
  if (!tx_.prepare(tx_msg_)) return;
  send_pending_ = true;
  loop_.sendmsg(fd_, &tx_msg_, [self = this](int result) { self->on_sent(result); });
}

void Connection::on_sent(int result) {
  send_pending_ = false;
  if (phase_ == Phase::closing) {
    maybe_finish_close();
    return;
  }
  if (result < 0) {
    close(std::string("send failed: ") + std::strerror(-result));
    return;
  }
  const uint64_t releases_before = buffers_.releases();
  tx_.consume(static_cast<size_t>(result));  // sent PDUs return their buffer budget
  if (!parked_.empty() && buffers_.releases() != releases_before && !run_held(&Connection::resume_parked)) return;
  if (tx_.empty() && phase_ == Phase::logging_out) {
    close("");  // logout response delivered (§11.14)
    return;
  }
  flush_tx();
  if (rx_paused_ && tx_.queued_bytes() <= kMaxQueuedTxBytes) {
    rx_paused_ = false;  // PDUs received before the pause come first
    if (!run_held(&Connection::process_rx)) return;
  }
  post_recv();  // in case reading was paused for a full send queue
}

}  // namespace portico::iscsi
