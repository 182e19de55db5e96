// Identifiers in the form of an RFC 9562 UUID built from 128 bits the project derives itself:
// the bits in order (most significant byte first), with the version (8, vendor specific) and
// variant (10b) fields set, so that a host reading them as a UUID sees a well-formed one.
#pragma once

#include <array>
#include <cstdint>

#include "core/common/big_endian.h"

namespace portico {

inline std::array<uint8_t, 16> uuid_v8(uint64_t high, uint64_t low) {
  std::array<uint8_t, 16> out{};
  store_be64(out.data(), high);
  store_be64(out.data() + 8, low);
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x80);  // version 8
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);  // variant 10b
  return out;
}

}  // namespace portico
