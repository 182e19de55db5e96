// A backend's errno becomes the status and sense that let a host retry, fail over or stop
// (io_error_sense.h), for every command that reaches the backend, and the log line names it.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <sstream>

#include "core/common/big_endian.h"
#include "core/scsi/io_error_sense.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

struct Expected {
  int error;
  ScsiStatus status;
  uint8_t key;  // with check_condition
  uint8_t asc;
  uint8_t ascq;
};

TEST(IoErrorAnswer, EveryErrnoClassGetsItsStatusAndSense) {
  const std::vector<Expected> reads = {
      {ESHUTDOWN, ScsiStatus::check_condition, 0x02, 0x08, 0x00},  // Ceph's EBLOCKLISTED
      {ENOTCONN, ScsiStatus::check_condition, 0x02, 0x08, 0x00},
      {ECONNRESET, ScsiStatus::check_condition, 0x02, 0x08, 0x00},
      {EHOSTUNREACH, ScsiStatus::check_condition, 0x02, 0x08, 0x00},
      {ETIMEDOUT, ScsiStatus::check_condition, 0x02, 0x08, 0x01},
      {ENOSPC, ScsiStatus::check_condition, 0x07, 0x27, 0x07},
      {EDQUOT, ScsiStatus::check_condition, 0x07, 0x27, 0x07},
      {EROFS, ScsiStatus::check_condition, 0x07, 0x27, 0x00},
      {EIO, ScsiStatus::check_condition, 0x03, 0x11, 0x00},
      {EILSEQ, ScsiStatus::check_condition, 0x03, 0x11, 0x00},
      {EBADMSG, ScsiStatus::check_condition, 0x03, 0x11, 0x00},
      {EAGAIN, ScsiStatus::busy, 0, 0, 0},
      {EBUSY, ScsiStatus::busy, 0, 0, 0},
      {ENOMEM, ScsiStatus::task_set_full, 0, 0, 0},
      {EINVAL, ScsiStatus::check_condition, 0x04, 0x44, 0x00},
      {EOPNOTSUPP, ScsiStatus::check_condition, 0x04, 0x44, 0x00},
      {EPERM, ScsiStatus::check_condition, 0x04, 0x44, 0x00},
  };
  for (const auto& e : reads) {
    const auto answer = io_error_answer(e.error, IoDirection::read);
    EXPECT_EQ(answer.status, e.status) << errno_text(e.error);
    if (e.status != ScsiStatus::check_condition) {
      EXPECT_FALSE(answer.sense) << errno_text(e.error);
      continue;
    }
    ASSERT_TRUE(answer.sense) << errno_text(e.error);
    EXPECT_EQ(static_cast<uint8_t>(answer.sense->key), e.key) << errno_text(e.error);
    EXPECT_EQ(answer.sense->asc, (Asc{e.asc, e.ascq})) << errno_text(e.error);
  }
  // Only a medium error depends on the direction: WRITE ERROR for a write.
  EXPECT_EQ(io_error_answer(EIO, IoDirection::write).sense->asc, asc::kWriteError);
  EXPECT_EQ(io_error_answer(ENOSPC, IoDirection::write).sense->asc, (Asc{0x27, 0x07}));
  EXPECT_EQ(io_error_answer(ESHUTDOWN, IoDirection::write).failure, IoFailure::path_lost);
}

TEST(IoErrorAnswer, ErrnoTextNamesTheNumberTheSymbolAndTheDescription) {
  EXPECT_EQ(errno_text(ESHUTDOWN), "errno 108 ESHUTDOWN (Cannot send after transport endpoint shutdown)");
}

std::vector<uint8_t> unmap_list() {
  std::vector<uint8_t> list(24, 0);
  store_be16(list.data(), 22);
  store_be16(list.data() + 2, 16);
  store_be32(list.data() + 8 + 8, 1);  // LBA 0, one block
  return list;
}

struct Command {
  const char* name;
  std::vector<uint8_t> cdb;
  std::vector<uint8_t> data_out;
};

// Every command that reaches the backend, each touching LBA 0.
std::vector<Command> backend_commands() {
  const std::vector<uint8_t> block(512, 0x5a);
  std::vector<uint8_t> get_lba_status(16, 0);
  get_lba_status[0] = 0x9e;
  get_lba_status[1] = 0x12;
  store_be32(get_lba_status.data() + 10, 32);
  std::vector<uint8_t> compare_and_write(16, 0);
  compare_and_write[0] = 0x89;
  compare_and_write[13] = 1;
  std::vector<uint8_t> orwrite(16, 0);
  orwrite[0] = 0x8b;
  store_be32(orwrite.data() + 10, 1);
  std::vector<uint8_t> write_atomic(16, 0);
  write_atomic[0] = 0x9c;
  store_be16(write_atomic.data() + 12, 1);
  return {
      {"READ(10)", {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}},
      {"WRITE(10)", {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, block},
      {"SYNCHRONIZE CACHE(10)", {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {}},
      {"WRITE SAME(10)", {0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0}, block},
      {"UNMAP", {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, unmap_list()},
      {"VERIFY(10) BYTCHK=1", {0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0}, block},
      {"WRITE AND VERIFY(10)", {0x2e, 0, 0, 0, 0, 0, 0, 0, 1, 0}, block},
      {"GET LBA STATUS", get_lba_status, {}},
      {"COMPARE AND WRITE", compare_and_write, std::vector<uint8_t>(1024, 0)},
      {"ORWRITE(16)", orwrite, block},
      {"WRITE ATOMIC(16)", write_atomic, block},
  };
}

struct FailingBackend : ::testing::Test {
  TargetFixture f;
  std::shared_ptr<NexusState> a = f.target.attach(testing::make_nexus("iqn.a"));
  void SetUp() override {
    f.device->mutable_info().max_atomic_write_bytes = 4096;  // offer WRITE ATOMIC
    f.clear_ua(*a);
  }
};

TEST_F(FailingBackend, ALostBackendAnswersEveryCommandWithThePathFailingSenseNeverMediumError) {
  f.device->fail_with = ESHUTDOWN;
  for (const auto& command : backend_commands()) {
    auto run = f.run(*a, command.cdb, command.data_out);
    ASSERT_TRUE(*run.finished) << command.name;
    ASSERT_EQ(run.task->status, ScsiStatus::check_condition) << command.name;
    EXPECT_EQ(run.task->sense[2] & 0x0f, 0x02) << command.name;  // NOT READY
    EXPECT_EQ(run.task->sense[12], 0x08) << command.name;        // LOGICAL UNIT COMMUNICATION FAILURE
    EXPECT_EQ(run.task->sense[13], 0x00) << command.name;
  }
  f.device->fail_with = 0;
  EXPECT_EQ(f.run(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}).task->status, ScsiStatus::good);
}

TEST_F(FailingBackend, EachErrnoReachesTheHostAsItsOwnAnswerThroughEveryCommand) {
  for (const int error : {ETIMEDOUT, ENOSPC, EROFS, EIO, EBUSY, ENOMEM, EINVAL}) {
    f.device->fail_with = error;
    for (const auto& command : backend_commands()) {
      auto run = f.run(*a, command.cdb, command.data_out);
      ASSERT_TRUE(*run.finished) << command.name;
      // GET LBA STATUS and VERIFY read; SYNCHRONIZE CACHE counts as a write; ORWRITE and
      // COMPARE AND WRITE fail in their first step (a read, a compare-and-write).
      const bool reads = command.cdb[0] == 0x28 || command.cdb[0] == 0x2f || command.cdb[0] == 0x9e ||
                         command.cdb[0] == 0x8b;
      const auto expected = io_error_answer(error, reads ? IoDirection::read : IoDirection::write);
      ASSERT_EQ(run.task->status, expected.status) << command.name << " " << errno_text(error);
      if (!expected.sense) {
        EXPECT_TRUE(run.task->sense.empty()) << command.name;
        continue;
      }
      EXPECT_EQ(run.task->sense[2] & 0x0f, static_cast<uint8_t>(expected.sense->key))
          << command.name << " " << errno_text(error);
      EXPECT_EQ(run.task->sense[12], expected.sense->asc.code) << command.name << " " << errno_text(error);
      EXPECT_EQ(run.task->sense[13], expected.sense->asc.qualifier) << command.name << " " << errno_text(error);
    }
  }
}

TEST_F(FailingBackend, AWriteIntoAFullThinPoolIsDataProtectSpaceAllocationFailed) {
  f.device->fail_with = ENOSPC;
  auto run = f.run(*a, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512, 1));
  ASSERT_EQ(run.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(run.task->sense[2] & 0x0f, 0x07);
  EXPECT_EQ(run.task->sense[12], 0x27);
  EXPECT_EQ(run.task->sense[13], 0x07);
}

TEST_F(FailingBackend, OneLogLinePerKindPerSecondNamingTheErrno) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out)));
  f.device->fail_with = ESHUTDOWN;
  for (int i = 0; i < 50; ++i) f.run(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  f.device->fail_with = ENOSPC;
  f.run(*a, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512, 1));
  spdlog::set_default_logger(previous);

  const std::string log = out.str();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_NE(log.find("test lun 0: backend I/O of opcode 28h failed: errno 108 ESHUTDOWN"), std::string::npos) << log;
  EXPECT_NE(log.find("errno 28 ENOSPC"), std::string::npos) << log;
}

// SBC-3 4.11.4: a sanitize whose backend fails leaves the unit in the failed state. A medium
// failure answers SANITIZE COMMAND FAILED; a lost backend answers the path-failing sense, so
// that the host retries through another gateway.
TEST_F(FailingBackend, ASanitizeThatLostTheBackendAnswersThePathFailingSense) {
  const std::vector<uint8_t> block_erase{0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0};
  f.device->fail_with = EIO;
  auto medium = f.run(*a, block_erase);
  ASSERT_EQ(medium.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(medium.task->sense[2] & 0x0f, 0x03);
  EXPECT_EQ(medium.task->sense[12], 0x31);
  f.device->fail_with = ESHUTDOWN;
  auto lost = f.run(*a, block_erase);  // a new SANITIZE is allowed in the failed state
  ASSERT_EQ(lost.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(lost.task->sense[2] & 0x0f, 0x02);
  EXPECT_EQ(lost.task->sense[12], 0x08);
  EXPECT_TRUE(f.unit->sanitize_state().failed());
}

}  // namespace
}  // namespace portico::scsi
