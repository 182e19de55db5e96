#include "frontends/iscsi/protocol/login_state.h"

#include <algorithm>

namespace portico::iscsi {
namespace {

bool list_contains(std::string_view list, std::string_view item) {
  while (true) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

bool is_security_key(std::string_view key) { return key == "AuthMethod" || key.starts_with("CHAP_"); }

}  // namespace

LoginState::LoginState(LoginPolicy policy, uint16_t target_portal_group_tag)
    : policy_(std::move(policy)), tpgt_(target_portal_group_tag), negotiator_(policy_.limits) {}

LoginStep LoginState::start_response(const LoginRequestFields& request) const {
  LoginStep out;
  LoginResponseFields& r = out.response;
  r.csg = request.csg;
  r.version_max = 0;  // §11.13: the only version there is
  r.version_active = 0;
  r.isid = request.isid;
  r.tsih = request.tsih;
  r.itt = request.itt;
  return out;
}

void LoginState::set_failed(LoginStep& out, uint16_t status, std::string reason) {
  failed_ = true;
  out.response.transit = false;
  out.response.cont = false;
  out.response.nsg = 0;
  out.response.status_class = static_cast<uint8_t>(status >> 8);
  out.response.status_detail = static_cast<uint8_t>(status & 0xff);
  out.text.clear();
  out.outcome = LoginOutcome::failed;
  out.failure_reason = std::move(reason);
}

LoginStep LoginState::fail(const LoginRequestFields& request, uint16_t status, std::string reason) {
  LoginStep out = start_response(request);
  set_failed(out, status, std::move(reason));
  return out;
}

LoginStep LoginState::continuation(const LoginRequestFields& request) {
  LoginStep out = start_response(request);
  // §11.12.2: a request with C=1 must have T=0.
  if (request.transit) set_failed(out, login_status::kInitiatorError, "login request with both T and C bits");
  return out;
}

LoginStep LoginState::step(const LoginRequestFields& request, std::span<const uint8_t> text) {
  LoginStep out = start_response(request);
  if (failed_ || complete_) {
    set_failed(out, login_status::kInvalidDuringLogin, "login request after the login ended");
    return out;
  }
  if (request.cont) {
    set_failed(out, login_status::kInitiatorError, "continued login text passed as complete");
    return out;
  }
  auto keys = parse_text_keys(text);
  if (!keys.ok()) {
    set_failed(out, login_status::kInitiatorError, keys.status().message());
    return out;
  }
  std::vector<TextKey> replies;
  if (!started_) {
    if (!first_request(request, *keys, replies, out)) return out;
    started_ = true;
    current_stage_ = request.csg;
  } else if (request.isid != isid_ || request.tsih != tsih_ || request.cid != cid_) {
    // §6.2: ISID, TSIH and CID stay the same for the whole login.
    set_failed(out, login_status::kInitiatorError, "ISID, TSIH or CID changed during login");
    return out;
  }
  if (request.csg != current_stage_ || (request.csg != kStageSecurity && request.csg != kStageOperational)) {
    set_failed(out, login_status::kInitiatorError, "login request in stage " + std::to_string(request.csg) +
                                                      " while in stage " + std::to_string(current_stage_));
    return out;
  }
  const bool ok = request.csg == kStageSecurity ? security_stage(*keys, replies, out)
                                                 : operational_stage(*keys, replies, out);
  if (!ok || !transition(request, replies, out)) return out;
  out.text = encode_text_keys(replies);
  return out;
}

bool LoginState::first_request(const LoginRequestFields& request, const std::vector<TextKey>& keys,
                               std::vector<TextKey>& replies, LoginStep& out) {
  isid_ = request.isid;
  tsih_ = request.tsih;
  cid_ = request.cid;
  // §11.12.4: we support version 0 only.
  if (request.version_min > 0) {
    set_failed(out, login_status::kUnsupportedVersion, "unsupported iSCSI version " + std::to_string(request.version_min));
    return false;
  }
  const auto initiator = find_key(keys, "InitiatorName");
  if (!initiator || initiator->empty()) {
    set_failed(out, login_status::kMissingParameter, "no InitiatorName in the first login request");
    return false;
  }
  initiator_name_ = std::string(*initiator);
  if (const auto alias = find_key(keys, "InitiatorAlias")) initiator_alias_ = std::string(*alias);
  const auto type = find_key(keys, "SessionType").value_or("Normal");
  if (type != "Normal" && type != "Discovery") {
    set_failed(out, login_status::kSessionTypeNotSupported, "SessionType " + std::string(type));
    return false;
  }
  discovery_ = type == "Discovery";
  if (request.tsih != 0) {
    // §6.3.1: TSIH != 0 adds a connection to an existing session. MaxConnections is 1, so even
    // for a live session this fails (§11.13.5 0206 "too many connections").
    const bool exists = policy_.session_exists && policy_.session_exists(request.tsih);
    set_failed(out, exists ? login_status::kTooManyConnections : login_status::kSessionDoesNotExist,
               "login with TSIH " + std::to_string(request.tsih) + (exists ? ": one connection per session" : ": no such session"));
    return false;
  }
  if (discovery_) {
    negotiator_.set_discovery(true);
    chap_secrets_ = policy_.discovery_chap;
  } else {
    const auto name = find_key(keys, "TargetName");
    if (!name || name->empty()) {
      set_failed(out, login_status::kMissingParameter, "no TargetName in a normal session login");
      return false;
    }
    target_name_ = std::string(*name);
    const auto info = policy_.find_target ? policy_.find_target(target_name_, initiator_name_) : std::nullopt;
    if (!info) {
      set_failed(out, login_status::kNotFound, "no target " + target_name_);
      return false;
    }
    if (!info->initiator_allowed) {
      set_failed(out, login_status::kAuthorizationFailure, initiator_name_ + " is not allowed on " + target_name_);
      return false;
    }
    chap_secrets_ = info->chap;
    // §13.9: the first response of a normal session carries the TPGT.
    replies.push_back({"TargetPortalGroupTag", std::to_string(tpgt_)});
    if (!info->alias.empty()) replies.push_back({"TargetAlias", info->alias});
  }
  auth_ = chap_secrets_ ? Auth::await_method : Auth::none_needed;
  return true;
}

bool LoginState::security_stage(const std::vector<TextKey>& keys, std::vector<TextKey>& replies, LoginStep& out) {
  if (const auto method = find_key(keys, "AuthMethod")) {
    if (auth_ != Auth::await_method && auth_ != Auth::none_needed) {
      set_failed(out, login_status::kInitiatorError, "AuthMethod negotiated twice");
      return false;
    }
    if (auth_ == Auth::await_method) {
      // §12.1: CHAP is required by policy; "None" is not acceptable.
      if (!list_contains(*method, "CHAP")) {
        set_failed(out, login_status::kAuthenticationFailure, initiator_name_ + " does not offer CHAP");
        return false;
      }
      replies.push_back({"AuthMethod", "CHAP"});
      auth_ = Auth::await_chap_a;
    } else if (list_contains(*method, "None")) {
      replies.push_back({"AuthMethod", "None"});
      auth_ = Auth::done;
    } else {
      // CHAP without configured credentials cannot succeed.
      set_failed(out, login_status::kAuthenticationFailure, "no CHAP credentials configured for " + initiator_name_);
      return false;
    }
  }
  if (const auto algorithms = find_key(keys, "CHAP_A")) {
    if (auth_ != Auth::await_chap_a) {
      set_failed(out, login_status::kInitiatorError, "CHAP_A out of sequence");
      return false;
    }
    auto challenge = chap_.start(*algorithms);
    if (!challenge.ok()) {
      set_failed(out, challenge.status().code() == ErrorCode::internal ? login_status::kTargetError
                                                                        : login_status::kAuthenticationFailure,
                 challenge.status().message());
      return false;
    }
    replies.insert(replies.end(), challenge->begin(), challenge->end());
    auth_ = Auth::await_chap_response;
  } else if (find_key(keys, "CHAP_N") || find_key(keys, "CHAP_R")) {
    if (auth_ != Auth::await_chap_response) {
      set_failed(out, login_status::kInitiatorError, "CHAP response out of sequence");
      return false;
    }
    auto verdict = chap_.verify(keys, *chap_secrets_);
    if (!verdict.ok()) {
      set_failed(out, login_status::kAuthenticationFailure, verdict.status().message());
      return false;
    }
    replies.insert(replies.end(), verdict->begin(), verdict->end());
    auth_ = Auth::done;
  }
  // Operational keys may ride along in the security stage.
  const Status st = negotiator_.negotiate(keys, Negotiator::Stage::login, replies);
  if (!st.ok()) {
    set_failed(out, login_status::kInitiatorError, st.message());
    return false;
  }
  return true;
}

bool LoginState::operational_stage(const std::vector<TextKey>& keys, std::vector<TextKey>& replies, LoginStep& out) {
  if (auth_ != Auth::none_needed && auth_ != Auth::done) {
    // Skipping the security stage when the target demands authentication (§6.3, §12).
    set_failed(out, login_status::kAuthenticationFailure, initiator_name_ + " skipped authentication");
    return false;
  }
  for (const auto& k : keys) {
    if (is_security_key(k.key)) {
      set_failed(out, login_status::kInitiatorError, k.key + " in the operational stage");
      return false;
    }
  }
  const Status st = negotiator_.negotiate(keys, Negotiator::Stage::login, replies);
  if (!st.ok()) {
    set_failed(out, login_status::kInitiatorError, st.message());
    return false;
  }
  return true;
}

bool LoginState::transition(const LoginRequestFields& request, std::vector<TextKey>& replies, LoginStep& out) {
  if (!request.transit) return true;
  const bool valid_next = request.csg == kStageSecurity
                              ? (request.nsg == kStageOperational || request.nsg == kStageFullFeature)
                              : request.nsg == kStageFullFeature;
  if (!valid_next) {
    set_failed(out, login_status::kInitiatorError, "invalid next stage " + std::to_string(request.nsg));
    return false;
  }
  if (request.csg == kStageSecurity && auth_ != Auth::none_needed && auth_ != Auth::done) {
    if (auth_ == Auth::await_method) {
      set_failed(out, login_status::kAuthenticationFailure, initiator_name_ + " did not negotiate AuthMethod");
      return false;
    }
    return true;  // §6.2: the target refuses the transit (T=0) until CHAP is done
  }
  out.response.transit = true;
  out.response.nsg = request.nsg;
  current_stage_ = request.nsg;
  if (request.nsg == kStageFullFeature) {
    // Our declarations belong to the operational stage; when it is skipped the initiator
    // assumes the defaults (§13.12), which is what the negotiator holds.
    if (request.csg == kStageOperational) negotiator_.finish(replies);
    else {
      std::vector<TextKey> unused;
      negotiator_.finish(unused);
    }
    complete_ = true;
    out.outcome = discovery_ ? LoginOutcome::complete_discovery : LoginOutcome::complete_normal;
  }
  return true;
}

}  // namespace portico::iscsi
