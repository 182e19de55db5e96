#include "frontends/iscsi/protocol/negotiation.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace portico::iscsi {
namespace {

// §6.1 numerical values: decimal or "0x" hexadecimal.
std::optional<uint64_t> parse_number(std::string_view v) {
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  }
  if (v.empty() || v.size() > 16) return std::nullopt;
  uint64_t out = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
  if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return out;
}

std::optional<uint32_t> parse_in_range(std::string_view v, uint32_t lo, uint32_t hi) {
  const auto n = parse_number(v);
  if (!n || *n < lo || *n > hi) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "Yes") return true;
  if (v == "No") return false;
  return std::nullopt;
}

std::string yes_no(bool b) { return b ? "Yes" : "No"; }

// Splits a §6.1 list-of-values ("CRC32C,None").
std::vector<std::string_view> split_list(std::string_view v) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t comma = v.find(',');
    out.push_back(v.substr(0, comma));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

constexpr uint32_t kMinSegment = 512;        // §13.12 ff.: 512 to 2^24-1
constexpr uint32_t kMaxSegment = 16777215;

// Keys whose values only a target sends (§13.9, §13.10, §13.11 TargetAlias/Address/TPGT).
bool is_target_only_key(std::string_view key) {
  return key == "TargetAlias" || key == "TargetAddress" || key == "TargetPortalGroupTag";
}

// §13.13-§13.19: meaningless in a discovery session.
bool irrelevant_for_discovery(std::string_view key) {
  return key == "MaxBurstLength" || key == "FirstBurstLength" || key == "InitialR2T" || key == "ImmediateData" ||
         key == "MaxOutstandingR2T" || key == "DataPDUInOrder" || key == "DataSequenceInOrder";
}

}  // namespace

bool is_login_key(std::string_view key) {
  return key == "InitiatorName" || key == "TargetName" || key == "SessionType" || key == "InitiatorAlias" ||
         key == "AuthMethod" || key.starts_with("CHAP_");
}

Negotiator::Negotiator(TargetLimits limits) : limits_(limits) {
  params_.max_recv_data_segment_length_target = limits_.max_recv_data_segment_length;
  // Defaults until the initiator says otherwise (§13.12 ff.): never above what we offer.
  params_.max_burst_length = std::min(params_.max_burst_length, limits_.max_burst_length);
  params_.first_burst_length = std::min(params_.first_burst_length, limits_.first_burst_length);
}

Status Negotiator::negotiate(const std::vector<TextKey>& keys, Stage stage, std::vector<TextKey>& replies) {
  for (const auto& k : keys) {
    if (stage == Stage::login) {
      if (is_login_key(k.key)) continue;
      // §6.2: a key may be negotiated once per login; a second offer is an initiator error.
      if (!seen_.insert(k.key).second) {
        return error(ErrorCode::invalid_argument, "iscsi: key " + k.key + " negotiated twice");
      }
    } else if (k.key == "SendTargets") {
      continue;  // answered by the text request handler
    }
    // Replies to an offer of ours ("NotUnderstood" etc.) need no answer.
    if (k.value == kNotUnderstood || k.value == kIrrelevant || k.value == kReject) continue;
    std::string value = negotiate_one(k, stage);
    if (!value.empty()) replies.push_back({k.key, std::move(value)});
  }
  return {};
}

std::string Negotiator::negotiate_one(const TextKey& k, Stage stage) {
  const std::string_view key = k.key;
  const std::string_view v = k.value;
  if (key.starts_with("X-") || key.starts_with("X#")) return std::string(kNotUnderstood);  // §13.27, §6.2.1

  if (key == "MaxRecvDataSegmentLength") {
    // §13.12: declarative, allowed in full feature phase too. The initiator's value limits what
    // we send; we answer with our own declaration.
    const auto n = parse_in_range(v, kMinSegment, kMaxSegment);
    if (!n) return std::string(kReject);
    params_.max_recv_data_segment_length_initiator = *n;
    declared_ = true;
    return std::to_string(params_.max_recv_data_segment_length_target);
  }
  if (stage == Stage::full_feature) {
    // Every other operational key is Leading-Only or Initialize-Only (§13): not renegotiable.
    return is_login_key(key) || is_target_only_key(key) || key == "HeaderDigest" || key == "DataDigest" ||
                   key == "MaxBurstLength" || key == "FirstBurstLength" || key == "InitialR2T" ||
                   key == "ImmediateData" || key == "MaxOutstandingR2T" || key == "DataPDUInOrder" ||
                   key == "DataSequenceInOrder" || key == "DefaultTime2Wait" || key == "DefaultTime2Retain" ||
                   key == "ErrorRecoveryLevel" || key == "MaxConnections"
               ? std::string(kReject)
               : std::string(kNotUnderstood);
  }
  if (is_target_only_key(key)) return std::string(kReject);
  if (discovery_ && irrelevant_for_discovery(key)) return std::string(kIrrelevant);

  if (key == "HeaderDigest" || key == "DataDigest") {
    // §13.1: the first value of the initiator's list that we support.
    for (const auto item : split_list(v)) {
      if (item == "CRC32C" || item == "None") {
        (key == "HeaderDigest" ? params_.header_digest : params_.data_digest) = item == "CRC32C";
        return std::string(item);
      }
    }
    return std::string(kReject);
  }
  if (key == "MaxBurstLength" || key == "FirstBurstLength") {
    // §13.13, §13.14: minimum of both offers.
    const auto n = parse_in_range(v, kMinSegment, kMaxSegment);
    if (!n) return std::string(kReject);
    if (key == "MaxBurstLength") {
      params_.max_burst_length = std::min(*n, limits_.max_burst_length);
      return std::to_string(params_.max_burst_length);
    }
    params_.first_burst_length = std::min(*n, limits_.first_burst_length);
    return std::to_string(params_.first_burst_length);
  }
  if (key == "InitialR2T") {
    // §13.10: OR; we are happy without (No), so the initiator's choice stands.
    const auto b = parse_bool(v);
    if (!b) return std::string(kReject);
    params_.initial_r2t = *b;
    return yes_no(*b);
  }
  if (key == "ImmediateData") {
    // §13.11: AND; we accept immediate data (Yes).
    const auto b = parse_bool(v);
    if (!b) return std::string(kReject);
    params_.immediate_data = *b;
    return yes_no(*b);
  }
  if (key == "DataPDUInOrder" || key == "DataSequenceInOrder") {
    // §13.19, §13.20: OR; we only handle in-order data (Yes), which makes the result Yes.
    if (!parse_bool(v)) return std::string(kReject);
    return "Yes";
  }
  if (key == "MaxOutstandingR2T") {
    const auto n = parse_in_range(v, 1, 65535);  // §13.17: minimum
    if (!n) return std::string(kReject);
    params_.max_outstanding_r2t = std::min(*n, limits_.max_outstanding_r2t);
    return std::to_string(params_.max_outstanding_r2t);
  }
  if (key == "DefaultTime2Wait") {
    const auto n = parse_in_range(v, 0, 3600);  // §13.15: maximum
    if (!n) return std::string(kReject);
    params_.default_time2wait = std::max(*n, params_.default_time2wait);
    return std::to_string(params_.default_time2wait);
  }
  if (key == "DefaultTime2Retain") {
    const auto n = parse_in_range(v, 0, 3600);  // §13.16: minimum
    if (!n) return std::string(kReject);
    params_.default_time2retain = std::min(*n, params_.default_time2retain);
    return std::to_string(params_.default_time2retain);
  }
  if (key == "ErrorRecoveryLevel") {
    const auto n = parse_in_range(v, 0, 2);  // §13.20: minimum; we implement level 0
    if (!n) return std::string(kReject);
    params_.error_recovery_level = 0;
    return "0";
  }
  if (key == "MaxConnections") {
    const auto n = parse_in_range(v, 1, 65535);  // §13.2: minimum; one connection per session
    if (!n) return std::string(kReject);
    params_.max_connections = 1;
    return "1";
  }
  if (key == "IFMarker" || key == "OFMarker") {
    // §13.25: obsolete; "No" is allowed and what initiators expect (never NotUnderstood).
    return "No";
  }
  if (key == "IFMarkInt" || key == "OFMarkInt") return std::string(kReject);  // §13.25
  if (key == "TaskReporting") {
    // §13.23: we implement the RFC 3720 semantics only.
    for (const auto item : split_list(v)) {
      if (item == "RFC3720") return "RFC3720";
    }
    return std::string(kReject);
  }
  if (key == "iSCSIProtocolLevel") {
    const auto n = parse_in_range(v, 0, 31);  // RFC 7144 §2.1: we implement level 1 (RFC 7143)
    if (!n) return std::string(kReject);
    return std::to_string(std::min<uint32_t>(*n, 1));
  }
  return std::string(kNotUnderstood);
}

void Negotiator::finish(std::vector<TextKey>& replies) {
  if (!declared_) {
    replies.push_back({"MaxRecvDataSegmentLength", std::to_string(params_.max_recv_data_segment_length_target)});
    declared_ = true;
  }
  // §13.14: FirstBurstLength must not exceed MaxBurstLength.
  params_.first_burst_length = std::min(params_.first_burst_length, params_.max_burst_length);
}

}  // namespace portico::iscsi
