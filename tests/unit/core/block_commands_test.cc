// UNMAP, WRITE SAME and VERIFY through the core.
#include <gtest/gtest.h>

#include <set>

#include "core/common/big_endian.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

TEST(BlockCommands, WriteSameReplicatesTheBlockOverTheRange) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  std::vector<uint8_t> block(512, 0x6b);
  auto task = f.run(*a, {0x41, 0, 0, 0, 0, 4, 0, 0, 3, 0}, block);  // LBA 4, 3 blocks
  ASSERT_EQ(task.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[4 * 512 - 1], 0);
  EXPECT_EQ(f.device->bytes()[4 * 512], 0x6b);
  EXPECT_EQ(f.device->bytes()[7 * 512 - 1], 0x6b);
  EXPECT_EQ(f.device->bytes()[7 * 512], 0);
}

TEST(BlockCommands, WriteSameWithZeroBlocksWritesToTheLastBlock) {
  TargetFixture f(64);
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto task = f.run(*a, {0x41, 0, 0, 0, 0, 60, 0, 0, 0, 0}, std::vector<uint8_t>(512, 1));  // LBA 60, "to the end"
  ASSERT_EQ(task.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[60 * 512 - 1], 0);
  EXPECT_EQ(f.device->bytes()[60 * 512], 1);
  EXPECT_EQ(f.device->bytes()[64 * 512 - 1], 1);
}

TEST(BlockCommands, WriteSameBeyondTheMaximumLengthOrWithTheWrongDataOutIsRefused) {
  TargetFixture f(64);
  f.device->mutable_info().max_transfer_bytes = 16 * 512;  // MAXIMUM WRITE SAME LENGTH 16
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto too_long = f.run(*a, {0x41, 0, 0, 0, 0, 0, 0, 0, 17, 0}, std::vector<uint8_t>(512, 1));
  ASSERT_EQ(too_long.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(too_long.task->sense[12], 0x24);
  auto to_end = f.run(*a, {0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0}, std::vector<uint8_t>(512, 1));  // 64 blocks > 16
  EXPECT_EQ(to_end.task->status, ScsiStatus::check_condition);
  auto two_blocks = f.run(*a, {0x41, 0, 0, 0, 0, 0, 0, 0, 4, 0}, std::vector<uint8_t>(1024, 1));
  ASSERT_EQ(two_blocks.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(two_blocks.task->sense[2] & 0x0f, 0x05);
  for (size_t i = 0; i < 64 * 512; ++i) ASSERT_EQ(f.device->bytes()[i], 0) << "byte " << i;
}

TEST(BlockCommands, UnmapZeroesTheDescribedBlocksAndChecksTheRange) {
  TargetFixture f(64);
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  std::fill(f.device->bytes().begin(), f.device->bytes().end(), 0xff);
  std::vector<uint8_t> list(24, 0);
  store_be16(list.data(), 22);
  store_be16(list.data() + 2, 16);
  store_be64(list.data() + 8, 2);
  store_be32(list.data() + 16, 2);
  auto ok = f.run(*a, {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, list);
  ASSERT_EQ(ok.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[2 * 512], 0);
  EXPECT_EQ(f.device->bytes()[4 * 512], 0xff);
  store_be64(list.data() + 8, 63);
  auto beyond = f.run(*a, {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, list);
  EXPECT_EQ(beyond.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(beyond.task->sense[12], 0x21);
}

TEST(BlockCommands, VerifyWithByteCheckReportsTheFirstDifference) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  std::vector<uint8_t> data(1024, 0);
  auto same = f.run(*a, {0x2f, 0x02, 0, 0, 0, 0, 0, 0, 2, 0}, data);
  EXPECT_EQ(same.task->status, ScsiStatus::good);
  data[700] = 1;
  auto differs = f.run(*a, {0x2f, 0x02, 0, 0, 0, 0, 0, 0, 2, 0}, data);
  ASSERT_EQ(differs.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(differs.task->sense[2], 0x0e);
  EXPECT_EQ(load_be32(differs.task->sense.data() + 3), 700u);
}

}  // namespace
}  // namespace portico::scsi

namespace portico::scsi {
namespace {

TEST(ModeSelect, ChangingDSenseSwitchesSenseFormatAndTellsOtherNexuses) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  auto b = f.target.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*a);
  f.clear_ua(*b);
  std::vector<uint8_t> list(4 + 12, 0);
  list[4] = 0x0a;
  list[5] = 0x0a;
  list[6] = 0x04;  // D_SENSE
  list[7] = 0x10;
  list[9] = 0x40;  // TAS
  list[12] = 0xff;
  list[13] = 0xff;
  auto select = f.run(*a, {0x15, 0x10, 0, 0, 16, 0}, list);
  ASSERT_EQ(select.task->status, ScsiStatus::good);
  EXPECT_TRUE(f.unit->mode().descriptor_sense);
  auto tur_b = f.run(*b, {0x00, 0, 0, 0, 0, 0});
  ASSERT_EQ(tur_b.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(tur_b.task->sense[0], 0x72);
  EXPECT_EQ(tur_b.task->sense[2], 0x2a);
  EXPECT_EQ(tur_b.task->sense[3], 0x01);
  list[7] = 0x30;  // queue algorithm modifier is not changeable
  auto refused = f.run(*a, {0x15, 0x10, 0, 0, 16, 0}, list);
  EXPECT_EQ(refused.task->status, ScsiStatus::check_condition);
}

// Every operation code the dispatcher answers with something other than INVALID COMMAND
// OPERATION CODE must be in the list REPORT SUPPORTED OPERATION CODES returns: initiators (and
// libiscsi's suite) decide from that list whether to use a command at all.
TEST(ReportSupportedOpcodes, ListsEveryOperationCodeTheDispatcherImplements) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto all = f.run(*a, {0xa3, 0x0c, 0x00, 0, 0, 0, 0, 0, 0x40, 0, 0, 0});  // 16 KiB: the whole list
  ASSERT_EQ(all.task->status, ScsiStatus::good);
  const uint8_t* list = all.task->data_in.data();
  const uint32_t length = load_be32(list);
  ASSERT_LE(length + 4, all.task->data_in_length);
  std::set<uint8_t> listed;
  for (uint32_t at = 4; at + 8 <= length + 4; at += 8) listed.insert(list[at]);
  for (unsigned opcode = 0; opcode < 256; ++opcode) {
    if (opcode == 0x03) continue;  // REQUEST SENSE is answered by the target, ahead of the unit
    std::vector<uint8_t> cdb(16, 0);
    cdb[0] = static_cast<uint8_t>(opcode);
    auto run = f.run(*a, cdb);
    const bool invalid_opcode = run.task->status == ScsiStatus::check_condition && run.task->sense.size() > 13 &&
                                run.task->sense[12] == 0x20 && run.task->sense[13] == 0x00;
    if (!invalid_opcode) {
      EXPECT_TRUE(listed.count(static_cast<uint8_t>(opcode))) << "opcode 0x" << std::hex << opcode;
    }
  }
}

TEST(ReportSupportedOpcodes, OneCommandReportsSupportAndUsageData) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto read16 = f.run(*a, {0xa3, 0x0c, 0x01, 0x88, 0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_EQ(read16.task->status, ScsiStatus::good);
  EXPECT_EQ(read16.task->data_in.data()[1] & 0x07, 0x03);
  EXPECT_EQ(load_be16(read16.task->data_in.data() + 2), 16u);
  EXPECT_EQ(read16.task->data_in.data()[4], 0x88);
  auto unknown = f.run(*a, {0xa3, 0x0c, 0x01, 0xe7, 0, 0, 0, 0, 1, 0, 0, 0});
  EXPECT_EQ(unknown.task->data_in.data()[1] & 0x07, 0x01);
  auto all = f.run(*a, {0xa3, 0x0c, 0x00, 0, 0, 0, 0, 0, 4, 0, 0, 0});
  ASSERT_EQ(all.task->status, ScsiStatus::good);
  EXPECT_EQ(load_be32(all.task->data_in.data()) % 8, 0u);
}

}  // namespace
}  // namespace portico::scsi

namespace portico::scsi {
namespace {

TEST(AccessStates, StandbyRefusesIoButAnswersInquiryAndRaisesTheChangeUnitAttention) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  f.cluster.set_access_state(AluaState::standby);
  auto ua = f.run(*a, {0x00, 0, 0, 0, 0, 0});
  ASSERT_EQ(ua.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(ua.task->sense[12], 0x2a);
  EXPECT_EQ(ua.task->sense[13], 0x06);
  auto read = f.run(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  ASSERT_EQ(read.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(read.task->sense[2], 0x02);
  EXPECT_EQ(read.task->sense[12], 0x04);
  EXPECT_EQ(read.task->sense[13], 0x0b);
  EXPECT_EQ(f.run(*a, {0x12, 0, 0, 0, 36, 0}).task->status, ScsiStatus::good);
  auto rtpg = f.run(*a, {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_EQ(rtpg.task->status, ScsiStatus::good);
  EXPECT_EQ(rtpg.task->data_in.data()[4] & 0x0f, 0x02);  // standby
  f.cluster.set_access_state(AluaState::active_optimized);
  f.clear_ua(*a);
  EXPECT_EQ(f.run(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}).task->status, ScsiStatus::good);
}

}  // namespace
}  // namespace portico::scsi
