#include "frontends/iscsi/protocol/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace portico::iscsi {
namespace {

// RFC 3720 B.4 test vectors.
TEST(Crc32c, Rfc3720ZerosOnesAndIncrementing) {
  std::array<uint8_t, 32> buf{};
  EXPECT_EQ(crc32c(buf), 0x8a9136aau);
  buf.fill(0xff);
  EXPECT_EQ(crc32c(buf), 0x62a8ab43u);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(buf), 0x46dd794eu);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(crc32c(buf), 0x113fdb5cu);
}

TEST(Crc32c, Rfc3720ReadCommandPduTravelsAsBytes563a96d9) {
  std::array<uint8_t, 48> pdu{};
  pdu[0] = 0x01;
  pdu[1] = 0xc0;
  pdu[16] = 0x14;
  pdu[22] = 0x04;
  pdu[27] = 0x14;
  pdu[31] = 0x18;
  pdu[32] = 0x28;
  pdu[40] = 0x02;
  std::array<uint8_t, 4> wire{};
  store_le32(wire.data(), crc32c(pdu));
  EXPECT_EQ(wire, (std::array<uint8_t, 4>{0x56, 0x3a, 0x96, 0xd9}));
  EXPECT_EQ(load_le32(wire.data()), crc32c(pdu));
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  Crc32c crc;
  crc.update(std::span<const uint8_t>(data).first(1));
  crc.update(std::span<const uint8_t>(data).subspan(1, 500));
  crc.update(std::span<const uint8_t>(data).subspan(501));
  EXPECT_EQ(crc.value(), crc32c(data));
  EXPECT_EQ(Crc32c().value(), crc32c({}));
}

}  // namespace
}  // namespace portico::iscsi
