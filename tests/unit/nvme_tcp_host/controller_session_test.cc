// The controller session and the admin, Fabrics and reservation helpers against the fake
// target: what goes on the wire during association, and what the helpers make of the answers.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/common/little_endian.h"
#include "tests/unit/nvme_tcp_host/host_test_support.h"
#include "tools/nvme_tcp/admin_commands.h"
#include "tools/nvme_tcp/io_commands.h"
#include "tools/nvme_tcp/reservation_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host::test {
namespace {

std::vector<ReceivedCommand> fabrics_of_type(FakeTarget& target, nvme::FabricsType type) {
  std::vector<ReceivedCommand> out;
  for (const auto& c : target.controller().commands()) {
    if (c.sqe.is_fabrics() && c.sqe.raw[4] == static_cast<uint8_t>(type)) out.push_back(c);
  }
  return out;
}

std::string string_at(const std::vector<uint8_t>& data, size_t offset) {
  const auto start = data.begin() + static_cast<std::ptrdiff_t>(offset);
  return std::string(start, std::find(start, data.end(), uint8_t{0}));
}

TEST(ControllerSession, Open_ConnectsTheAdminQueueEnablesThenConnectsIoQueuesWithItsCntlid) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target, 2, 16));
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ((*session)->controller_id(), 0x1234);
  EXPECT_EQ((*session)->io_queue_count(), 2u);
  EXPECT_EQ((*session)->identity().subsystem_nqn, target.config().controller.subsystem_nqn);
  EXPECT_EQ((*session)->identity().in_capsule_data_bytes(), 8192u);
  EXPECT_EQ(target.controller().cc(), 0x00460001u);

  const auto connects = fabrics_of_type(target, nvme::FabricsType::connect);
  ASSERT_EQ(connects.size(), 3u);
  // Admin Connect: QID 0, SQSIZE 31, KATO, data in the capsule with CNTLID FFFFh.
  const auto& admin = connects[0];
  EXPECT_EQ(load_le16(&admin.sqe.raw[42]), 0);
  EXPECT_EQ(load_le16(&admin.sqe.raw[44]), 31);
  EXPECT_EQ(load_le32(&admin.sqe.raw[48]), 10000u);
  EXPECT_EQ(admin.sqe.sgl.identifier, nvme::kSglInCapsule);
  EXPECT_EQ(admin.sqe.sgl.length, 1024u);
  ASSERT_EQ(admin.data.size(), 1024u);
  EXPECT_TRUE(std::equal(kHostId.begin(), kHostId.end(), admin.data.begin()));
  EXPECT_EQ(load_le16(&admin.data[16]), 0xffff);
  EXPECT_EQ(string_at(admin.data, 256), target.config().controller.subsystem_nqn);
  EXPECT_EQ(string_at(admin.data, 512), kHostNqn);
  // I/O Connects: QID 1 and 2, SQSIZE = depth, no KATO, the admin Connect's CNTLID.
  for (uint16_t qid = 1; qid <= 2; ++qid) {
    const auto& io = connects[qid];
    EXPECT_EQ(load_le16(&io.sqe.raw[42]), qid);
    EXPECT_EQ(load_le16(&io.sqe.raw[44]), 16);
    EXPECT_EQ(load_le32(&io.sqe.raw[48]), 0u);
    EXPECT_EQ(load_le16(&io.data[16]), 0x1234);
  }
  // Set Features Number of Queues asked for 2 and 2, 0's based.
  const auto commands = target.controller().commands();
  const auto noq = std::find_if(commands.begin(), commands.end(),
                                [](const ReceivedCommand& c) { return !c.sqe.is_fabrics() && c.sqe.opcode == 0x09; });
  ASSERT_NE(noq, commands.end());
  EXPECT_EQ(noq->sqe.cdw(10), 0x07u);
  EXPECT_EQ(noq->sqe.cdw(11), 0x00010001u);
  EXPECT_TRUE((*session)->close().ok());
}

TEST(ControllerSession, Open_UsesTheQueuesTheControllerGranted) {
  FakeTargetConfig config;
  config.controller.queues_granted = 1;
  FakeTarget target(config);
  auto session = ControllerSession::open(session_options(target, 3));
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ((*session)->io_queue_count(), 1u);
}

TEST(ControllerSession, Open_BoundsTheQueueDepthByMqes) {
  FakeTargetConfig config;
  config.controller.max_queue_entries = 8;
  FakeTarget target(config);
  auto session = ControllerSession::open(session_options(target, 1, 32));
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ((*session)->io(0).depth(), 7);
  EXPECT_EQ(load_le16(&fabrics_of_type(target, nvme::FabricsType::connect)[1].sqe.raw[44]), 7);
}

TEST(ControllerSession, KeepAlive_SendsOpcode18hOnTheAdminQueueWhenDue) {
  FakeTarget target;
  SessionOptions options = session_options(target);
  options.keep_alive_ms = 600;  // due every 300 ms: far from the calls just after one was sent
  auto session = ControllerSession::open(options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  ASSERT_TRUE((*session)->keep_alive().ok());
  EXPECT_EQ(target.controller().keep_alives(), 1u);
  ASSERT_TRUE((*session)->keep_alive_if_due().ok());  // just sent: not due
  EXPECT_EQ(target.controller().keep_alives(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(310));
  ASSERT_TRUE((*session)->keep_alive_if_due().ok());
  EXPECT_EQ(target.controller().keep_alives(), 2u);
  EXPECT_EQ(target.controller().commands().back().sqe.opcode, 0x18);
  EXPECT_EQ(target.controller().commands().back().queue_id, 0);
}

TEST(ControllerSession, Close_DisconnectsEveryIoQueueThenShutsTheControllerDown) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target, 2));
  ASSERT_TRUE(session.ok()) << session.status().message();
  ASSERT_TRUE((*session)->close().ok());
  const auto disconnects = fabrics_of_type(target, nvme::FabricsType::disconnect);
  ASSERT_EQ(disconnects.size(), 2u);
  EXPECT_EQ(disconnects[0].queue_id, 1);
  EXPECT_EQ(disconnects[1].queue_id, 2);
  EXPECT_EQ(target.controller().cc() & (3u << 14), 1u << 14);  // CC.SHN normal
}

TEST(ControllerSession, Connect_ARefusalNamesTheStatusAndTheField) {
  FakeTarget target;
  auto queue = Queue::connect(queue_options(target, 1));
  ASSERT_TRUE(queue.ok());
  ConnectArgs args = connect_args(target, 1);
  args.controller_id = 0x0777;
  auto cntlid = connect(**queue, args);
  ASSERT_FALSE(cntlid.ok());
  EXPECT_NE(cntlid.status().message().find("SCT 0x1 SC 0x82 (Connect Invalid Parameters)"), std::string::npos)
      << cntlid.status().message();
  EXPECT_NE(cntlid.status().message().find("byte 16 of the Connect data"), std::string::npos);
}

TEST(AdminCommands, IdentifyNamespace_GivesTheBlockSizeAndSize) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target));
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto ns = identify_namespace((*session)->admin(), 1);
  ASSERT_TRUE(ns.ok()) << ns.status().message();
  EXPECT_EQ(ns->block_size, 512u);
  EXPECT_EQ(ns->size_blocks, 256u);
  EXPECT_EQ(ns->eui64, (std::array<uint8_t, 8>{0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12}));
  auto missing = identify_namespace((*session)->admin(), 9);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("(Invalid Namespace or Format), DNR"), std::string::npos);
}

TEST(AdminCommands, GetLogPageFeaturesAndAbort_EncodeTheirFieldsAndReadTheAnswers) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target));
  ASSERT_TRUE(session.ok()) << session.status().message();
  Queue& admin = (*session)->admin();

  auto page = get_log_page(admin, LogPageArgs{.lid = 0x02, .offset = 8, .length = 64});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->size(), 64u);
  EXPECT_EQ((*page)[0], 0x02);
  EXPECT_EQ((*page)[63], 63 + 0x02);
  const auto log_sqe = target.controller().commands().back().sqe;
  EXPECT_EQ(log_sqe.nsid, nvme::kBroadcastNsid);
  EXPECT_EQ(log_sqe.cdw(10), 0x02u | (15u << 16));
  EXPECT_EQ(log_sqe.cdw(12), 8u);

  auto value = get_features(admin, 0x0b, nvme::FeatureSelect::supported_capabilities);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 0xabc00000u | 0x0b | (3u << 8));
  ASSERT_TRUE(set_features(admin, 0x0b, 0x900).ok());
  EXPECT_EQ(target.controller().commands().back().sqe.cdw(11), 0x900u);

  auto aborted = abort_command(admin, 1, 7);
  ASSERT_TRUE(aborted.ok());
  EXPECT_FALSE(*aborted);
  EXPECT_EQ(target.controller().commands().back().sqe.cdw(10), 1u | (7u << 16));
}

TEST(ReservationCommands, RegisterAcquireReleaseAndReport_CarryTheirKeysAndActions) {
  FakeTarget target;
  auto session = ControllerSession::open(session_options(target));
  ASSERT_TRUE(session.ok()) << session.status().message();
  Queue& io = (*session)->io(0);

  ASSERT_TRUE(require_success(
                  reservation_register(io, {1, RegisterAction::register_key, 0, 0xfeed, false, PtplChange::set}), "")
                  .ok());
  auto reg = target.controller().commands().back();
  EXPECT_EQ(reg.sqe.opcode, 0x0d);
  EXPECT_EQ(reg.sqe.cdw(10), 3u << 30);
  ASSERT_EQ(reg.data.size(), 16u);
  EXPECT_EQ(load_le64(&reg.data[0]), 0u);
  EXPECT_EQ(load_le64(&reg.data[8]), 0xfeedu);

  ASSERT_TRUE(require_success(reservation_acquire(io, {1, AcquireAction::preempt, 3, 0xfeed, 0xbeef, true}), "").ok());
  auto acq = target.controller().commands().back();
  EXPECT_EQ(acq.sqe.opcode, 0x11);
  EXPECT_EQ(acq.sqe.cdw(10), 1u | (1u << 3) | (3u << 8));
  EXPECT_EQ(load_le64(&acq.data[8]), 0xbeefu);

  ASSERT_TRUE(require_success(reservation_release(io, {1, ReleaseAction::clear, 3, 0xfeed, false}), "").ok());
  auto rel = target.controller().commands().back();
  EXPECT_EQ(rel.sqe.opcode, 0x15);
  EXPECT_EQ(rel.sqe.cdw(10), 1u | (3u << 8));
  ASSERT_EQ(rel.data.size(), 8u);

  auto report = reservation_report(io, 1);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->generation, 7u);
  EXPECT_EQ(report->type, 1);
  EXPECT_TRUE(report->persist_through_power_loss);
  ASSERT_EQ(report->registrants.size(), 1u);
  EXPECT_EQ(report->registrants[0].key, 0xfeedu);
  EXPECT_EQ(report->registrants[0].host_id, kHostId);
  EXPECT_TRUE(report->registrants[0].holds_reservation);
  const auto report_sqe = target.controller().commands().back().sqe;
  EXPECT_EQ(report_sqe.cdw(10), 4096u / 4 - 1);
  EXPECT_EQ(report_sqe.cdw(11), 1u);

  auto compact = reservation_report(io, 1, false);
  ASSERT_FALSE(compact.ok());
  EXPECT_NE(compact.status().message().find("SC 0x18 (Host Identifier Inconsistent Format)"), std::string::npos);
}

}  // namespace
}  // namespace portico::nvme_host::test
