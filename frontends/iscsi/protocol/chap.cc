#include "frontends/iscsi/protocol/chap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <memory>
#include <optional>

namespace portico::iscsi {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Result<std::vector<uint8_t>> decode_hex(std::string_view digits) {
  if (digits.empty() || (digits.size() + 1) / 2 > kChapMaxBinaryLength) {
    return error(ErrorCode::invalid_argument, "chap: bad hex value length");
  }
  std::vector<uint8_t> out;
  out.reserve((digits.size() + 1) / 2);
  size_t i = 0;
  if (digits.size() % 2 == 1) {  // an odd count has an implied leading zero nibble
    const int d = hex_digit(digits[0]);
    if (d < 0) return error(ErrorCode::invalid_argument, "chap: bad hex digit");
    out.push_back(static_cast<uint8_t>(d));
    i = 1;
  }
  for (; i < digits.size(); i += 2) {
    const int hi = hex_digit(digits[i]);
    const int lo = hex_digit(digits[i + 1]);
    if (hi < 0 || lo < 0) return error(ErrorCode::invalid_argument, "chap: bad hex digit");
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

Result<std::vector<uint8_t>> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.empty() || text.size() * 3 / 4 > kChapMaxBinaryLength || text.size() % 4 == 1) {
    return error(ErrorCode::invalid_argument, "chap: bad base64 value length");
  }
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int d = base64_digit(c);
    if (d < 0) return error(ErrorCode::invalid_argument, "chap: bad base64 digit");
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  return out;
}

std::optional<uint8_t> parse_identifier(std::string_view v) {
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  }
  unsigned n = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || n > 255) return std::nullopt;
  return static_cast<uint8_t>(n);
}

}  // namespace

Result<std::vector<uint8_t>> decode_chap_binary(std::string_view value) {
  if (value.size() > 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) return decode_hex(value.substr(2));
  if (value.size() > 2 && value[0] == '0' && (value[1] == 'b' || value[1] == 'B')) {
    return decode_base64(value.substr(2));
  }
  return error(ErrorCode::invalid_argument, "chap: binary value needs a 0x or 0b prefix");
}

std::string encode_chap_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (const uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::array<uint8_t, 16> chap_md5_response(uint8_t identifier, std::string_view secret,
                                          std::span<const uint8_t> challenge) {
  std::array<uint8_t, 16> digest{};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned length = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), &identifier, 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), challenge.data(), challenge.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &length) != 1) {
    // MD5 unavailable (e.g. a FIPS-only provider): an all-zero answer never matches a real one
    // computed by a peer, so authentication fails rather than passes.
    digest.fill(0);
  }
  return digest;
}

Result<std::vector<TextKey>> ChapAuthenticator::start(std::string_view chap_a_list) {
  bool md5 = false;
  while (true) {
    const size_t comma = chap_a_list.find(',');
    if (chap_a_list.substr(0, comma) == kChapAlgorithmMd5) md5 = true;
    if (comma == std::string_view::npos) break;
    chap_a_list.remove_prefix(comma + 1);
  }
  if (!md5) return error(ErrorCode::permission_denied, "chap: the initiator does not offer MD5 (CHAP_A=5)");
  if (challenge_.empty()) {
    std::array<uint8_t, 1 + kChapChallengeLength> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      return error(ErrorCode::internal, "chap: RAND_bytes failed");
    }
    identifier_ = random[0];
    challenge_.assign(random.begin() + 1, random.end());
  }
  return std::vector<TextKey>{{"CHAP_A", std::string(kChapAlgorithmMd5)},
                              {"CHAP_I", std::to_string(identifier_)},
                              {"CHAP_C", encode_chap_hex(challenge_)}};
}

void ChapAuthenticator::set_challenge(uint8_t identifier, std::vector<uint8_t> challenge) {
  identifier_ = identifier;
  challenge_ = std::move(challenge);
}

Result<std::vector<TextKey>> ChapAuthenticator::verify(const std::vector<TextKey>& keys, const ChapSecrets& secrets) {
  if (challenge_.empty()) return error(ErrorCode::invalid_argument, "chap: response before challenge");
  const auto name = find_key(keys, "CHAP_N");
  const auto response = find_key(keys, "CHAP_R");
  if (!name || !response) return error(ErrorCode::invalid_argument, "chap: CHAP_N and CHAP_R are required");
  const auto received = decode_chap_binary(*response);
  if (!received.ok()) return received.status();
  const auto expected = chap_md5_response(identifier_, secrets.secret, challenge_);
  // Constant-time comparison: the answer must not leak how many bytes matched.
  const bool response_ok = received->size() == expected.size() &&
                           CRYPTO_memcmp(received->data(), expected.data(), expected.size()) == 0;
  if (*name != secrets.username || !response_ok || secrets.secret.empty()) {
    return error(ErrorCode::permission_denied, "chap: authentication of initiator '" + std::string(*name) + "' failed");
  }

  std::vector<TextKey> replies;
  const auto mutual_id = find_key(keys, "CHAP_I");
  const auto mutual_challenge = find_key(keys, "CHAP_C");
  if (!mutual_id && !mutual_challenge) return replies;
  if (!mutual_id || !mutual_challenge) return error(ErrorCode::invalid_argument, "chap: CHAP_I without CHAP_C");
  if (secrets.mutual_username.empty() || secrets.mutual_secret.empty()) {
    return error(ErrorCode::permission_denied, "chap: mutual CHAP requested but not configured");
  }
  // §12.1.3: the same secret must not serve both directions.
  if (secrets.mutual_secret == secrets.secret) {
    return error(ErrorCode::permission_denied, "chap: mutual secret equals the initiator secret");
  }
  const auto id = parse_identifier(*mutual_id);
  const auto challenge = decode_chap_binary(*mutual_challenge);
  if (!id || !challenge.ok() || challenge->empty()) return error(ErrorCode::invalid_argument, "chap: bad CHAP_I/CHAP_C");
  // §12.1.3: a challenge equal to ours is a reflection attack; refuse to answer it.
  if (*challenge == challenge_) {
    return error(ErrorCode::permission_denied, "chap: initiator reflected our challenge");
  }
  const auto answer = chap_md5_response(*id, secrets.mutual_secret, *challenge);
  replies.push_back({"CHAP_N", secrets.mutual_username});
  replies.push_back({"CHAP_R", encode_chap_hex(answer)});
  return replies;
}

}  // namespace portico::iscsi
