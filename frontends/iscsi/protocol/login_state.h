// The target's login phase (RFC 7143 §6, §11.12, §11.13): security negotiation (AuthMethod,
// CHAP), operational negotiation, stage transitions and the login status codes. Pure: it takes
// decoded Login Requests (with their complete text, C-bit continuations already joined by the
// caller) and returns the Login Response to send, so it is tested without sockets.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frontends/iscsi/protocol/chap.h"
#include "frontends/iscsi/protocol/negotiation.h"
#include "frontends/iscsi/protocol/pdu.h"
#include "frontends/iscsi/protocol/text_keys.h"

namespace portico::iscsi {

// §11.13.5 Status-Class (high byte) and Status-Detail (low byte).
namespace login_status {
inline constexpr uint16_t kSuccess = 0x0000;
inline constexpr uint16_t kTargetMovedTemporarily = 0x0101;  // redirection: not used by Portico
inline constexpr uint16_t kInitiatorError = 0x0200;
inline constexpr uint16_t kAuthenticationFailure = 0x0201;
inline constexpr uint16_t kAuthorizationFailure = 0x0202;  // ACL: initiator not allowed
inline constexpr uint16_t kNotFound = 0x0203;
inline constexpr uint16_t kTargetRemoved = 0x0204;
inline constexpr uint16_t kUnsupportedVersion = 0x0205;
inline constexpr uint16_t kTooManyConnections = 0x0206;
inline constexpr uint16_t kMissingParameter = 0x0207;
inline constexpr uint16_t kCannotIncludeInSession = 0x0208;
inline constexpr uint16_t kSessionTypeNotSupported = 0x0209;
inline constexpr uint16_t kSessionDoesNotExist = 0x020a;
inline constexpr uint16_t kInvalidDuringLogin = 0x020b;
inline constexpr uint16_t kTargetError = 0x0300;
inline constexpr uint16_t kServiceUnavailable = 0x0301;
inline constexpr uint16_t kOutOfResources = 0x0302;
}  // namespace login_status

// Login stages (CSG/NSG, §11.12.3).
inline constexpr uint8_t kStageSecurity = 0;
inline constexpr uint8_t kStageOperational = 1;
inline constexpr uint8_t kStageFullFeature = 3;

// What the policy tells about a target named in a login.
struct LoginTargetInfo {
  bool initiator_allowed = true;     // the target's ACL admits this initiator
  std::optional<ChapSecrets> chap;   // CHAP required when set
  std::string alias;                 // TargetAlias, if any
};

struct LoginPolicy {
  // Looks a target up by name for an initiator; nullopt: no such target.
  std::function<std::optional<LoginTargetInfo>(std::string_view target_name, std::string_view initiator_name)>
      find_target;
  // CHAP required for discovery sessions when set.
  std::optional<ChapSecrets> discovery_chap;
  // Whether a session with this TSIH exists (a login with TSIH != 0 adds a connection to it).
  std::function<bool(uint16_t tsih)> session_exists;
  TargetLimits limits;
};

enum class LoginOutcome { in_progress, complete_normal, complete_discovery, failed };

// One Login Response to send. stat_sn/exp_cmd_sn/max_cmd_sn are the caller's to fill; on a
// completed normal login so is the TSIH of the new session.
struct LoginStep {
  LoginResponseFields response;
  std::string text;  // "key=value\0..." data segment
  LoginOutcome outcome = LoginOutcome::in_progress;
  std::string failure_reason;  // for the log, when outcome == failed
};

class LoginState {
 public:
  LoginState(LoginPolicy policy, uint16_t target_portal_group_tag);

  // Handles one complete login request: `text` is the joined data of its PDUs (C bit).
  LoginStep step(const LoginRequestFields& request, std::span<const uint8_t> text);
  // The empty answer to a Login Request with the C bit set (§11.12.2, §6.2).
  LoginStep continuation(const LoginRequestFields& request);
  // Builds a failure response (e.g. the caller cannot register the session).
  LoginStep fail(const LoginRequestFields& request, uint16_t status, std::string reason);

  // Valid once a step returned complete_*.
  [[nodiscard]] const SessionParams& params() const { return negotiator_.params(); }
  [[nodiscard]] bool discovery() const { return discovery_; }
  [[nodiscard]] const std::string& initiator_name() const { return initiator_name_; }
  [[nodiscard]] const std::string& initiator_alias() const { return initiator_alias_; }
  [[nodiscard]] const std::string& target_name() const { return target_name_; }
  [[nodiscard]] const std::array<uint8_t, 6>& isid() const { return isid_; }
  [[nodiscard]] uint16_t cid() const { return cid_; }

 private:
  enum class Auth { none_needed, await_method, await_chap_a, await_chap_response, done };

  LoginStep start_response(const LoginRequestFields& request) const;
  bool first_request(const LoginRequestFields& request, const std::vector<TextKey>& keys,
                     std::vector<TextKey>& replies, LoginStep& out);
  bool security_stage(const std::vector<TextKey>& keys, std::vector<TextKey>& replies, LoginStep& out);
  bool operational_stage(const std::vector<TextKey>& keys, std::vector<TextKey>& replies, LoginStep& out);
  bool transition(const LoginRequestFields& request, std::vector<TextKey>& replies, LoginStep& out);
  void set_failed(LoginStep& out, uint16_t status, std::string reason);

  LoginPolicy policy_;
  uint16_t tpgt_;
  Negotiator negotiator_;
  bool started_ = false;
  bool failed_ = false;
  bool complete_ = false;
  uint8_t current_stage_ = kStageSecurity;
  Auth auth_ = Auth::none_needed;
  std::optional<ChapSecrets> chap_secrets_;
  ChapAuthenticator chap_;
  bool discovery_ = false;
  std::string initiator_name_;
  std::string initiator_alias_;
  std::string target_name_;
  std::array<uint8_t, 6> isid_{};
  uint16_t tsih_ = 0;
  uint16_t cid_ = 0;
};

}  // namespace portico::iscsi
