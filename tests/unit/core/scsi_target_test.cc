// Behaviour of the core through ScsiTarget, the front-ends' only entry point.
#include "core/scsi/scsi_target.h"

#include <gtest/gtest.h>

#include "core/common/big_endian.h"
#include "core/scsi/nexus_state.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::sense_key_asc;
using testing::TargetFixture;

TEST(ScsiTarget, NewNexusSeesPowerOnUnitAttentionOnceButInquiryIsNotBlocked) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  auto inquiry = f.run(*nexus, {0x12, 0, 0, 0, 96, 0});
  EXPECT_EQ(inquiry.task->status, ScsiStatus::good);
  auto tur = f.run(*nexus, {0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(tur.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(sense_key_asc(*tur.task), std::make_pair(uint8_t{0x06}, uint8_t{0x29}));
  auto again = f.run(*nexus, {0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(again.task->status, ScsiStatus::good);
}

TEST(ScsiTarget, RequestSenseReportsAndClearsTheUnitAttention) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  auto first = f.run(*nexus, {0x03, 0, 0, 0, 252, 0});
  EXPECT_EQ(first.task->status, ScsiStatus::good);
  ASSERT_GE(first.task->data_in_length, 14u);
  EXPECT_EQ(first.task->data_in.data()[2], 0x06);
  EXPECT_EQ(first.task->data_in.data()[12], 0x29);
  auto second = f.run(*nexus, {0x03, 0, 0, 0, 252, 0});
  EXPECT_EQ(second.task->data_in.data()[2], 0x00);
  EXPECT_EQ(f.run(*nexus, {0x00, 0, 0, 0, 0, 0}).task->status, ScsiStatus::good);
}

TEST(ScsiTarget, WriteThenReadReturnsTheSameBytes) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  std::vector<uint8_t> data(1024);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  auto write = f.run(*nexus, {0x2a, 0, 0, 0, 0, 10, 0, 0, 2, 0}, data);
  EXPECT_EQ(write.task->status, ScsiStatus::good);
  EXPECT_EQ(write.task->data_out_length_needed, 1024u);
  auto read = f.run(*nexus, {0x88, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0});
  ASSERT_EQ(read.task->status, ScsiStatus::good);
  ASSERT_EQ(read.task->data_in_length, 1024u);
  EXPECT_EQ(0, std::memcmp(read.task->data_in.data(), data.data(), data.size()));
}

TEST(ScsiTarget, ReadBeyondTheEndIsLbaOutOfRange) {
  TargetFixture f(100);
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto read = f.run(*nexus, {0x28, 0, 0, 0, 0, 99, 0, 0, 2, 0});
  EXPECT_EQ(read.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(sense_key_asc(*read.task), std::make_pair(uint8_t{0x05}, uint8_t{0x21}));
  auto edge = f.run(*nexus, {0x28, 0, 0, 0, 0, 99, 0, 0, 1, 0});
  EXPECT_EQ(edge.task->status, ScsiStatus::good);
}

TEST(ScsiTarget, WriteWithFewerWholeBlocksThanTheCdbNeedsWritesOnlyThose) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto write = f.run(*nexus, {0x2a, 0, 0, 0, 0, 0, 0, 0, 2, 0}, std::vector<uint8_t>(512, 0xaa));
  EXPECT_EQ(write.task->status, ScsiStatus::good);
  EXPECT_EQ(write.task->data_out_length_needed, 1024u);  // the front-end reports the overflow
  EXPECT_EQ(f.device->bytes()[0], 0xaa);
  EXPECT_EQ(f.device->bytes()[512], 0);
}

TEST(ScsiTarget, WriteWithAPartialBlockOfDataWritesNothing) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto write = f.run(*nexus, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(200, 0xaa));
  EXPECT_EQ(write.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(sense_key_asc(*write.task), std::make_pair(uint8_t{0x05}, uint8_t{0x0e}));
  EXPECT_EQ(f.device->bytes()[0], 0);
}

TEST(ScsiTarget, UnsupportedOpcodeIsInvalidCommandOperationCode) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto task = f.run(*nexus, {0xe7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(sense_key_asc(*task.task), std::make_pair(uint8_t{0x05}, uint8_t{0x20}));
}

TEST(ScsiTarget, MissingLunAnswersInquiryWithQualifier3AndRefusesOtherCommands) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  auto inquiry = f.run(*nexus, {0x12, 0, 0, 0, 36, 0}, {}, 5);
  ASSERT_EQ(inquiry.task->status, ScsiStatus::good);
  EXPECT_EQ(inquiry.task->data_in.data()[0], 0x7f);
  auto tur = f.run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, 5);
  EXPECT_EQ(sense_key_asc(*tur.task), std::make_pair(uint8_t{0x05}, uint8_t{0x25}));
}

TEST(ScsiTarget, ReportLunsListsConfiguredLunsAndChecksAllocationLength) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  auto ok = f.run(*nexus, {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_EQ(ok.task->status, ScsiStatus::good);
  EXPECT_EQ(load_be32(ok.task->data_in.data()), 8u);
  auto small = f.run(*nexus, {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0});
  EXPECT_EQ(small.task->status, ScsiStatus::check_condition);
}

TEST(ScsiTarget, DescriptorSenseFollowsTheControlPage) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto mode = f.unit->mode();
  mode.descriptor_sense = true;
  f.unit->set_mode(mode);
  auto task = f.run(*nexus, {0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0});
  ASSERT_FALSE(task.task->sense.empty());
  EXPECT_EQ(task.task->sense[0], 0x72);
  auto sense = f.run(*nexus, {0x1a, 0, 0x0a, 0, 255, 0});
  ASSERT_EQ(sense.task->status, ScsiStatus::good);
  EXPECT_EQ(sense.task->data_in.data()[4 + 8 + 2] & 0x04, 0x04);  // D_SENSE in the control page
}

TEST(ScsiTarget, ModeSenseSavedValuesAreNotSupported) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto task = f.run(*nexus, {0x1a, 0, 0xff, 0, 255, 0});
  EXPECT_EQ(sense_key_asc(*task.task), std::make_pair(uint8_t{0x05}, uint8_t{0x39}));
}

TEST(ScsiTarget, DeviceIdentificationCarriesTheClusterIdentityAndThePort) {
  TargetFixture f;
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  auto task = f.run(*nexus, {0x12, 1, 0x83, 1, 0, 0});
  ASSERT_EQ(task.task->status, ScsiStatus::good);
  const uint8_t* d = task.task->data_in.data();
  EXPECT_EQ(d[1], 0x83);
  EXPECT_EQ(d[5] & 0x0f, 3);  // first designator: NAA
  EXPECT_EQ(load_be64(d + 8), f.unit->identity().naa);
  EXPECT_EQ(d[8] >> 4, 0x3);  // NAA 3: locally assigned
}

TEST(ScsiTarget, ReadCapacity16ReportsLastLbaAndBlockSize) {
  TargetFixture f(4096);
  auto nexus = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*nexus);
  auto task = f.run(*nexus, {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0});
  ASSERT_EQ(task.task->status, ScsiStatus::good);
  EXPECT_EQ(load_be64(task.task->data_in.data()), 4095u);
  EXPECT_EQ(load_be32(task.task->data_in.data() + 8), 512u);
}

TEST(ScsiTarget, LunResetRaisesResetUnitAttentionOnEveryNexus) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  auto b = f.target.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*a);
  f.clear_ua(*b);
  std::optional<TmfResponse> response;
  f.target.task_management(*a, TmfFunction::logical_unit_reset, 0, 0, f.executor,
                           [&](TmfResponse r) { response = r; });
  ASSERT_EQ(response, TmfResponse::function_complete);
  auto tur = f.run(*b, {0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(sense_key_asc(*tur.task), std::make_pair(uint8_t{0x06}, uint8_t{0x29}));
}

TEST(ScsiTarget, AbortTaskCompletesOnlyAfterTheBackendIoEndsAndTheTaskIsSilent) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  f.device->hold = true;
  auto write = f.submit(*a, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512, 1), 0, 77);
  ASSERT_EQ(f.device->held(), 1u);
  std::optional<TmfResponse> response;
  f.target.task_management(*a, TmfFunction::abort_task, 0, 77, f.executor, [&](TmfResponse r) { response = r; });
  EXPECT_FALSE(response.has_value()) << "the abort must wait for the write in the backend";
  f.device->release_all();
  EXPECT_EQ(response, TmfResponse::function_complete);
  EXPECT_TRUE(*write.finished);
  EXPECT_EQ(write.task->outcome, TaskOutcome::aborted_silently);
}

TEST(ScsiTarget, ClearTaskSetByAnotherNexusEndsTasksWithTaskAbortedWhenTasIsSet) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  auto b = f.target.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*a);
  f.clear_ua(*b);
  f.device->hold = true;
  auto read = f.submit(*b, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 0, 5);
  std::optional<TmfResponse> response;
  f.target.task_management(*a, TmfFunction::clear_task_set, 0, 0, f.executor, [&](TmfResponse r) { response = r; });
  f.device->release_all();
  EXPECT_EQ(response, TmfResponse::function_complete);
  EXPECT_EQ(read.task->outcome, TaskOutcome::completed);
  EXPECT_EQ(read.task->status, ScsiStatus::task_aborted);
}

TEST(ScsiTarget, QueryTaskFindsATaskInFlight) {
  TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  f.device->hold = true;
  auto read = f.submit(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 0, 9);
  std::optional<TmfResponse> found;
  std::optional<TmfResponse> missing;
  f.target.task_management(*a, TmfFunction::query_task, 0, 9, f.executor, [&](TmfResponse r) { found = r; });
  f.target.task_management(*a, TmfFunction::query_task, 0, 10, f.executor, [&](TmfResponse r) { missing = r; });
  f.device->release_all();
  EXPECT_EQ(found, TmfResponse::function_succeeded);
  EXPECT_EQ(missing, TmfResponse::function_complete);
  EXPECT_EQ(read.task->status, ScsiStatus::good);
}

}  // namespace
}  // namespace portico::scsi

namespace portico::scsi {
namespace {

TEST(CompareAndWrite, WritesWhenTheCompareMatchesAndReportsTheFirstDifferenceOtherwise) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  std::vector<uint8_t> payload(1024, 0);  // compare zeroes, write 0x5a
  std::fill(payload.begin() + 512, payload.end(), 0x5a);
  auto first = f.run(*a, {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0}, payload);
  EXPECT_EQ(first.task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes()[3 * 512], 0x5a);
  auto second = f.run(*a, {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0}, payload);
  ASSERT_EQ(second.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(second.task->sense[2], 0x0e);   // MISCOMPARE
  EXPECT_EQ(second.task->sense[0], 0xf0);   // VALID: the INFORMATION field holds the offset
  EXPECT_EQ(load_be32(second.task->sense.data() + 3), 0u);
}

}  // namespace
}  // namespace portico::scsi
