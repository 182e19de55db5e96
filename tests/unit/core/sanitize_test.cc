// SANITIZE (SBC-3 5.30): the service actions, the sanitize-in-progress gate with its progress
// indication, the failed state, and the refusals.
#include <gtest/gtest.h>

#include <cerrno>

#include "core/common/big_endian.h"
#include "core/scsi/pacing.h"
#include "core/scsi/task_management.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

constexpr uint8_t kOverwrite = 0x01;
constexpr uint8_t kBlockErase = 0x02;
constexpr uint8_t kCryptoErase = 0x03;
constexpr uint8_t kExitFailureMode = 0x1f;
constexpr uint8_t kImmed = 0x80;
constexpr uint8_t kAuse = 0x20;

std::vector<uint8_t> sanitize_cdb(uint8_t byte1, uint16_t parameter_length = 0) {
  std::vector<uint8_t> cdb(10, 0);
  cdb[0] = 0x48;
  cdb[1] = byte1;
  store_be16(cdb.data() + 7, parameter_length);
  return cdb;
}

std::vector<uint8_t> overwrite_list(std::vector<uint8_t> pattern, uint8_t count = 1, bool invert = false) {
  std::vector<uint8_t> list(4 + pattern.size(), 0);
  list[0] = static_cast<uint8_t>((invert ? 0x80 : 0x00) | count);
  store_be16(list.data() + 2, static_cast<uint16_t>(pattern.size()));
  for (size_t i = 0; i < pattern.size(); ++i) list[4 + i] = pattern[i];
  return list;
}

const std::vector<uint8_t> kTestUnitReady{0x00, 0, 0, 0, 0, 0};
const std::vector<uint8_t> kRead10Lba0{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};

uint8_t sense_key(const ScsiTask& task) { return task.sense.size() > 2 ? task.sense[2] & 0x0f : 0xff; }
std::pair<uint8_t, uint8_t> asc_of(const ScsiTask& task) { return {task.sense[12], task.sense[13]}; }

struct Sanitize : ::testing::Test {
  TargetFixture f{2048 * 4};  // 4 MiB: several overwrite chunks
  std::shared_ptr<NexusState> a = f.target.attach(testing::make_nexus("iqn.a"));
  void SetUp() override { f.clear_ua(*a); }

  void fill(uint8_t value) { std::fill(f.device->bytes().begin(), f.device->bytes().end(), value); }
  // Releases held backend completions until the sanitize has ended.
  void run_to_end() {
    while (f.device->held() > 0) f.device->release_all();
  }
};

TEST_F(Sanitize, OverwriteWritesThePatternRepeatedInEveryBlockAndInvertEndsOnThePattern) {
  fill('a');
  const std::vector<uint8_t> pattern{0x12, 0x34, 0x56};
  auto list = overwrite_list(pattern, 2, true);
  auto done = f.run(*a, sanitize_cdb(kOverwrite, static_cast<uint16_t>(list.size())), list);
  ASSERT_EQ(done.task->status, ScsiStatus::good);
  const auto& bytes = f.device->bytes();
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], pattern[(i % 512) % 3]) << "byte " << i;
}

TEST_F(Sanitize, BlockEraseAndCryptographicEraseLeaveEveryBlockReadingZero) {
  for (uint8_t action : {kBlockErase, kCryptoErase}) {
    fill('a');
    auto done = f.run(*a, sanitize_cdb(action));
    ASSERT_EQ(done.task->status, ScsiStatus::good);
    for (uint8_t b : f.device->bytes()) ASSERT_EQ(b, 0);
  }
}

TEST_F(Sanitize, WhileRunningOtherCommandsGetNotReadyWithProgressButInquiryIsServed) {
  f.device->hold = true;
  auto sanitize = f.submit(*a, sanitize_cdb(kBlockErase), {}, 0, 7);
  EXPECT_FALSE(*sanitize.finished);
  for (const auto& cdb : {kTestUnitReady, kRead10Lba0}) {
    auto refused = f.run(*a, cdb);
    ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
    EXPECT_EQ(sense_key(*refused.task), 0x02);  // NOT READY
    EXPECT_EQ(asc_of(*refused.task), std::make_pair(uint8_t{0x04}, uint8_t{0x1b}));
    EXPECT_EQ(refused.task->sense[15] & 0x80, 0x80);  // SKSV: progress indication
  }
  auto inquiry = f.run(*a, {0x12, 0, 0, 0, 36, 0});
  EXPECT_EQ(inquiry.task->status, ScsiStatus::good);
  run_to_end();
  ASSERT_TRUE(*sanitize.finished);
  EXPECT_EQ(sanitize.task->status, ScsiStatus::good);
  EXPECT_EQ(f.run(*a, kTestUnitReady).task->status, ScsiStatus::good);
}

TEST_F(Sanitize, ImmedReturnsAtOnceAndRequestSenseReportsTheGrowingProgress) {
  f.device->hold = true;
  auto list = overwrite_list({0xaa});
  auto sanitize = f.run(*a, sanitize_cdb(kImmed | kOverwrite, static_cast<uint16_t>(list.size())), list);
  ASSERT_TRUE(*sanitize.finished);
  EXPECT_EQ(sanitize.task->status, ScsiStatus::good);
  uint16_t last = 0;
  for (int chunk = 0; chunk < 3; ++chunk) {
    f.device->release_all();
    auto sense = f.run(*a, {0x03, 0, 0, 0, 18, 0});
    ASSERT_EQ(sense.task->status, ScsiStatus::good);
    const uint8_t* data = sense.task->data_in.data();
    EXPECT_EQ(data[2] & 0x0f, 0x02);
    EXPECT_EQ(data[12], 0x04);
    EXPECT_EQ(data[13], 0x1b);
    EXPECT_EQ(data[15] & 0x80, 0x80);
    const uint16_t progress = load_be16(data + 16);
    EXPECT_GT(progress, last);
    last = progress;
  }
  run_to_end();
  EXPECT_EQ(f.run(*a, kTestUnitReady).task->status, ScsiStatus::good);
  EXPECT_EQ(f.device->bytes().back(), 0xaa);
}

TEST_F(Sanitize, AbortTaskEndsTheCommandButTheOperationRunsToTheEnd) {
  fill('a');
  f.device->hold = true;
  auto sanitize = f.submit(*a, sanitize_cdb(kOverwrite, 5), overwrite_list({0}), 0, 7);  // 1 MiB steps
  bool tmf_done = false;
  f.unit->task_management(*a, TmfFunction::abort_task, 7, f.executor, [&](TmfResponse) { tmf_done = true; });
  f.device->release_all();  // the next step sees the abort
  EXPECT_TRUE(*sanitize.finished);
  EXPECT_TRUE(tmf_done);
  EXPECT_TRUE(f.unit->sanitize_state().in_progress());
  run_to_end();
  EXPECT_FALSE(f.unit->sanitize_state().in_progress());
  for (uint8_t b : f.device->bytes()) ASSERT_EQ(b, 0);
}

struct FailedSanitize : ::testing::Test {
  cluster::LocalClusterState cluster;
  testing::InlineExecutor executor;
  std::shared_ptr<testing::FakeBlockDevice> device = std::make_shared<testing::FakeBlockDevice>(1u << 20);
  ScsiTarget target;
  std::shared_ptr<NexusState> a;

  void SetUp() override {
    LogicalUnitConfig config;
    config.name = "breakable";
    config.identity_seed = "iqn.2026-11.io.portico:test/lun/breakable";
    target.add_lun(0, *LogicalUnit::create(config, device, cluster));
    a = target.attach(testing::make_nexus("iqn.a"));
    run(kTestUnitReady);
  }
  std::unique_ptr<ScsiTask> run(const std::vector<uint8_t>& cdb) {
    auto task = std::make_unique<ScsiTask>();
    std::copy(cdb.begin(), cdb.end(), task->cdb_bytes.begin());
    target.execute(*a, *task, executor, []() {});
    return task;
  }
  void expect_sense(const ScsiTask& task, uint8_t key, uint8_t code, uint8_t qualifier) {
    ASSERT_EQ(task.status, ScsiStatus::check_condition);
    EXPECT_EQ(sense_key(task), key);
    EXPECT_EQ(asc_of(task), std::make_pair(code, qualifier));
  }
};

TEST_F(FailedSanitize, UnrestrictedFailureRefusesMediumAccessUntilExitFailureMode) {
  device->fail_with = EIO;
  expect_sense(*run(sanitize_cdb(kAuse | kBlockErase)), 0x03, 0x31, 0x03);
  device->fail_with = 0;
  expect_sense(*run(kRead10Lba0), 0x03, 0x31, 0x03);
  EXPECT_EQ(run(kTestUnitReady)->status, ScsiStatus::good);
  EXPECT_EQ(run(sanitize_cdb(kExitFailureMode))->status, ScsiStatus::good);
  EXPECT_EQ(run(kRead10Lba0)->status, ScsiStatus::good);
}

TEST_F(FailedSanitize, RestrictedFailureIsOnlyLeftByASuccessfulSanitize) {
  device->fail_with = EIO;
  expect_sense(*run(sanitize_cdb(kBlockErase)), 0x03, 0x31, 0x03);
  device->fail_with = 0;
  expect_sense(*run(sanitize_cdb(kExitFailureMode)), 0x05, 0x24, 0x00);
  expect_sense(*run(sanitize_cdb(kAuse | kBlockErase)), 0x05, 0x24, 0x00);
  expect_sense(*run(kRead10Lba0), 0x03, 0x31, 0x03);
  EXPECT_EQ(run(sanitize_cdb(kCryptoErase))->status, ScsiStatus::good);
  EXPECT_EQ(run(kRead10Lba0)->status, ScsiStatus::good);
}

TEST_F(Sanitize, MalformedCommandsAreInvalidFieldsAndChangeNothing) {
  fill('a');
  auto expect_invalid = [&](const std::vector<uint8_t>& cdb, const std::vector<uint8_t>& data, uint8_t code) {
    auto r = f.run(*a, cdb, data);
    ASSERT_EQ(r.task->status, ScsiStatus::check_condition);
    EXPECT_EQ(sense_key(*r.task), 0x05);
    EXPECT_EQ(r.task->sense[12], code);
  };
  for (uint8_t action : std::initializer_list<uint8_t>{0x00, 0x04, 0x10, 0x1e}) expect_invalid(sanitize_cdb(action), {}, 0x24);
  expect_invalid(sanitize_cdb(0x40 | kBlockErase), {}, 0x24);  // reserved bit
  auto reserved_byte = sanitize_cdb(kBlockErase);
  reserved_byte[4] = 1;
  expect_invalid(reserved_byte, {}, 0x24);
  for (uint8_t action : {kBlockErase, kCryptoErase, kExitFailureMode}) {
    expect_invalid(sanitize_cdb(action, 8), std::vector<uint8_t>(8, 0), 0x24);
  }
  for (uint16_t length : std::initializer_list<uint16_t>{0, 4, 512 + 5}) {
    expect_invalid(sanitize_cdb(kOverwrite, length), std::vector<uint8_t>(600, 0), 0x24);
  }
  auto no_passes = overwrite_list({1}, 0);
  expect_invalid(sanitize_cdb(kOverwrite, static_cast<uint16_t>(no_passes.size())), no_passes, 0x26);
  const std::vector<uint8_t> empty_pattern{0x01, 0, 0, 0, 0};  // one pass, pattern length 0
  expect_invalid(sanitize_cdb(kOverwrite, 5), empty_pattern, 0x26);
  for (uint8_t b : f.device->bytes()) ASSERT_EQ(b, 'a');
}

TEST(SanitizeAccess, ReadOnlyUnitIsDataProtectAndAnotherHoldersReservationConflicts) {
  cluster::LocalClusterState cluster;
  testing::InlineExecutor executor;
  LogicalUnitConfig config;
  config.name = "ro";
  config.read_only = true;
  ScsiTarget target;
  target.add_lun(0, *LogicalUnit::create(config, std::make_shared<testing::FakeBlockDevice>(1u << 20), cluster));
  auto a = target.attach(testing::make_nexus("iqn.a"));
  ScsiTask tur;
  target.execute(*a, tur, executor, []() {});
  ScsiTask task;
  const auto cdb = sanitize_cdb(kBlockErase);
  std::copy(cdb.begin(), cdb.end(), task.cdb_bytes.begin());
  target.execute(*a, task, executor, []() {});
  ASSERT_EQ(task.status, ScsiStatus::check_condition);
  EXPECT_EQ(task.sense[2] & 0x0f, 0x07);  // DATA PROTECT

  TargetFixture f;
  auto holder = f.target.attach(testing::make_nexus("iqn.holder"));
  auto other = f.target.attach(testing::make_nexus("iqn.other"));
  f.clear_ua(*holder);
  f.clear_ua(*other);
  ASSERT_EQ(f.run(*holder, {0x16, 0, 0, 0, 0, 0}).task->status, ScsiStatus::good);  // RESERVE(6)
  EXPECT_EQ(f.run(*other, sanitize_cdb(kBlockErase)).task->status, ScsiStatus::reservation_conflict);
  EXPECT_FALSE(f.unit->sanitize_state().in_progress());
}

TEST_F(Sanitize, ReportSupportedOperationCodesListsEveryServiceAction) {
  for (uint8_t action : {kOverwrite, kBlockErase, kCryptoErase, kExitFailureMode}) {
    std::vector<uint8_t> cdb{0xa3, 0x0c, 0x02, 0x48, 0, action, 0, 0, 1, 0, 0, 0};
    auto r = f.run(*a, cdb);
    ASSERT_EQ(r.task->status, ScsiStatus::good);
    EXPECT_EQ(r.task->data_in.data()[1] & 0x07, 0x03) << "service action " << int{action};
  }
  auto characteristics = f.run(*a, {0x12, 0x01, 0xb1, 0, 64, 0});
  ASSERT_EQ(characteristics.task->status, ScsiStatus::good);
  EXPECT_EQ(characteristics.task->data_in.data()[7] & 0xf0, 0x50);  // WABEREQ = WACEREQ = 01b
}

}  // namespace
}  // namespace portico::scsi

namespace portico::scsi {
namespace {

TEST(SanitizePacing, DelayKeepsTheWorkWithinTheRate) {
  using std::chrono::milliseconds;
  using std::chrono::nanoseconds;
  EXPECT_EQ(pacing_delay(1u << 30, 0, nanoseconds(0)), milliseconds(0));  // unpaced
  // 16 MiB at 16 MiB/s is due after one second: 250 ms in, wait 750 ms; 2 s in, no wait.
  EXPECT_EQ(pacing_delay(16u << 20, 16u << 20, milliseconds(250)), milliseconds(750));
  EXPECT_EQ(pacing_delay(16u << 20, 16u << 20, milliseconds(2000)), milliseconds(0));
  EXPECT_EQ(pacing_delay(1, 1000, nanoseconds(0)), milliseconds(1));  // rounds up, never 0 early
}

TEST(SanitizePacing, APacedUnitWaitsBetweenChunks) {
  testing::TargetFixture f(2048 * 4, [](LogicalUnitConfig& c) { c.sanitize_bytes_per_second = 1u << 20; });
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*a);
  auto erase = f.run(*a, {0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0});  // BLOCK ERASE of 4 MiB at 1 MiB/s
  while (f.device->held() > 0) f.device->release_all();
  EXPECT_EQ(erase.task->status, ScsiStatus::good);
  ASSERT_FALSE(f.executor.delays.empty());
  for (auto delay : f.executor.delays) EXPECT_GT(delay.count(), 0);
}

// The operation as the cluster's record of the unit holds it: what other gateways see and do.
namespace shared {

std::optional<SharedSanitize> stored_sanitize(testing::TargetFixture& f) {
  auto stored = f.stored_record();
  EXPECT_TRUE(stored.has_value()) << "the stored record does not parse";
  return stored ? stored->second.sanitize : std::nullopt;
}

// What another gateway does: a guarded write of the record, then the event every gateway applies.
void store_as_another_gateway(testing::TargetFixture& f, std::optional<SharedSanitize> sanitize) {
  auto stored = f.stored_record();
  ASSERT_TRUE(stored.has_value());
  auto& [version, state] = *stored;
  state.sanitize = sanitize;
  bool written = false;
  f.cluster.write_reservation(f.unit->cluster_key(), version, serialize(state), false,
                              [&written](Status s) { written = s.ok(); });
  ASSERT_TRUE(written);
  LunEvent event;
  event.kind = LunEvent::Kind::reservation_changed;
  bool published = false;
  f.cluster.publish(f.unit->cluster_key(), event, [&published](Status s) { published = s.ok(); });
  ASSERT_TRUE(published);
}

constexpr uint16_t kOtherGroup = 7;

TEST_F(Sanitize, OneRunningOnAnotherGatewayRefusesMediumAccessHereWithItsStoredProgress) {
  ASSERT_NE(f.cluster.local_target_port_group(), kOtherGroup);
  store_as_another_gateway(f, SharedSanitize{true, false, kOtherGroup, 0x4000});
  for (const auto& cdb : {kRead10Lba0, kTestUnitReady, sanitize_cdb(kBlockErase)}) {
    auto refused = f.run(*a, cdb);
    ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
    EXPECT_EQ(sense_key(*refused.task), 0x02);
    EXPECT_EQ(asc_of(*refused.task), std::make_pair(uint8_t{0x04}, uint8_t{0x1b}));
    EXPECT_EQ(refused.task->sense[15] & 0x80, 0x80);
    EXPECT_EQ(load_be16(refused.task->sense.data() + 16), 0x4000);
  }
  EXPECT_EQ(f.run(*a, {0x12, 0, 0, 0, 36, 0}).task->status, ScsiStatus::good);  // INQUIRY is served
  EXPECT_EQ(stored_sanitize(f)->owner_group, kOtherGroup);  // the refused SANITIZE changed nothing

  store_as_another_gateway(f, std::nullopt);  // it completed there
  EXPECT_EQ(f.run(*a, kRead10Lba0).task->status, ScsiStatus::good);
}

TEST_F(Sanitize, AFailureOnAnotherGatewayIsReportedHereAndExitFailureModeHereEndsItInTheRecord) {
  store_as_another_gateway(f, SharedSanitize{false, true, kOtherGroup, 0x1000});
  auto refused = f.run(*a, kRead10Lba0);
  ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(sense_key(*refused.task), 0x03);
  EXPECT_EQ(asc_of(*refused.task), std::make_pair(uint8_t{0x31}, uint8_t{0x03}));
  EXPECT_EQ(f.run(*a, sanitize_cdb(kExitFailureMode)).task->status, ScsiStatus::good);
  EXPECT_FALSE(stored_sanitize(f).has_value());
  EXPECT_EQ(f.run(*a, kRead10Lba0).task->status, ScsiStatus::good);
}

TEST_F(Sanitize, ALocalOperationIsInTheRecordWhileItRunsAndLeavesItWhenItCompletes) {
  f.device->hold = true;
  auto sanitize = f.submit(*a, sanitize_cdb(kAuse | kBlockErase));
  auto running = stored_sanitize(f);
  ASSERT_TRUE(running.has_value());
  EXPECT_TRUE(running->running);
  EXPECT_TRUE(running->ause);
  EXPECT_EQ(running->owner_group, f.cluster.local_target_port_group());
  f.device->hold = false;
  run_to_end();
  EXPECT_TRUE(*sanitize.finished);
  EXPECT_EQ(sanitize.task->status, ScsiStatus::good);
  EXPECT_FALSE(stored_sanitize(f).has_value());
  EXPECT_FALSE(f.unit->sanitize_state().in_progress());
}

TEST_F(Sanitize, ARecordSayingThisGatewayRunsOneItDoesNotRunIsStoredAsFailed) {
  // This gateway restarted while running one: the medium was left partly sanitized.
  store_as_another_gateway(f, SharedSanitize{true, true, f.cluster.local_target_port_group(), 0x2000});
  auto stored = stored_sanitize(f);
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->running);
  EXPECT_TRUE(stored->ause);
  auto refused = f.run(*a, kRead10Lba0);
  ASSERT_EQ(refused.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(asc_of(*refused.task), std::make_pair(uint8_t{0x31}, uint8_t{0x03}));
  EXPECT_EQ(f.run(*a, sanitize_cdb(kExitFailureMode)).task->status, ScsiStatus::good);
  EXPECT_EQ(f.run(*a, kRead10Lba0).task->status, ScsiStatus::good);
}

}  // namespace shared

}  // namespace
}  // namespace portico::scsi
