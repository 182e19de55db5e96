#include "frontends/iscsi/protocol/text_keys.h"

#include <algorithm>

namespace portico::iscsi {
namespace {

// RFC 7143 §6.1 key-name characters: letters, digits, '.', '-', '+', '@', '_'.
bool valid_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '+' || c == '@' || c == '_';
}

}  // namespace

bool is_long_value_key(std::string_view key) {
  return key.starts_with("CHAP_") || key == "SendTargets" || key == "TargetAddress" || key == "TargetName" ||
         key == "InitiatorName";
}

Result<std::vector<TextKey>> parse_text_keys(std::span<const uint8_t> data, const TextKeyLimits& limits) {
  std::vector<TextKey> keys;
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());  // NOLINT: byte view
  while (!text.empty()) {
    const size_t end = std::min(text.find('\0'), text.size());
    const std::string_view pair = text.substr(0, end);
    text.remove_prefix(end == text.size() ? end : end + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return error(ErrorCode::invalid_argument, "iscsi: text pair without '='");
    }
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = pair.substr(eq + 1);
    if (key.empty() || key.size() > limits.max_key_length || !std::all_of(key.begin(), key.end(), valid_key_char)) {
      return error(ErrorCode::invalid_argument, "iscsi: malformed text key");
    }
    const size_t max_value = is_long_value_key(key) ? limits.max_long_value_length : limits.max_value_length;
    if (value.size() > max_value) {
      return error(ErrorCode::out_of_range, "iscsi: value of " + std::string(key) + " is too long");
    }
    if (keys.size() >= limits.max_pairs) {
      return error(ErrorCode::out_of_range, "iscsi: too many text keys");
    }
    keys.push_back({std::string(key), std::string(value)});
  }
  return keys;
}

std::optional<std::string_view> find_key(const std::vector<TextKey>& keys, std::string_view key) {
  for (const auto& k : keys) {
    if (k.key == key) return std::string_view(k.value);
  }
  return std::nullopt;
}

void append_text_key(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back('=');
  out.append(value);
  out.push_back('\0');
}

std::string encode_text_keys(const std::vector<TextKey>& keys) {
  std::string out;
  for (const auto& k : keys) append_text_key(out, k.key, k.value);
  return out;
}

}  // namespace portico::iscsi
