// Login, Text (SendTargets and full feature negotiation) and Logout (RFC 7143 §6, §11.10-§11.15).
// The protocol rules live in frontends/iscsi/protocol (LoginState, Negotiator); this file moves
// PDUs, registers the session and attaches the SCSI I_T nexus.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "core/common/big_endian.h"
#include "frontends/iscsi/server/connection.h"

namespace portico::iscsi {
namespace {

// Bound on the text of one login or text request spread over several PDUs (C bit).
constexpr size_t kMaxAccumulatedText = 64 * 1024;

std::string hex(std::span<const uint8_t> bytes) {
  std::string out;
  char buf[3];
  for (const uint8_t b : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

std::string hex16(uint16_t v) {
  char buf[5];
  std::snprintf(buf, sizeof(buf), "%04x", v);
  return buf;
}

ChapSecrets to_secrets(const ChapCredentials& c) {
  return {c.username, c.secret, c.mutual_username, c.mutual_secret};
}

// SPC-4 7.6.4.6: iSCSI TransportID, format 01b (initiator port): "<name>,i,0x<ISID>", NUL
// terminated and padded to a multiple of 4 bytes.
std::vector<uint8_t> iscsi_transport_id(const std::string& port_name) {
  const size_t name_length = (port_name.size() + 1 + 3) & ~size_t{3};
  std::vector<uint8_t> id(4 + name_length, 0);
  id[0] = 0x40 | 0x05;  // FORMAT CODE 01b, PROTOCOL IDENTIFIER 5h (iSCSI)
  store_be16(id.data() + 2, static_cast<uint16_t>(name_length));
  std::copy(port_name.begin(), port_name.end(), id.begin() + 4);
  return id;
}

// A portal as SendTargets reports it: "host:port" with IPv6 hosts in brackets. A wildcard
// listener reports the address the initiator actually reached (§13.8: a usable address).
std::string portal_for_send_targets(const std::string& portal, const std::string& local_address) {
  const size_t colon = portal.rfind(':');
  if (colon == std::string::npos) return portal;
  std::string host = portal.substr(0, colon);
  const std::string port = portal.substr(colon + 1);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") {
    const size_t local_colon = local_address.rfind(':');
    if (local_colon != std::string::npos) host = local_address.substr(0, local_colon);
  }
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return host + ":" + port;
}

// A peer's portal is listed only when a host can reach it as written: a wildcard or an
// unbound port (":0") says nothing about where that gateway is reachable.
bool peer_portal_is_reachable(const std::string& portal) {
  const size_t colon = portal.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string host = portal.substr(0, colon);
  const std::string port = portal.substr(colon + 1);
  return host != "0.0.0.0" && host != "[::]" && host != "::" && !port.empty() && port != "0";
}

}  // namespace

bool acl_allows(const IscsiTargetSettings& target, std::string_view initiator) {
  return target.any_initiator ||
         std::find(target.allowed_initiators.begin(), target.allowed_initiators.end(), initiator) !=
             target.allowed_initiators.end();
}

LoginPolicy make_login_policy(const ServerContext& context) {
  const ServerContext* ctx = &context;  // outlives every connection
  LoginPolicy policy;
  policy.find_target = [ctx](std::string_view name, std::string_view initiator) -> std::optional<LoginTargetInfo> {
    const auto targets = ctx->targets();
    const auto it = targets->find(name);
    if (it == targets->end()) return std::nullopt;
    LoginTargetInfo info;
    info.initiator_allowed = acl_allows(*it->second, initiator);
    if (const auto own = it->second->initiator_chap.find(initiator); own != it->second->initiator_chap.end()) {
      info.chap = to_secrets(own->second);
    } else if (it->second->chap) {
      info.chap = to_secrets(*it->second->chap);
    }
    info.alias = it->second->alias;
    return info;
  };
  if (context.settings.discovery_chap) policy.discovery_chap = to_secrets(*context.settings.discovery_chap);
  policy.session_exists = [ctx](uint16_t tsih) { return ctx->sessions.tsih_in_use(tsih); };
  policy.limits.max_recv_data_segment_length = context.settings.max_recv_data_segment_length;
  policy.limits.max_burst_length = context.settings.max_burst_length;
  policy.limits.first_burst_length = context.settings.first_burst_length;
  return policy;
}

uint16_t Connection::local_portal_group_tag() const { return context_.settings.target_portal_group_tag; }

void Connection::send_login_response(LoginStep& step, const LoginRequestFields& request) {
  if (!login_responded_) {
    // The first Login Response starts StatSN at the initiator's ExpStatSN (§11.13.4); the
    // command window starts at the login's CmdSN, which the first command reuses (Login is
    // immediate, §11.12.7).
    stat_sn_ = request.exp_stat_sn;
    login_responded_ = true;
  }
  if (exp_cmd_sn_ != request.cmd_sn || advertised_max_cmd_sn_ == 0) {
    exp_cmd_sn_ = request.cmd_sn;
    advertised_max_cmd_sn_ = exp_cmd_sn_ - 1;  // an empty window to grow from (serial arithmetic)
  }
  step.response.stat_sn = stat_sn_++;
  step.response.exp_cmd_sn = exp_cmd_sn_;
  step.response.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  encode_login_response(step.response, header);
  std::vector<uint8_t> text(step.text.begin(), step.text.end());
  OutPdu pdu = make_pdu(header, text);
  pdu.owned_bytes = std::move(text);
  queue_pdu(std::move(pdu));
}

bool Connection::on_login_request(const Bhs& bhs, std::span<const uint8_t> data) {
  const LoginRequestFields request = decode_login_request(bhs);
  LoginStep step;
  if (login_pdu_data_.size() + data.size() > kMaxAccumulatedText) {
    step = login_->fail(request, login_status::kOutOfResources, "login text larger than 64 KiB");
  } else {
    login_pdu_data_.insert(login_pdu_data_.end(), data.begin(), data.end());
    if (request.cont) {
      step = login_->continuation(request);  // §6.2: acknowledge with an empty response
    } else {
      const std::vector<uint8_t> text = std::move(login_pdu_data_);
      login_pdu_data_.clear();
      step = login_->step(request, text);
    }
  }
  // On failure register_session turns the step into a failed one.
  if (step.outcome == LoginOutcome::complete_normal) (void)register_session(step, request);
  if (step.outcome == LoginOutcome::complete_discovery) {
    if (context_.discovery_sessions.fetch_add(1) >= context_.settings.max_discovery_sessions) {
      context_.discovery_sessions.fetch_sub(1);
      step = login_->fail(request, login_status::kOutOfResources,
                          "discovery session limit of " + std::to_string(context_.settings.max_discovery_sessions) +
                              " reached");
    } else {
      counts_as_discovery_ = true;
    }
  }
  if (step.outcome == LoginOutcome::failed) {
    const uint16_t status = static_cast<uint16_t>((step.response.status_class << 8) | step.response.status_detail);
    if (const auto log = context_.unauthenticated_log.allow(); log.write) {
      spdlog::info("iscsi: connection {} from {}: login failed (status 0x{:04x}): {}{}", id_, peer_address_, status,
                   step.failure_reason, suppressed_note(log.suppressed_before));
    }
    phase_ = Phase::logging_out;  // the send path closes once the response is out (§6.9 ff.)
    if (status == login_status::kAuthenticationFailure) {
      // A wrong secret is answered late, later with every failure from the same address, so
      // that secrets cannot be guessed at wire speed. Nothing more is read meanwhile.
      const auto delay = context_.auth_failures.record_failure(runtime::host_of(peer_address_));
      login_reply_timer_ = loop_.schedule_after(delay, [this, step = std::move(step), request]() mutable {
        login_reply_timer_ = 0;
        send_login_response(step, request);
      });
      return false;
    }
    send_login_response(step, request);
    return false;
  }
  send_login_response(step, request);
  switch (step.outcome) {
    case LoginOutcome::in_progress:
      return true;
    case LoginOutcome::failed:
      return false;  // answered above
    case LoginOutcome::complete_normal:
    case LoginOutcome::complete_discovery:
      return finish_login();
  }
  return true;
}

bool Connection::register_session(LoginStep& step, const LoginRequestFields& request) {
  const auto targets = context_.targets();
  const auto it = targets->find(login_->target_name());
  if (it == targets->end()) {
    step = login_->fail(request, login_status::kTargetRemoved, "target " + login_->target_name() + " went away");
    return false;
  }
  target_ = it->second;
  SessionKey key{login_->initiator_name(), login_->isid(), login_->target_name()};
  // §6.3.5: an existing session with this ISID is reinstated: the registry tells its connection
  // to close, on that connection's own loop.
  std::weak_ptr<Connection> weak = weak_from_this();
  auto close_fn = [weak]() {
    if (auto self = weak.lock()) self->close("session reinstated by a new login");
  };
  uint16_t tsih = 0;
  if (context_.sessions.add(key, id_, loop_, close_fn, tsih) == SessionRegistry::AddResult::limit_reached) {
    target_ = nullptr;
    step = login_->fail(request, login_status::kOutOfResources,
                        "session limit of " + std::to_string(context_.settings.max_sessions) + " reached");
    return false;
  }
  registered_ = true;
  session_key_ = std::move(key);
  tsih_ = tsih;
  step.response.tsih = tsih;  // §11.13.3: the final response carries the new TSIH
  return true;
}

bool Connection::finish_login() {
  params_ = login_->params();
  discovery_ = login_->discovery();
  cid_ = login_->cid();
  session_key_.initiator_name = login_->initiator_name();
  session_key_.isid = login_->isid();
  if (!discovery_) {
    const std::string isid_hex = hex(login_->isid());
    const std::string tpgt_hex = hex16(local_portal_group_tag());
    scsi::ItNexus nexus;
    nexus.initiator_name = login_->initiator_name();
    nexus.target_name = login_->target_name();
    nexus.initiator_port_name = nexus.initiator_name + ",i,0x" + isid_hex;
    nexus.target_port_name = nexus.target_name + ",t,0x" + tpgt_hex;
    nexus.transport_id = iscsi_transport_id(nexus.initiator_port_name);
    nexus.relative_target_port_id = local_portal_group_tag();
    nexus.target_port_group_id = context_.settings.target_port_group_id;
    nexus_ = target_->scsi_target->attach(nexus);
  }
  // The final Login Response went out without digests; they apply from the next PDU (§13.1).
  header_digest_ = params_.header_digest;
  data_digest_ = params_.data_digest;
  phase_ = Phase::full_feature;
  logged_in_ = true;
  if (login_timer_ != 0) loop_.cancel_timer(std::exchange(login_timer_, 0));
  login_.reset();
  spdlog::info("iscsi: connection {}: {} logged in{}{} from {} (digests {}/{}, MaxRecvDataSegmentLength {})", id_,
               session_key_.initiator_name, discovery_ ? " for discovery" : " to ", session_key_.target_name,
               peer_address_, header_digest_ ? "CRC32C" : "None", data_digest_ ? "CRC32C" : "None",
               params_.max_recv_data_segment_length_initiator);
  schedule_nop_in();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Text requests (§11.10): SendTargets and full feature phase negotiation.

std::string Connection::send_targets_response(std::string_view which) const {
  // §13.3 / RFC 7143 Appendix C: in a normal session only the session's target is reported.
  std::string out;
  std::vector<PeerPortalGroup> peers;
  if (context_.settings.peer_portals) peers = context_.settings.peer_portals();
  const auto targets = context_.targets();
  for (const auto& [iqn, target] : *targets) {
    if (!discovery_ && iqn != session_key_.target_name) continue;
    if (discovery_ && which != "All" && iqn != which) continue;
    if (!discovery_ && !which.empty() && which != "All" && iqn != which) continue;
    if (!acl_allows(*target, session_key_.initiator_name)) continue;
    append_text_key(out, "TargetName", iqn);
    for (const auto& portal : context_.portal_addresses) {
      append_text_key(out, "TargetAddress",
                      portal_for_send_targets(portal, local_address_) + "," +
                          std::to_string(local_portal_group_tag()));
    }
    // Every gateway of the cluster exports the same targets (one membership object per group).
    for (const auto& peer : peers) {
      if (peer.tag == local_portal_group_tag()) continue;
      for (const auto& portal : peer.portals) {
        if (!peer_portal_is_reachable(portal)) continue;
        append_text_key(out, "TargetAddress", portal_for_send_targets(portal, {}) + "," + std::to_string(peer.tag));
      }
    }
  }
  return out;
}

void Connection::send_text_chunk(uint32_t itt) {
  // §11.11.2: a response longer than the initiator's MaxRecvDataSegmentLength goes out in
  // pieces with C=1 and a TTT; the initiator asks for each next piece with an empty request.
  const size_t limit = std::max<uint32_t>(params_.max_recv_data_segment_length_initiator, 512);
  const size_t length = std::min(limit, text_pending_response_.size());
  const bool last = length == text_pending_response_.size();
  TextResponseFields rsp;
  rsp.final = last;
  rsp.cont = !last;
  rsp.itt = itt;
  if (last) {
    text_ttt_ = kReservedTaskTag;
  } else if (text_ttt_ == kReservedTaskTag) {
    text_ttt_ = next_ttt_++;
    if (text_ttt_ == kReservedTaskTag) text_ttt_ = next_ttt_++;
  }
  rsp.ttt = text_ttt_;
  rsp.stat_sn = stat_sn_++;
  rsp.exp_cmd_sn = exp_cmd_sn_;
  rsp.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  encode_text_response(rsp, header);
  std::vector<uint8_t> bytes(text_pending_response_.begin(), text_pending_response_.begin() + static_cast<long>(length));
  text_pending_response_.erase(0, length);
  OutPdu pdu = make_pdu(header, bytes);
  pdu.owned_bytes = std::move(bytes);
  queue_pdu(std::move(pdu));
}

bool Connection::on_text_request(const Bhs& bhs, std::span<const uint8_t> data) {
  if (check_cmd_sn(bhs) == CmdSnCheck::drop) return true;
  const TextRequestFields request = decode_text_request(bhs);
  if (request.ttt != kReservedTaskTag && request.ttt != text_ttt_) {
    send_reject(kRejectInvalidPduField, bhs.raw);  // §11.10.4: a TTT we did not hand out
    return true;
  }
  if (request.ttt == kReservedTaskTag) {
    // A new request; it also ends any exchange still in progress (§11.10.4).
    text_pending_response_.clear();
    text_request_accumulated_.clear();
    text_ttt_ = kReservedTaskTag;
  } else if (!text_pending_response_.empty()) {
    send_text_chunk(request.itt);  // the initiator asks for the next piece of our answer
    return true;
  }
  if (text_request_accumulated_.size() + data.size() > kMaxAccumulatedText) {
    text_request_accumulated_.clear();
    text_ttt_ = kReservedTaskTag;
    send_reject(kRejectProtocolError, bhs.raw);
    return true;
  }
  text_request_accumulated_.insert(text_request_accumulated_.end(), data.begin(), data.end());
  if (request.cont) {
    // §11.10.2: acknowledge a partial request with an empty, non-final response carrying a
    // TTT; the initiator sends the rest with that TTT.
    if (text_ttt_ == kReservedTaskTag) {
      text_ttt_ = next_ttt_++;
      if (text_ttt_ == kReservedTaskTag) text_ttt_ = next_ttt_++;
    }
    TextResponseFields rsp;
    rsp.final = false;
    rsp.itt = request.itt;
    rsp.ttt = text_ttt_;
    rsp.stat_sn = stat_sn_++;
    rsp.exp_cmd_sn = exp_cmd_sn_;
    rsp.max_cmd_sn = max_cmd_sn();
    std::array<uint8_t, 48> header{};
    encode_text_response(rsp, header);
    queue_pdu(make_pdu(header, {}));
    return true;
  }
  const std::vector<uint8_t> text = std::move(text_request_accumulated_);
  text_request_accumulated_.clear();
  auto keys = parse_text_keys(text);
  if (!keys.ok()) {
    send_reject(kRejectProtocolError, bhs.raw);
    return true;
  }
  std::string response;
  if (const auto which = find_key(*keys, "SendTargets")) response += send_targets_response(*which);
  TargetLimits limits;
  limits.max_recv_data_segment_length = params_.max_recv_data_segment_length_target;
  Negotiator negotiator(limits);
  std::vector<TextKey> replies;
  (void)negotiator.negotiate(*keys, Negotiator::Stage::full_feature, replies);
  if (find_key(*keys, "MaxRecvDataSegmentLength") && find_key(replies, "MaxRecvDataSegmentLength") != kReject) {
    params_.max_recv_data_segment_length_initiator = negotiator.params().max_recv_data_segment_length_initiator;
  }
  response += encode_text_keys(replies);
  text_pending_response_ = std::move(response);
  send_text_chunk(request.itt);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Logout (§11.14, §11.15).

bool Connection::on_logout_request(const Bhs& bhs) {
  if (check_cmd_sn(bhs) == CmdSnCheck::drop) return true;
  const LogoutRequestFields request = decode_logout_request(bhs);
  LogoutResponseFields rsp;
  rsp.itt = request.itt;
  if (request.reason == 2) {
    rsp.response = 2;  // connection recovery needs ERL 2
  } else if (request.reason == 1 && request.cid != cid_) {
    rsp.response = 1;  // CID not found: this session has one connection
  } else if (request.reason > 2) {
    send_reject(kRejectInvalidPduField, bhs.raw);
    return true;
  }
  rsp.stat_sn = stat_sn_++;
  rsp.exp_cmd_sn = exp_cmd_sn_;
  rsp.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  encode_logout_response(rsp, header);
  queue_pdu(make_pdu(header, {}));
  if (rsp.response == 0) {
    spdlog::debug("iscsi: connection {}: logout ({})", id_, request.reason == 0 ? "session" : "connection");
    phase_ = Phase::logging_out;  // closes once the response is sent
  }
  return true;
}

}  // namespace portico::iscsi
