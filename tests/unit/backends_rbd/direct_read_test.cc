// The pure parts of the RBD backend's direct reads: cutting a read at object boundaries and
// naming the objects (the reads themselves run against the micro cluster, tests/ceph).
#include "backends/rbd/rbd_direct_read.h"

#include <gtest/gtest.h>

namespace portico::backends::rbd_direct {
namespace {

constexpr uint64_t kObject = 4ull << 20;

TEST(DirectReadExtents, ARangeInsideOneObjectIsOneExtent) {
  EXPECT_EQ(object_extents(4096, 8192, kObject), (std::vector<ObjectExtent>{{0, 4096, 0, 8192}}));
  EXPECT_EQ(object_extents(kObject * 3, kObject, kObject), (std::vector<ObjectExtent>{{3, 0, 0, kObject}}));
}

TEST(DirectReadExtents, ARangeIsCutAtEveryObjectBoundaryInOrder) {
  EXPECT_EQ(object_extents(kObject - 512, 1024, kObject),
            (std::vector<ObjectExtent>{{0, kObject - 512, 0, 512}, {1, 0, 512, 512}}));
  // 1 KiB before object 1, all of objects 1 and 2, 2 KiB of object 3.
  EXPECT_EQ(object_extents(2 * kObject - 1024, 2 * kObject + 3072, kObject),
            (std::vector<ObjectExtent>{{1, kObject - 1024, 0, 1024},
                                       {2, 0, 1024, kObject},
                                       {3, 0, 1024 + kObject, kObject},
                                       {4, 0, 1024 + 2 * kObject, 2048}}));
}

TEST(DirectReadExtents, AnEmptyRangeHasNoExtents) { EXPECT_TRUE(object_extents(12345, 0, kObject).empty()); }

TEST(DirectReadObjectName, IsThePrefixAndSixteenHexDigits) {
  const ObjectLayout layout{"rbd_data.10a2b3c4d5e6", kObject};
  EXPECT_EQ(object_name(layout, 0), "rbd_data.10a2b3c4d5e6.0000000000000000");
  EXPECT_EQ(object_name(layout, 0x1f), "rbd_data.10a2b3c4d5e6.000000000000001f");
  EXPECT_EQ(object_name(layout, 0xfedcba9876543210ull), "rbd_data.10a2b3c4d5e6.fedcba9876543210");
}

}  // namespace
}  // namespace portico::backends::rbd_direct
