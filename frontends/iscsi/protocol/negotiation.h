// Operational parameter negotiation (RFC 7143 §6.2, §13): the target's side of every key an
// initiator may offer during the login operational stage or, for the few keys allowed there, in
// full feature phase Text Requests.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "frontends/iscsi/protocol/text_keys.h"

namespace portico::iscsi {

// Negotiated session and connection parameters. Defaults are RFC 7143 §13's.
struct SessionParams {
  bool header_digest = false;
  bool data_digest = false;
  uint32_t max_recv_data_segment_length_target = 8192;     // what we accept (we declare it)
  uint32_t max_recv_data_segment_length_initiator = 8192;  // what the initiator accepts: limits Data-In
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  uint32_t max_outstanding_r2t = 1;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
  uint32_t error_recovery_level = 0;
  uint32_t max_connections = 1;
  bool initial_r2t = true;
  bool immediate_data = true;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
};

// What this target offers (from IscsiServerSettings).
struct TargetLimits {
  uint32_t max_recv_data_segment_length = 262144;
  uint32_t max_burst_length = 1048576;
  uint32_t first_burst_length = 262144;
  uint32_t max_outstanding_r2t = 16;
};

// Standard reply values (§6.2).
inline constexpr std::string_view kNotUnderstood = "NotUnderstood";
inline constexpr std::string_view kIrrelevant = "Irrelevant";
inline constexpr std::string_view kReject = "Reject";

// Keys the login state machine handles itself (names, session type, security); the negotiator
// leaves them alone.
bool is_login_key(std::string_view key);

class Negotiator {
 public:
  enum class Stage { login, full_feature };

  explicit Negotiator(TargetLimits limits);

  // Discovery sessions answer "Irrelevant" to the data-transfer keys (§13.13 ff.).
  void set_discovery(bool discovery) { discovery_ = discovery; }

  // Answers every operational key of one request, appending the replies. Login keys
  // (is_login_key) are skipped. Fails if a key is negotiated a second time (§6.2: the target
  // must end the login with an initiator error).
  Status negotiate(const std::vector<TextKey>& keys, Stage stage, std::vector<TextKey>& replies);

  // Our own declarations that must be sent before the operational stage ends
  // (MaxRecvDataSegmentLength, §13.12), once. Also settles dependent values
  // (FirstBurstLength <= MaxBurstLength).
  void finish(std::vector<TextKey>& replies);

  [[nodiscard]] const SessionParams& params() const { return params_; }

 private:
  std::string negotiate_one(const TextKey& k, Stage stage);

  TargetLimits limits_;
  SessionParams params_;
  bool discovery_ = false;
  bool declared_ = false;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace portico::iscsi
