// Drives a LoginState with fuzzed login requests. Input: one policy byte (bit 0 target CHAP,
// bit 1 discovery CHAP, bit 2 ACL denies, bit 3 TSIH sessions exist), then records of
// [flags: T C CSG NSG as in the BHS][VersionMin][TSIH low byte][text length][text].
// A login must never complete past required authentication or a denying ACL.
#include <cstddef>
#include <cstdint>
#include <span>

#include "frontends/iscsi/protocol/login_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::iscsi;
  if (size < 1) return 0;
  const uint8_t policy_bits = data[0];
  const ChapSecrets secrets{"alice", "alice-secret-12", "target", "target-secret-12"};
  LoginPolicy policy;
  policy.find_target = [&](std::string_view name, std::string_view) -> std::optional<LoginTargetInfo> {
    if (name != "iqn.t") return std::nullopt;
    LoginTargetInfo info;
    info.initiator_allowed = (policy_bits & 4) == 0;
    if ((policy_bits & 1) != 0) info.chap = secrets;
    return info;
  };
  if ((policy_bits & 2) != 0) policy.discovery_chap = secrets;
  policy.session_exists = [&](uint16_t) { return (policy_bits & 8) != 0; };
  LoginState login(std::move(policy), 1);
  size_t pos = 1;
  while (size - pos >= 4) {
    LoginRequestFields r;
    r.transit = (data[pos] & 0x80) != 0;
    r.cont = (data[pos] & 0x40) != 0;
    r.csg = static_cast<uint8_t>((data[pos] >> 2) & 3);
    r.nsg = static_cast<uint8_t>(data[pos] & 3);
    r.version_min = data[pos + 1];
    r.tsih = data[pos + 2];
    const size_t length = std::min<size_t>(data[pos + 3], size - pos - 4);
    const std::span<const uint8_t> text(data + pos + 4, length);
    pos += 4 + length;
    const LoginStep step = r.cont ? login.continuation(r) : login.step(r, text);
    // Random bytes cannot answer a fresh random CHAP challenge: with CHAP required, a completed
    // login means authentication was bypassed. Likewise a completed login past a denying ACL.
    if (step.outcome == LoginOutcome::complete_normal && (policy_bits & 5) != 0) __builtin_trap();
    if (step.outcome == LoginOutcome::complete_discovery && (policy_bits & 2) != 0) __builtin_trap();
    if (step.outcome != LoginOutcome::in_progress) break;
  }
  return 0;
}
