#include "core/scsi/sense.h"

#include <gtest/gtest.h>

namespace portico::scsi {
namespace {

TEST(Sense, FixedFormatCarriesKeyAscAndFieldPointer) {
  const auto bytes = encode_sense(invalid_field_in_cdb(7, 3), false);
  ASSERT_EQ(bytes.size(), 18u);
  EXPECT_EQ(bytes[0], 0x70);
  EXPECT_EQ(bytes[2], 0x05);
  EXPECT_EQ(bytes[7], 10);
  EXPECT_EQ(bytes[12], 0x24);
  EXPECT_EQ(bytes[13], 0x00);
  EXPECT_EQ(bytes[15], 0x80 | 0x40 | 0x08 | 3);  // SKSV, C/D, BPV, bit 3
  EXPECT_EQ(bytes[16], 0);
  EXPECT_EQ(bytes[17], 7);
}

TEST(Sense, FixedFormatInformationSetsValid) {
  SenseData sense{SenseKey::miscompare, asc::kMiscompareDuringVerify, std::nullopt, 0x1234};
  const auto bytes = encode_sense(sense, false);
  EXPECT_EQ(bytes[0], 0xf0);
  EXPECT_EQ(bytes[2], 0x0e);
  EXPECT_EQ(bytes[5], 0x12);
  EXPECT_EQ(bytes[6], 0x34);
}

TEST(Sense, DescriptorFormatHasInformationAndSenseKeySpecificDescriptors) {
  SenseData sense{SenseKey::illegal_request, asc::kInvalidFieldInParameterList, FieldPointer{false, 300, std::nullopt},
                  42};
  const auto bytes = encode_sense(sense, true);
  ASSERT_EQ(bytes.size(), 8u + 12u + 8u);
  EXPECT_EQ(bytes[0], 0x72);
  EXPECT_EQ(bytes[1], 0x05);
  EXPECT_EQ(bytes[2], 0x26);
  EXPECT_EQ(bytes[7], 20);
  EXPECT_EQ(bytes[8], 0x00);   // information descriptor
  EXPECT_EQ(bytes[19], 42);
  EXPECT_EQ(bytes[20], 0x02);  // sense key specific descriptor
  EXPECT_EQ(bytes[24], 0x80);  // SKSV, C/D = 0 (parameter list)
  EXPECT_EQ(bytes[25], 0x01);
  EXPECT_EQ(bytes[26], 0x2c);
}

TEST(Sense, DescriptorFormatWithoutExtrasIsEightBytes) {
  const auto bytes = encode_sense(SenseData{SenseKey::unit_attention, asc::kPowerOnResetOccurred, std::nullopt, std::nullopt}, true);
  ASSERT_EQ(bytes.size(), 8u);
  EXPECT_EQ(bytes[1], 0x06);
  EXPECT_EQ(bytes[2], 0x29);
  EXPECT_EQ(bytes[7], 0);
}

}  // namespace
}  // namespace portico::scsi
