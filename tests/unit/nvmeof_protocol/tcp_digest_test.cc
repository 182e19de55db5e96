#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string_view>
#include <vector>

#include "frontends/common/crc32c.h"
#include "core/common/little_endian.h"

namespace portico::wire {
namespace {

// Bit-at-a-time CRC32C (reflected polynomial 0x82F63B78), independent of ISA-L.
uint32_t reference_crc32c(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) != 0 ? 0x82f63b78u : 0u);
  }
  return ~crc;
}

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};  // NOLINT: text as bytes
}

TEST(NvmeTcpDigest, Crc32cCheckValueTravelsLeastSignificantByteFirst) {
  // The CRC-32C check value of "123456789"; NVMe/TCP puts a digest on the wire as __le32.
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xe3069283u);
  std::array<uint8_t, 4> wire{};
  store_le32(wire.data(), crc32c(bytes_of("123456789")));
  EXPECT_EQ(wire, (std::array<uint8_t, 4>{0x83, 0x92, 0x06, 0xe3}));
  EXPECT_EQ(load_le32(wire.data()), 0xe3069283u);
  // RFC 3720 B.4: 32 zero bytes. The same CRC32C serves iSCSI.
  std::array<uint8_t, 32> zeros{};
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);
}

TEST(NvmeTcpDigest, IsaLMatchesABitwiseReferenceAtEveryLength) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(600);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n <= data.size(); n += 1 + n / 16) {
    const auto piece = std::span<const uint8_t>(data).first(n);
    EXPECT_EQ(crc32c(piece), reference_crc32c(piece)) << n;
  }
}

TEST(NvmeTcpDigest, IncrementalDigestOverPiecesEqualsOneShot) {
  std::vector<uint8_t> data(300, 0x5a);
  Crc32c crc;
  crc.update(std::span<const uint8_t>(data).first(7));
  crc.update(std::span<const uint8_t>(data).subspan(7));
  EXPECT_EQ(crc.value(), crc32c(data));
}

TEST(NvmeTcpDigest, LittleEndianFields) {
  std::array<uint8_t, 2> two{};
  store_le16(two.data(), 0xabcd);
  EXPECT_EQ(two, (std::array<uint8_t, 2>{0xcd, 0xab}));
  EXPECT_EQ(load_le16(two.data()), 0xabcd);
}

}  // namespace
}  // namespace portico::wire
