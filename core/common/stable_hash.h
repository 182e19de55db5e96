// A stable 64-bit FNV-1a hash for deriving identities from names. It must never change: it
// defines the NAA designators, serial numbers and host identifiers that hosts remember, and the
// names of the cluster's objects.
#pragma once

#include <cstdint>
#include <string_view>

namespace portico {

inline constexpr uint64_t kFnv1aOffsetBasis = 0xcbf29ce484222325ull;

inline uint64_t stable_hash64(std::string_view text, uint64_t basis = kFnv1aOffsetBasis) {
  uint64_t h = basis;
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace portico
