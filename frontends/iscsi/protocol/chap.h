// CHAP for iSCSI login (RFC 1994, RFC 7143 §12.1.3): the target's side, MD5 (algorithm 5) only.
// The target challenges the initiator; an initiator may also challenge the target (mutual CHAP).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "frontends/iscsi/protocol/text_keys.h"

namespace portico::iscsi {

inline constexpr std::string_view kChapAlgorithmMd5 = "5";  // RFC 7143 §12.1.3, IANA PPP CHAP
inline constexpr size_t kChapChallengeLength = 16;
inline constexpr size_t kChapMaxBinaryLength = 1024;  // bound on decoded CHAP_C / CHAP_R

// Credentials of one side of a CHAP exchange.
struct ChapSecrets {
  std::string username;         // what the initiator must send as CHAP_N
  std::string secret;           // the initiator's secret
  std::string mutual_username;  // what we send as CHAP_N when challenged; empty: no mutual CHAP
  std::string mutual_secret;
};

// §6.1 binary values: "0x" hexadecimal or "0b" base64. Decoded length is bounded.
Result<std::vector<uint8_t>> decode_chap_binary(std::string_view value);
std::string encode_chap_hex(std::span<const uint8_t> bytes);

// RFC 1994 §4.1: MD5(identifier || secret || challenge).
std::array<uint8_t, 16> chap_md5_response(uint8_t identifier, std::string_view secret,
                                          std::span<const uint8_t> challenge);

// Target side of one CHAP exchange.
class ChapAuthenticator {
 public:
  // Answers the initiator's CHAP_A list: picks MD5 and issues a fresh random challenge
  // (CHAP_A, CHAP_I, CHAP_C). Fails if MD5 is not offered or no randomness is available.
  Result<std::vector<TextKey>> start(std::string_view chap_a_list);

  // Checks CHAP_N/CHAP_R against `secrets`. If the initiator also sent CHAP_I/CHAP_C, answers
  // with CHAP_N/CHAP_R (mutual CHAP). Errors: permission_denied (authentication failure),
  // invalid_argument (missing or malformed keys).
  Result<std::vector<TextKey>> verify(const std::vector<TextKey>& keys, const ChapSecrets& secrets);

  // Fixes the challenge instead of drawing it at random (tests).
  void set_challenge(uint8_t identifier, std::vector<uint8_t> challenge);
  [[nodiscard]] bool started() const { return !challenge_.empty(); }

 private:
  uint8_t identifier_ = 0;
  std::vector<uint8_t> challenge_;
};

}  // namespace portico::iscsi
