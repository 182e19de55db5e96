// Little-endian byte access for the tests, written out independently of core/common/little_endian.h so
// that a builder and its test do not share a mistake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace portico::nvme::test {

inline uint64_t get_le(const std::vector<uint8_t>& b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | b.at(at + i);
  return v;
}
inline uint16_t get16(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(get_le(b, at, 2)); }
inline uint32_t get32(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint32_t>(get_le(b, at, 4)); }
inline uint64_t get64(const std::vector<uint8_t>& b, size_t at) { return get_le(b, at, 8); }

inline void put_le(std::vector<uint8_t>& b, size_t at, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b.at(at + i) = static_cast<uint8_t>(v >> (8 * i));
}

// The text in a fixed field up to its first NUL.
inline std::string cstring_at(const std::vector<uint8_t>& b, size_t at, size_t size) {
  std::string s;
  for (size_t i = 0; i < size && b.at(at + i) != 0; ++i) s.push_back(static_cast<char>(b.at(at + i)));
  return s;
}
inline std::string text_at(const std::vector<uint8_t>& b, size_t at, size_t size) {
  return std::string(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + size));
}

inline bool all_zero(const std::vector<uint8_t>& b, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (b.at(i) != 0) return false;
  }
  return true;
}

// A 64-byte SQE being written by a test.
struct SqeBytes {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(64, 0);
  SqeBytes& u8(size_t at, uint8_t v) { bytes.at(at) = v; return *this; }
  SqeBytes& u16(size_t at, uint16_t v) { put_le(bytes, at, v, 2); return *this; }
  SqeBytes& u32(size_t at, uint32_t v) { put_le(bytes, at, v, 4); return *this; }
  SqeBytes& u64(size_t at, uint64_t v) { put_le(bytes, at, v, 8); return *this; }
};

}  // namespace portico::nvme::test
