// Explicit little-endian readers and writers, the counterpart of big_endian.h. NVMe puts every
// multi-byte field least significant byte first (SQEs, CQEs and admin data structures: NVMe Base
// 2.0 "Conventions"; NVMe/TCP PDUs likewise; Linux declares them __le16/__le32/__le64), and both
// iSCSI and NVMe/TCP send their CRC32C digests that way. Each function touches exactly the bytes
// its name says at `p`: the caller bounds them. Never cast a packed struct onto bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace portico {

template <typename T, size_t N = sizeof(T)>
inline T load_le(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < N; ++i) v = static_cast<T>(v | (static_cast<T>(p[i]) << (8 * i)));
  return v;
}

template <typename T, size_t N = sizeof(T)>
inline void store_le(uint8_t* p, T v) {
  for (size_t i = 0; i < N; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

inline uint16_t load_le16(const uint8_t* p) { return load_le<uint16_t>(p); }
inline uint32_t load_le24(const uint8_t* p) { return load_le<uint32_t, 3>(p); }
inline uint32_t load_le32(const uint8_t* p) { return load_le<uint32_t>(p); }
inline uint64_t load_le64(const uint8_t* p) { return load_le<uint64_t>(p); }

inline void store_le16(uint8_t* p, uint16_t v) { store_le(p, v); }
inline void store_le32(uint8_t* p, uint32_t v) { store_le(p, v); }
inline void store_le64(uint8_t* p, uint64_t v) { store_le(p, v); }

}  // namespace portico
