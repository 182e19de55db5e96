#include "tools/nvme_tcp/host_queue.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host {
namespace {

using nvmeof::FatalErrorStatus;
using nvmeof::PduType;

// Offsets in a received PDU, for the FEI of the H2CTermReq that refuses it.
constexpr uint32_t kCqeCidOffset = 8 + 12;  // CapsuleResp: CQE at 8, its CID at 12
constexpr uint32_t kCccidOffset = 8;        // C2HData, R2T
constexpr uint32_t kDataOffsetOffset = 12;  // DATAO, R2TO

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

}  // namespace

Queue::Queue(const QueueOptions& options, TcpSocket socket)
    : id_(options.queue_id),
      name_("nvme/tcp " + socket.peer() + " qid " + std::to_string(options.queue_id)),
      stream_(std::move(socket)),
      in_capsule_limit_(options.in_capsule_limit),
      slots_(std::max<uint16_t>(options.depth, 1)) {
  // Handing out low CIDs first keeps them small and easy to read in a trace.
  for (size_t cid = slots_.size(); cid > 0; --cid) free_cids_.push_back(static_cast<uint16_t>(cid - 1));
  params_.receive = nvmeof::Direction::controller_to_host;
}

Result<std::unique_ptr<Queue>> Queue::connect(const QueueOptions& options) {
  auto socket = TcpSocket::connect(options.host, options.port, options.timeout);
  if (!socket.ok()) return socket.status();
  std::unique_ptr<Queue> queue(new Queue(options, std::move(*socket)));
  if (Status s = queue->initialize(options.transport); !s.ok()) return s;
  return queue;
}

Status Queue::initialize(const TransportOptions& transport) {
  const nvmeof::IcReq request = make_ic_req(transport);
  tx_.clear();
  nvmeof::encode_ic_req(request, tx_);
  if (Status s = stream_.send(tx_); !s.ok()) return broken(s);
  // Until the ICResp the parameters are the defaults: no digests (an ICResp never has one).
  Received received = stream_.receive(params_, nvmeof::kTermReqMaxErrorData);
  if (auto* s = std::get_if<Status>(&received)) return broken(*s);
  if (auto* e = std::get_if<nvmeof::PduError>(&received)) return protocol_error(e->fes, e->fei, e->message);
  const auto& pdu = std::get<nvmeof::DecodedPdu>(received);
  if (pdu.layout.common.type == PduType::c2h_term_req) return dispatch(pdu).status();
  if (pdu.layout.common.type != PduType::ic_resp) {
    return protocol_error(FatalErrorStatus::pdu_sequence_error, 0,
                          std::string(nvmeof::pdu_type_name(pdu.layout.common.type)) + " before the ICResp");
  }
  auto params = accept_ic_resp(request, std::get<nvmeof::IcResp>(pdu.header));
  if (!params.ok()) return fail(Status(params.status().code(), name_ + ": " + params.status().message()));
  params_ = *params;
  return {};
}

void Queue::close() { fail(error(ErrorCode::closed, name_ + ": closed by the host")); }

Status Queue::check_usable() const {
  if (!failed_.ok()) return failed_;
  return {};
}

Result<uint16_t> Queue::claim(const Command& command) {
  if (!command.data_out.empty() && !command.data_in.empty()) {
    return error(ErrorCode::unsupported, name_ + ": a command moves data one way only over NVMe/TCP");
  }
  if (command.data_out.size() > UINT32_MAX || command.data_in.size() > UINT32_MAX) {
    return error(ErrorCode::out_of_range, name_ + ": a command moves at most 4 GiB - 1");
  }
  if (free_cids_.empty()) {
    return error(ErrorCode::busy, name_ + ": " + std::to_string(slots_.size()) + " commands already in flight");
  }
  const uint16_t cid = free_cids_.back();
  free_cids_.pop_back();
  Slot& slot = slots_[cid];
  slot = Slot{};
  slot.busy = true;
  slot.tag = command.tag;
  slot.data_out = command.data_out;
  slot.data_in = command.data_in;
  slot.data_in_capsule = !command.data_out.empty() &&
                         (command.placement == DataPlacement::in_capsule || command.data_out.size() <= in_capsule_limit_);
  return cid;
}

void Queue::append_capsule(const Command& command, uint16_t cid) {
  const Slot& slot = slots_[cid];
  nvmeof::CapsuleCmd capsule{command.sqe};
  set_cid(capsule.sqe, cid);
  // No data: a transport descriptor of length 0, as Linux's host (nvme_tcp_set_sg_null).
  const size_t length = std::max(command.data_out.size(), command.data_in.size());
  set_sgl(capsule.sqe, slot.data_in_capsule ? nvme::kSglInCapsule : nvme::kSglTransportData,
          static_cast<uint32_t>(length));
  nvmeof::encode_capsule_cmd(capsule, slot.data_in_capsule ? command.data_out : std::span<const uint8_t>{}, params_,
                             tx_);
}

Result<uint16_t> Queue::submit(const Command& command) {
  auto cid = submit_later(command);
  if (!cid.ok()) return cid;
  if (Status s = flush(); !s.ok()) return s;
  return cid;
}

Result<uint16_t> Queue::submit_later(const Command& command) {
  if (Status s = check_usable(); !s.ok()) return s;
  auto cid = claim(command);
  if (!cid.ok()) return cid;
  tx_.clear();
  append_capsule(command, *cid);
  pending_tx_.insert(pending_tx_.end(), tx_.begin(), tx_.end());
  return cid;
}

Status Queue::flush() {
  if (pending_tx_.empty()) return {};
  Status s = stream_.send(pending_tx_);
  pending_tx_.clear();
  return s.ok() ? s : broken(s);
}

Result<std::array<uint16_t, 2>> Queue::submit_fused(const Command& first, const Command& second) {
  if (Status s = check_usable(); !s.ok()) return s;
  if (free_cids_.size() < 2) return error(ErrorCode::busy, name_ + ": no room for a fused pair");
  Command a = first;
  Command b = second;
  set_fuse(a.sqe, nvme::FusedOperation::first);
  set_fuse(b.sqe, nvme::FusedOperation::second);
  auto cid_a = claim(a);
  if (!cid_a.ok()) return cid_a.status();
  auto cid_b = claim(b);
  if (!cid_b.ok()) {
    slots_[*cid_a] = Slot{};
    free_cids_.push_back(*cid_a);
    return cid_b.status();
  }
  if (Status s = flush(); !s.ok()) return s;
  tx_.clear();
  append_capsule(a, *cid_a);
  append_capsule(b, *cid_b);
  if (Status s = stream_.send(tx_); !s.ok()) return broken(s);
  return std::array<uint16_t, 2>{*cid_a, *cid_b};
}

Result<Completion> Queue::reap() {
  if (!ready_.empty()) {
    Completion c = ready_.front();
    ready_.pop_front();
    return hand_out(c);
  }
  if (Status s = check_usable(); !s.ok()) return s;
  if (in_flight() == 0) return error(ErrorCode::invalid_argument, name_ + ": no command in flight to reap");
  if (Status s = flush(); !s.ok()) return s;
  auto c = receive_completion();
  if (!c.ok()) return c;
  return hand_out(*c);
}

std::optional<Result<Completion>> Queue::try_reap() {
  if (!ready_.empty()) return reap();
  while (check_usable().ok() && in_flight() > 0 && stream_.has_buffered_pdu(params_)) {
    // Decoding a buffered PDU does not wait; it may be data or an R2T rather than a completion.
    Received received = stream_.receive(params_, largest_data_in());
    if (auto* s = std::get_if<Status>(&received)) return Result<Completion>(broken(*s));
    if (auto* e = std::get_if<nvmeof::PduError>(&received)) {
      return Result<Completion>(protocol_error(e->fes, e->fei, e->message));
    }
    auto done = dispatch(std::get<nvmeof::DecodedPdu>(received));
    if (!done.ok()) return Result<Completion>(done.status());
    if (done->has_value()) return Result<Completion>(hand_out(**done));
  }
  return std::nullopt;
}

Result<Completion> Queue::wait(uint16_t cid) {
  const auto it = std::find_if(ready_.begin(), ready_.end(), [&](const Completion& c) { return c.cqe.cid == cid; });
  if (it != ready_.end()) {
    Completion c = *it;
    ready_.erase(it);
    return hand_out(c);
  }
  if (Status s = check_usable(); !s.ok()) return s;
  if (busy_slot(cid) == nullptr) {
    return error(ErrorCode::invalid_argument, name_ + ": CID " + std::to_string(cid) + " is not in flight");
  }
  if (Status s = flush(); !s.ok()) return s;
  for (;;) {
    auto c = receive_completion();
    if (!c.ok()) return c;
    if (c->cqe.cid == cid) return hand_out(*c);
    ready_.push_back(*c);
  }
}

Result<Completion> Queue::execute(const Command& command) {
  auto cid = submit(command);
  if (!cid.ok()) return cid.status();
  return wait(*cid);
}

uint32_t Queue::largest_data_in() const {
  size_t largest = nvmeof::kTermReqMaxErrorData;  // a C2HTermReq's error data
  for (const Slot& slot : slots_) {
    if (slot.busy) largest = std::max(largest, slot.data_in.size());
  }
  return static_cast<uint32_t>(largest);
}

Result<Completion> Queue::receive_completion() {
  for (;;) {
    Received received = stream_.receive(params_, largest_data_in());
    if (auto* s = std::get_if<Status>(&received)) return broken(*s);
    if (auto* e = std::get_if<nvmeof::PduError>(&received)) return protocol_error(e->fes, e->fei, e->message);
    auto done = dispatch(std::get<nvmeof::DecodedPdu>(received));
    if (!done.ok()) return done.status();
    if (done->has_value()) return std::move(**done);
  }
}

Result<std::optional<Completion>> Queue::dispatch(const nvmeof::DecodedPdu& pdu) {
  switch (pdu.layout.common.type) {
    case PduType::capsule_resp: {
      const auto& resp = std::get<nvmeof::CapsuleResp>(pdu.header);
      const nvme::CompletionEntry cqe = nvme::decode_cqe(resp.cqe);
      if (busy_slot(cqe.cid) == nullptr) {
        return protocol_error(FatalErrorStatus::invalid_pdu_header_field, kCqeCidOffset,
                              "CapsuleResp for CID " + std::to_string(cqe.cid) + ", which is not in flight");
      }
      return std::optional<Completion>(finish(cqe.cid, cqe));
    }
    case PduType::c2h_data:
      return on_c2h_data(std::get<nvmeof::DataPdu>(pdu.header), pdu);
    case PduType::r2t:
      if (Status s = on_r2t(std::get<nvmeof::R2t>(pdu.header)); !s.ok()) return s;
      return std::optional<Completion>{};
    case PduType::c2h_term_req: {
      const auto& term = std::get<nvmeof::TermReq>(pdu.header);
      termination_ = term;
      return fail(error(ErrorCode::closed, name_ + ": the controller ended the connection with C2HTermReq FES " +
                                               hex(term.fes) + " (" +
                                               std::string(fatal_error_status_name(term.fes)) + "), FEI " +
                                               hex(term.fei)));
    }
    default:
      return protocol_error(FatalErrorStatus::pdu_sequence_error, 0,
                            std::string(nvmeof::pdu_type_name(pdu.layout.common.type)) + " on an established queue");
  }
}

Result<std::optional<Completion>> Queue::on_c2h_data(const nvmeof::DataPdu& f, const nvmeof::DecodedPdu& pdu) {
  Slot* slot = busy_slot(f.cccid);
  if (slot == nullptr) {
    return protocol_error(FatalErrorStatus::invalid_pdu_header_field, kCccidOffset,
                          "C2HData for CID " + std::to_string(f.cccid) + ", which is not in flight");
  }
  if (uint64_t{f.datao} + f.datal > slot->data_in.size()) {
    return protocol_error(FatalErrorStatus::data_transfer_out_of_range, kDataOffsetOffset,
                          "C2HData for CID " + std::to_string(f.cccid) + " at " + std::to_string(f.datao) + "+" +
                              std::to_string(f.datal) + " past its " + std::to_string(slot->data_in.size()) +
                              " byte buffer");
  }
  std::memcpy(slot->data_in.data() + f.datao, pdu.data.data(), pdu.data.size());
  slot->received += f.datal;
  // A data digest error spoils this command only: it completes with Data Transfer Error, as
  // Linux's host does (nvme_tcp_ddgst_recv), and the queue goes on.
  if (!pdu.data_digest_ok) slot->data_digest_error = true;
  if (!f.success) return std::optional<Completion>{};
  nvme::CompletionEntry cqe;
  cqe.cid = f.cccid;
  cqe.sq_id = id_;
  return std::optional<Completion>(finish(f.cccid, cqe));
}

Status Queue::on_r2t(const nvmeof::R2t& r2t) {
  Slot* slot = busy_slot(r2t.cccid);
  if (slot == nullptr || slot->data_out.empty() || slot->data_in_capsule) {
    return protocol_error(FatalErrorStatus::invalid_pdu_header_field, kCccidOffset,
                          "R2T for CID " + std::to_string(r2t.cccid) + ", which has no data to send");
  }
  if (uint64_t{r2t.r2to} + r2t.r2tl > slot->data_out.size()) {
    return protocol_error(FatalErrorStatus::data_transfer_out_of_range, kDataOffsetOffset,
                          "R2T for CID " + std::to_string(r2t.cccid) + " asks " + std::to_string(r2t.r2to) + "+" +
                              std::to_string(r2t.r2tl) + " of " + std::to_string(slot->data_out.size()) + " bytes");
  }
  // NVMe/TCP 1.0: the solicited data goes in H2CData PDUs of at most MAXH2CDATA bytes each;
  // LAST_PDU marks the last one of this R2T's transfer.
  tx_.clear();
  const uint32_t chunk = params_.max_h2c_data;
  for (uint32_t done = 0; done < r2t.r2tl;) {
    const uint32_t n = std::min(chunk, r2t.r2tl - done);
    nvmeof::DataPdu f;
    f.cccid = r2t.cccid;
    f.ttag = r2t.ttag;
    f.datao = r2t.r2to + done;
    f.last_pdu = done + n == r2t.r2tl;
    nvmeof::encode_h2c_data(f, slot->data_out.subspan(f.datao, n), params_, tx_);
    done += n;
  }
  if (Status s = stream_.send(tx_); !s.ok()) return broken(s);
  return {};
}

Completion Queue::finish(uint16_t cid, const nvme::CompletionEntry& cqe) {
  Slot& slot = slots_[cid];
  slot.done = true;
  Completion c{slot.tag, cqe, slot.received};
  if (slot.data_digest_error && c.cqe.status.ok()) c.cqe.status = nvme::GenericStatus::data_transfer_error;
  return c;
}

Completion Queue::hand_out(const Completion& completion) {
  const uint16_t cid = completion.cqe.cid;
  slots_[cid] = Slot{};
  free_cids_.push_back(cid);
  return completion;
}

Queue::Slot* Queue::busy_slot(uint16_t cid) {
  return cid < slots_.size() && slots_[cid].busy && !slots_[cid].done ? &slots_[cid] : nullptr;
}

Status Queue::fail(Status status) {
  if (failed_.ok()) failed_ = std::move(status);
  stream_.socket().close();
  return failed_;
}

Status Queue::broken(const Status& transport) {
  return fail(Status(transport.code(), transport.message() + " (qid " + std::to_string(id_) + ")"));
}

Status Queue::protocol_error(FatalErrorStatus fes, uint32_t fei, const std::string& message) {
  tx_.clear();
  const uint32_t field = nvmeof::fei_is_field_offset(fes) ? fei : 0;
  nvmeof::encode_h2c_term_req(nvmeof::TermReq{static_cast<uint16_t>(fes), field}, stream_.last_header(), tx_);
  (void)stream_.send(tx_);  // best effort: the queue ends either way
  return fail(error(ErrorCode::invalid_argument, name_ + ": " + message + "; sent H2CTermReq FES " +
                                                     hex(static_cast<uint16_t>(fes))));
}

}  // namespace portico::nvme_host
