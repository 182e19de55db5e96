#include "frontends/fc_tcmu/ring/cdb_length.h"

#include <gtest/gtest.h>

namespace portico::tcmu {
namespace {

TEST(CdbLength, FollowsTheKernelsGroupTable) {
  EXPECT_EQ(fixed_cdb_length(0x00), 6u);   // TEST UNIT READY
  EXPECT_EQ(fixed_cdb_length(0x12), 6u);   // INQUIRY
  EXPECT_EQ(fixed_cdb_length(0x28), 10u);  // READ(10)
  EXPECT_EQ(fixed_cdb_length(0x5e), 10u);  // PERSISTENT RESERVE IN
  EXPECT_EQ(fixed_cdb_length(0x60), 12u);  // group 3: the kernel says 12
  EXPECT_EQ(fixed_cdb_length(0x88), 16u);  // READ(16)
  EXPECT_EQ(fixed_cdb_length(0xa0), 12u);  // REPORT LUNS
  EXPECT_EQ(fixed_cdb_length(0xc0), 10u);  // vendor specific
  EXPECT_EQ(fixed_cdb_length(0xff), 10u);
}

TEST(CdbLength, VariableLengthComesFromByteSeven) {
  EXPECT_EQ(fixed_cdb_length(kVariableLengthCdb), 0u);
  EXPECT_EQ(variable_cdb_length(0x18), 32u);  // READ(32)
  EXPECT_EQ(variable_cdb_length(0xff), 263u);
}

}  // namespace
}  // namespace portico::tcmu
