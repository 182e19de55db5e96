// Commands on a queue: the Connect that makes the queue, capsules, data from the host (in the
// capsule, or asked for with R2T and sent in H2CData PDUs), and the answers (C2HData with the
// data, then the CapsuleResp — or C2HData with SUCCESS alone when the host disabled SQ flow
// control, as Linux's target does).
#include <spdlog/spdlog.h>

#include <cstring>

#include "core/nvme/fabrics.h"
#include "core/nvme/subsystem.h"
#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"
#include "frontends/nvmeof/server/queue_connect.h"
#include "frontends/nvmeof/server/queue_connection.h"

namespace portico::nvmeof {
namespace {

nvme::CompletionStatus no_retry(nvme::GenericStatus status) { return nvme::CompletionStatus(status).no_retry(); }

// The largest C2HData PDU: a command's data goes out in pieces of at most this, so that one
// large read does not hold the send queue as one block.
constexpr uint32_t kMaxC2hData = 128 * 1024;

}  // namespace

void QueueConnection::queue_cqe(uint16_t cid, nvme::CompletionStatus status, uint32_t dw0, uint32_t dw1) {
  nvme::CompletionEntry entry;
  entry.dw0 = dw0;
  entry.dw1 = dw1;
  entry.sq_head = link_.sq_flow_control ? link_.sq_head : 0;
  entry.sq_id = link_.queue.id;
  entry.cid = cid;
  entry.status = status;
  CapsuleResp resp;
  resp.cqe = nvme::encode_cqe(entry);
  encode_capsule_resp(resp, receiver_.params(), tx_next_.bytes());
}

void QueueConnection::respond_now(const nvme::SubmissionEntry& sqe, nvme::CompletionStatus status, uint32_t dw0) {
  queue_cqe(sqe.cid, status, dw0, 0);
  flush_tx();
}

QueueConnection::Dispatch QueueConnection::on_capsule(const CapsuleCmd& capsule, std::span<const uint8_t> data) {
  auto decoded = nvme::decode_sqe(capsule.sqe);
  const nvme::SubmissionEntry& sqe = *decoded;  // 64 bytes always decode
  if (phase_ == Phase::awaiting_connect) return on_connect(sqe, data) ? Dispatch::done : Dispatch::stop;
  if (phase_ != Phase::connected || draining_ || commands_.count(sqe.cid) != 0) {
    link_.consume_entry();
    respond_now(sqe, draining_ || phase_ != Phase::connected
                         ? nvme::CompletionStatus(nvme::GenericStatus::command_sequence_error)
                         : no_retry(nvme::GenericStatus::command_id_conflict));
    return Dispatch::done;
  }
  if (commands_.size() >= link_.queue.size) {
    // More commands than the queue has entries: the host broke the submission queue's bound.
    close("the host sent more than " + std::to_string(link_.queue.size) + " commands at once");
    return Dispatch::stop;
  }
  auto queued = std::make_unique<QueueCommand>();
  queued->command.sqe = sqe;
  queued->command.queue_id = link_.queue.id;
  const uint32_t data_out = queued->command.data_out_length();
  const uint32_t data_in = queued->command.data_in_limit();
  // The SGL must say where the data is: in the capsule (offset 0) or sent later / returned
  // through the transport (NVMe/TCP 1.0, "Command Capsule"); its size within MDTS.
  const bool in_capsule = sqe.sgl.identifier == nvme::kSglInCapsule;
  const bool transport = sqe.sgl.identifier == nvme::kSglTransportData;
  std::optional<nvme::CompletionStatus> refused;
  if (link_.subsystem->beyond_max_transfer(queued->command)) {
    refused = no_retry(nvme::GenericStatus::invalid_field);
  } else if (!in_capsule && !transport && (data_out != 0 || data_in != 0)) {
    refused = no_retry(nvme::GenericStatus::sgl_descriptor_type_invalid);
  } else if (in_capsule && (data_in != 0 || sqe.sgl.address != 0)) {
    refused = no_retry(data_in != 0 ? nvme::GenericStatus::sgl_descriptor_type_invalid
                                    : nvme::GenericStatus::sgl_offset_invalid);
  } else if (in_capsule && data.size() != data_out) {
    refused = no_retry(nvme::GenericStatus::data_sgl_length_invalid);
  } else if (transport && !data.empty()) {
    refused = no_retry(nvme::GenericStatus::data_sgl_length_invalid);
  }
  if (refused) {
    link_.consume_entry();
    respond_now(sqe, *refused);
    return Dispatch::done;
  }
  // The buffers the command needs, charged before anything is allocated: without room the
  // capsule waits in the receive buffer (and the host's next PDUs behind it).
  auto charge = buffers_.try_charge(uint64_t{data_out} + data_in);
  if (!charge) {
    if (budget_timer_ == 0 && in_core_ == 0) {
      // Nothing of this queue will return bytes: the pool is held by others. Try again soon.
      budget_timer_ = loop_.schedule_after(std::chrono::milliseconds(5), [this]() {
        auto self = shared_from_this();  // a close inside may drop the owner's reference
        budget_timer_ = 0;
        rx_waiting_for_budget_ = false;
        process_rx();
        post_recv();
      });
    }
    return Dispatch::wait;
  }
  link_.consume_entry();
  queued->charge = std::move(*charge);
  queued->data_expected = data_out;
  if (data_out != 0) queued->data_out = IoBuffer(data_out);
  QueueCommand& command = *queued;
  commands_.emplace(sqe.cid, std::move(queued));
  if (data_out == 0) {
    submit(command);
  } else if (in_capsule) {
    std::memcpy(command.data_out.data(), data.data(), data_out);
    command.data_received = data_out;
    submit(command);
  } else {
    // Ask for all of it in one R2T (the host splits it into H2CData PDUs of at most MAXH2CDATA);
    // TTAG is the CID, unique among the queue's commands.
    R2t r2t;
    r2t.cccid = sqe.cid;
    r2t.ttag = sqe.cid;
    r2t.r2to = 0;
    r2t.r2tl = data_out;
    encode_r2t(r2t, receiver_.params(), tx_next_.bytes());
    flush_tx();
  }
  return Dispatch::done;
}

bool QueueConnection::on_h2c_data(const DecodedPdu& pdu, std::span<const uint8_t> raw_header) {
  const auto& header = std::get<DataPdu>(pdu.header);
  auto it = commands_.find(header.cccid);
  if (it == commands_.end() || it->second->in_core || header.ttag != header.cccid ||
      it->second->data_expected == 0) {
    // Data for no R2T of ours (NVMe/TCP 1.0: a fatal error, the queue cannot tell where it goes).
    terminate(pdu_error(FatalErrorStatus::invalid_pdu_header_field, 8, "H2CData for no outstanding R2T"),
              raw_header);
    return false;
  }
  QueueCommand& command = *it->second;
  // In order and within what the R2T asked for (FES 04h: Data Transfer Out of Range).
  if (header.datao != command.data_received || pdu.data.size() > command.data_expected - command.data_received) {
    terminate(pdu_error(FatalErrorStatus::data_transfer_out_of_range, 12,
                        "H2CData at offset " + std::to_string(header.datao) + " of " +
                            std::to_string(pdu.data.size()) + " bytes; expected offset " +
                            std::to_string(command.data_received) + " of at most " +
                            std::to_string(command.data_expected - command.data_received)),
              raw_header);
    return false;
  }
  std::memcpy(command.data_out.data() + command.data_received, pdu.data.data(), pdu.data.size());
  command.data_received += static_cast<uint32_t>(pdu.data.size());
  if (command.data_received < command.data_expected) {
    if (header.last_pdu) {
      terminate(pdu_error(FatalErrorStatus::invalid_pdu_header_field, 1, "LAST_PDU before the R2T's data was in"),
                raw_header);
      return false;
    }
    return true;
  }
  if (command.digest_failed) {
    // The command never runs on damaged data.
    const uint16_t cid = header.cccid;
    queue_cqe(cid, nvme::GenericStatus::transient_transport_error, 0, 0);
    commands_.erase(it);
    flush_tx();
    return true;
  }
  submit(command);
  return true;
}

void QueueConnection::submit(QueueCommand& queued) {
  queued.command.data_out = std::span<const uint8_t>(queued.data_out.data(), queued.data_received);
  queued.in_core = true;
  ++in_core_;
  const uint16_t cid = queued.command.sqe.cid;
  link_.controller->execute(link_.queue, queued.command, loop_, [self = shared_from_this(), cid]() { self->on_core_done(cid); });
}

void QueueConnection::on_core_done(uint16_t cid) {
  --in_core_;
  auto it = commands_.find(cid);
  if (it == commands_.end()) return maybe_finish_close();  // cannot happen: the map holds it until now
  nvme::NvmeCommand& command = it->second->command;
  if (phase_ != Phase::closing) {
    send_response(command);
    // Disconnect (NVMe over Fabrics 1.1): the answer is the last PDU of the queue.
    if (is_disconnect(command.sqe)) {
      disconnecting_ = true;
      close_after_send_ = true;
    }
  }
  commands_.erase(it);  // its charge returns to the budget
  if (phase_ == Phase::closing) return maybe_finish_close();
  flush_tx();
  if (draining_ && in_core_ == 0) return close("gateway shutting down");
  if (rx_waiting_for_budget_) {
    rx_waiting_for_budget_ = false;
    process_rx();
    post_recv();
  }
}

void QueueConnection::send_response(nvme::NvmeCommand& command) {
  const uint16_t cid = command.sqe.cid;
  if (command.status.ok() && command.data_in_length != 0) {
    const uint32_t total = std::min(command.data_in_length, command.data_in_limit());
    const bool success_flag = !link_.sq_flow_control;
    // The data goes out from the command's buffer itself, which the send batch now keeps.
    IoBuffer buffer = std::move(command.data_in);
    const uint8_t* base = buffer.data();
    for (uint32_t offset = 0; offset < total;) {
      const uint32_t length = std::min(kMaxC2hData, total - offset);
      DataPdu data;
      data.cccid = cid;
      data.datao = offset;
      data.last_pdu = offset + length == total;
      data.success = data.last_pdu && success_flag;
      const std::span<const uint8_t> part(base + offset, length);
      const auto digest = encode_c2h_data_frame(data, part, receiver_.params(), tx_next_.bytes());
      tx_next_.add_data(std::move(buffer), part.data(), part.size());  // empty after the first part
      if (digest) tx_next_.bytes().insert(tx_next_.bytes().end(), digest->begin(), digest->end());
      offset += length;
    }
    if (success_flag) return;
  }
  queue_cqe(cid, command.status, command.result_dw0, command.result_dw1);
}

bool QueueConnection::on_connect(const nvme::SubmissionEntry& sqe, std::span<const uint8_t> data) {
  // NVMe/TCP carries the Connect data in the capsule (NVMe/TCP 1.0, "Command Capsule").
  auto outcome =
      connect_queue(context_, sqe, data, sqe.sgl.identifier == nvme::kSglInCapsule, nvme::FabricsTransport::tcp,
                    "nvme-tcp", peer_address_);
  if (auto* refused = std::get_if<QueueConnectRefused>(&outcome)) {
    respond_now(sqe, refused->status, refused->dw0);
    return true;
  }
  link_.adopt(std::move(std::get<QueueConnected>(outcome)));
  phase_ = Phase::connected;
  if (setup_timer_ != 0) loop_.cancel_timer(std::exchange(setup_timer_, 0));
  spdlog::info("{} connected ({} entries{}{})", who(), link_.queue.size,
               receiver_.params().header_digest ? ", header digest" : "",
               receiver_.params().data_digest ? ", data digest" : "");
  respond_now(sqe, nvme::GenericStatus::success, nvme::connect_success_dw0(link_.controller->id()));
  return true;
}

}  // namespace portico::nvmeof
