// Text key=value data segments of Login and Text PDUs (RFC 7143 §6.1): "key=value\0key=value\0".
// Parsing is bounded (number of pairs, key and value lengths) and rejects malformed pairs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"

namespace portico::iscsi {

struct TextKey {
  std::string key;
  std::string value;

  bool operator==(const TextKey&) const = default;
};

struct TextKeyLimits {
  size_t max_pairs = 256;
  size_t max_key_length = 63;        // §6.1: key names are at most 63 bytes
  size_t max_value_length = 255;     // §6.1: text values are at most 255 bytes...
  size_t max_long_value_length = 8192;  // ...except CHAP binary values and SendTargets (§6.1, §12.1.3)
};

// True for keys whose value may be longer than 255 bytes (CHAP challenges/responses, names
// in SendTargets answers).
bool is_long_value_key(std::string_view key);

// Parses a complete data segment. Empty entries (runs of NULs, e.g. padding) are skipped; a last
// pair without its NUL is accepted (some initiators leave it off); anything else malformed —
// no '=', an empty or over-long key, a key with characters outside §6.1's set, an over-long
// value, too many pairs — is an error.
Result<std::vector<TextKey>> parse_text_keys(std::span<const uint8_t> data, const TextKeyLimits& limits = {});

// The value of the first pair named `key`, if any.
std::optional<std::string_view> find_key(const std::vector<TextKey>& keys, std::string_view key);

// Appends "key=value\0".
void append_text_key(std::string& out, std::string_view key, std::string_view value);
std::string encode_text_keys(const std::vector<TextKey>& keys);

}  // namespace portico::iscsi
