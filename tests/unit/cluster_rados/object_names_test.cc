#include <gtest/gtest.h>

#include "cluster/rados/object_names.h"

namespace portico::cluster::rados {
namespace {

TEST(LunObjectName, PlainKeysAreKept) {
  EXPECT_EQ(lun_object_name("iqn.2026-11.io.portico:quickstart_0"), "portico.lun.iqn.2026-11.io.portico:quickstart_0");
}

TEST(LunObjectName, OtherBytesArePercentEscapedOneToOne) {
  EXPECT_EQ(lun_object_name("a b/c%"), "portico.lun.a%20b%2Fc%25");
  EXPECT_NE(lun_object_name("a%20b"), lun_object_name("a b"));
}

TEST(LunObjectName, LongKeysAreCutAndHashed) {
  const std::string a(300, 'a');
  const std::string b = std::string(299, 'a') + "b";
  EXPECT_LE(lun_object_name(a).size(), 12 + kMaxEscapedKey + 17);
  EXPECT_NE(lun_object_name(a), lun_object_name(b));
}

}  // namespace
}  // namespace portico::cluster::rados
