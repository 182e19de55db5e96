// One identity per unit for both command sets: the SCSI NAA designator and serial that hosts
// already remember must not change, and the NVMe identifiers derive from the same key.
#include <gtest/gtest.h>

#include "cluster/local/lun_identity.h"

namespace portico {
namespace {

constexpr const char* kKey = "iqn.2026-11.io.portico:quickstart/0";

TEST(LunIdentity, ScsiDesignatorsStayWhatHostsRemember) {
  auto identity = cluster::derive_lun_identity(kKey);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->naa, 0x3c1543245209646eull);
  EXPECT_EQ(identity->serial, "0a8c01908dd83c99");
}

TEST(LunIdentity, NvmeIdentifiersComeFromTheSameIdentity) {
  auto identity = *cluster::derive_lun_identity(kKey);
  const std::array<uint8_t, 8> eui{0x3c, 0x15, 0x43, 0x24, 0x52, 0x09, 0x64, 0x6e};
  EXPECT_EQ(identity.eui64(), eui);
  const std::array<uint8_t, 16> nguid{0x3c, 0x15, 0x43, 0x24, 0x52, 0x09, 0x64, 0x6e,
                                      0x23, 0x2f, 0x49, 0x93, 0x55, 0x0d, 0x4b, 0x33};
  EXPECT_EQ(identity.nguid(), nguid);
  const auto uuid = identity.uuid();
  EXPECT_EQ(uuid[6] >> 4, 8) << "RFC 9562 version 8";
  EXPECT_EQ(uuid[8] >> 6, 2) << "RFC 9562 variant";
  // Everything else is the NGUID: the UUID names the same unit.
  for (size_t i = 0; i < 16; ++i) {
    if (i == 6 || i == 8) continue;
    EXPECT_EQ(uuid[i], nguid[i]) << i;
  }
}

TEST(LunIdentity, SameKeySameIdentityOtherKeyOther) {
  auto a = *cluster::derive_lun_identity(kKey);
  auto again = *cluster::derive_lun_identity(kKey);
  auto b = *cluster::derive_lun_identity("iqn.2026-11.io.portico:quickstart/1");
  EXPECT_EQ(a.nguid(), again.nguid());
  EXPECT_EQ(a.uuid(), again.uuid());
  EXPECT_NE(a.nguid(), b.nguid());
  EXPECT_NE(a.eui64(), b.eui64());
  EXPECT_FALSE(cluster::derive_lun_identity("").ok());
}

}  // namespace
}  // namespace portico
