#include "core/scsi/cdb.h"

#include <gtest/gtest.h>

#include <vector>

namespace portico::scsi {
namespace {

BlockRange decode_ok(std::vector<uint8_t> cdb) {
  cdb.resize(16, 0);
  auto result = decode_read_write(cdb);
  EXPECT_TRUE(std::holds_alternative<BlockRange>(result));
  return std::holds_alternative<BlockRange>(result) ? std::get<BlockRange>(result) : BlockRange{};
}

TEST(Cdb, LengthFollowsGroupCode) {
  EXPECT_EQ(cdb_length_for_opcode(0x08), 6u);
  EXPECT_EQ(cdb_length_for_opcode(0x28), 10u);
  EXPECT_EQ(cdb_length_for_opcode(0x5a), 10u);
  EXPECT_EQ(cdb_length_for_opcode(0x88), 16u);
  EXPECT_EQ(cdb_length_for_opcode(0xa8), 12u);
  EXPECT_EQ(cdb_length_for_opcode(0x7f), 0u);
  EXPECT_EQ(cdb_length_for_opcode(0xc0), 0u);
}

TEST(Cdb, Read6ZeroLengthMeans256Blocks) {
  const auto r = decode_ok({0x08, 0x1f, 0xff, 0xff, 0x00, 0x00});
  EXPECT_EQ(r.lba, 0x1fffffu);
  EXPECT_EQ(r.blocks, 256u);
}

TEST(Cdb, Read10Write12Read16Fields) {
  auto r = decode_ok({0x28, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00});
  EXPECT_EQ(r.lba, 0x1000u);
  EXPECT_EQ(r.blocks, 8u);
  EXPECT_TRUE(r.fua);
  r = decode_ok({0xaa, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});
  EXPECT_EQ(r.lba, 1u);
  EXPECT_EQ(r.blocks, 0x10000u);
  EXPECT_FALSE(r.fua);
  r = decode_ok({0x88, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x20, 0, 0});
  EXPECT_EQ(r.lba, 0x0100000000000002ull);
  EXPECT_EQ(r.blocks, 0x20u);
}

TEST(Cdb, ProtectionFieldIsRefusedWithItsFieldPointer) {
  std::vector<uint8_t> cdb{0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0};
  cdb.resize(16, 0);
  auto result = decode_read_write(cdb);
  ASSERT_TRUE(std::holds_alternative<SenseData>(result));
  const auto& sense = std::get<SenseData>(result);
  EXPECT_EQ(sense.asc, asc::kInvalidFieldInCdb);
  ASSERT_TRUE(sense.field.has_value());
  EXPECT_EQ(sense.field->byte, 1);
}

TEST(Cdb, NacaInControlByteIsRefused) {
  std::vector<uint8_t> cdb{0x00, 0, 0, 0, 0, 0x04};
  cdb.resize(16, 0);
  auto bad = check_control_byte(cdb);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->field->byte, 5);
  cdb[5] = 0;
  EXPECT_FALSE(check_control_byte(cdb).has_value());
}

}  // namespace
}  // namespace portico::scsi
