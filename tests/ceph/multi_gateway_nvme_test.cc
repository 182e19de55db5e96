// One RBD image, several porticod gateways, two protocols: an NVMe/TCP host (the project's own,
// tools/nvme_tcp) and a libiscsi initiator, each through its own gateway, on the same unit.
//   - fused Compare + Write through one gateway races COMPARE AND WRITE through another:
//     exactly one winner per round (the backend's atomic compare-and-write, in the OSD);
//   - reservations are one state: an NVMe host's key and a SCSI initiator's are seen by both
//     protocols, a Write Exclusive taken through NVMe conflicts an iSCSI write and the reverse,
//     and a SCSI PREEMPT removes the NVMe host, which learns it from log page 80h;
//   - when a gateway dies, a survivor's ANA log reports its group inaccessible (and its own
//     optimized, with the namespace) once the lease has run out.
#include <barrier>
#include <thread>

#include "core/common/little_endian.h"
#include "core/nvme/async_event.h"
#include "core/nvme/discovery_log.h"
#include "core/nvme/features.h"
#include "core/nvme/log_pages.h"
#include "tests/ceph/multi_gateway_fixture.h"
#include "tools/nvme_tcp/admin_commands.h"
#include "tools/nvme_tcp/controller_session.h"
#include "tools/nvme_tcp/io_commands.h"
#include "tools/nvme_tcp/reservation_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::testing::mgw {
namespace {

namespace host = portico::nvme_host;

// An NVMe host connected to gateway `gateway` with one I/O queue.
std::unique_ptr<host::ControllerSession> nvme_connect(const GatewayProcess& gateway, uint8_t host_byte) {
  host::SessionOptions options;
  options.address = gateway.address();
  options.port = gateway.nvme_port();
  options.subsystem_nqn = kNvmeSubsystem;
  options.host_id[0] = 0x4e;
  options.host_id[15] = host_byte;
  options.host_nqn = "nqn.2014-08.org.nvmexpress:uuid:mgw-host-" + std::to_string(host_byte);
  options.io_queues = 1;
  options.io_queue_depth = 8;
  auto session = host::ControllerSession::open(options);
  EXPECT_TRUE(session.ok()) << "NVMe connect to " << gateway.name() << ": " << session.status().message();
  return session.ok() ? std::move(*session) : nullptr;
}

TEST_F(MultiGateway, NvmeFusedCompareAndWriteAndIscsiCompareAndWriteHaveExactlyOneWinnerPerRound) {
  constexpr int kRounds = 300;
  constexpr uint64_t kLba = 4321;
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto nvme = nvme_connect(gateway(1), 1);
  auto iscsi = login(2, "host-b");
  ASSERT_TRUE(nvme && iscsi);
  std::vector<uint8_t> expected = pattern(9, kLba, 0, 1);
  ASSERT_TRUE(iscsi->write(kLba, expected).good());

  struct Round {
    bool nvme_won = false;
    bool nvme_miscompared = false;
    bool iscsi_won = false;
    bool iscsi_miscompared = false;
    std::string nvme_status;
    std::string iscsi_status;
  };
  std::vector<Round> rounds(kRounds);
  std::barrier start_line(2);
  std::atomic<bool> broken{false};
  // Both racers use the same expected value each round; the next round expects the winner's data.
  std::vector<std::vector<uint8_t>> expected_of(kRounds + 1);
  expected_of[0] = expected;
  std::barrier judge(2, [&]() noexcept {});
  auto round_data = [](int r, int who) { return pattern(9, kLba, static_cast<uint64_t>(r) * 2 + static_cast<uint64_t>(who) + 1, 1); };
  std::thread nvme_racer([&]() {
    for (int r = 0; r < kRounds && !broken; ++r) {
      const auto mine = round_data(r, 0);
      start_line.arrive_and_wait();
      auto done = host::compare_and_write(nvme->io(0), host::LbaRange{1, kLba, 1}, expected_of[static_cast<size_t>(r)],
                                          mine);
      Round& round = rounds[static_cast<size_t>(r)];
      if (!done.ok()) {
        round.nvme_status = "transport: " + done.status().message();
      } else {
        round.nvme_won = done->ok();
        round.nvme_miscompared = done->compare.cqe.status == nvme::CompletionStatus(nvme::MediaStatus::compare_failure).no_retry();
        round.nvme_status = host::describe_status(done->compare.cqe.status) + " / " + host::describe_status(done->write.cqe.status);
      }
      judge.arrive_and_wait();
      judge.arrive_and_wait();  // the iSCSI racer set expected_of[r + 1]
    }
  });
  std::thread iscsi_racer([&]() {
    for (int r = 0; r < kRounds && !broken; ++r) {
      const auto mine = round_data(r, 1);
      start_line.arrive_and_wait();
      const auto result = iscsi->compare_and_write(kLba, expected_of[static_cast<size_t>(r)], mine);
      Round& round = rounds[static_cast<size_t>(r)];
      round.iscsi_won = result.good();
      round.iscsi_miscompared = result.has_sense(sense_key::kMiscompare, 0x1d);
      round.iscsi_status = result.describe();
      judge.arrive_and_wait();
      const int winners = (round.nvme_won ? 1 : 0) + (round.iscsi_won ? 1 : 0);
      if (winners != 1) {
        broken = true;
        expected_of[static_cast<size_t>(r) + 1] = expected_of[static_cast<size_t>(r)];
      } else {
        expected_of[static_cast<size_t>(r) + 1] = round_data(r, round.nvme_won ? 0 : 1);
      }
      judge.arrive_and_wait();
    }
  });
  nvme_racer.join();
  iscsi_racer.join();

  int nvme_wins = 0;
  int played = 0;
  for (int r = 0; r < kRounds; ++r) {
    const Round& round = rounds[static_cast<size_t>(r)];
    if (round.nvme_status.empty() && round.iscsi_status.empty()) break;
    ++played;
    ASSERT_EQ((round.nvme_won ? 1 : 0) + (round.iscsi_won ? 1 : 0), 1)
        << "round " << r << ": NVMe " << round.nvme_status << ", iSCSI " << round.iscsi_status;
    if (round.nvme_won) {
      ++nvme_wins;
      EXPECT_TRUE(round.iscsi_miscompared) << "round " << r << ": the iSCSI loser got " << round.iscsi_status;
    } else {
      EXPECT_TRUE(round.nvme_miscompared) << "round " << r << ": the NVMe loser got " << round.nvme_status;
    }
  }
  EXPECT_EQ(played, kRounds);
  const auto final_block = iscsi->read(kLba, 1);
  EXPECT_TRUE(final_block.good() && final_block.data == expected_of[static_cast<size_t>(played)])
      << "the last winner's data through " << iscsi->portal();
  std::vector<uint8_t> through_nvme(kBlockSize);
  auto read = host::read(nvme->io(0), host::LbaRange{1, kLba, 1}, through_nvme);
  ASSERT_TRUE(read.ok() && read->ok());
  EXPECT_TRUE(through_nvme == expected_of[static_cast<size_t>(played)]) << "the last winner's data through NVMe";
  std::printf("[ figures ] NVMe/iSCSI compare-and-write race: %d rounds, NVMe won %d, iSCSI %d\n", played, nvme_wins,
              played - nvme_wins);
}

TEST_F(MultiGateway, ReservationsThroughNvmeAndIscsiAreOneStateOnEveryGateway) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto nvme = nvme_connect(gateway(1), 2);
  auto iscsi = login(2, "host-b");
  ASSERT_TRUE(nvme && iscsi);
  const auto block = pattern(3, 10, 1, 1);

  auto registered = host::reservation_register(nvme->io(0), {1, host::RegisterAction::register_key, 0, 0xaa});
  ASSERT_TRUE(registered.ok() && registered->ok());
  ASSERT_TRUE(iscsi->persistent_reserve_out(PrOut::register_key, 0, 0xbb).good());
  const auto keys = parse_read_keys(iscsi->persistent_reserve_in_read_keys().data);
  EXPECT_EQ(std::set<uint64_t>(keys.keys.begin(), keys.keys.end()), (std::set<uint64_t>{0xaa, 0xbb}))
      << "READ KEYS through gw2 lists the NVMe host's key and its own";
  auto report = host::reservation_report(nvme->io(0), 1);
  ASSERT_TRUE(report.ok());
  std::set<uint64_t> nvme_keys;
  for (const auto& r : report->registrants) nvme_keys.insert(r.key);
  EXPECT_EQ(nvme_keys, (std::set<uint64_t>{0xaa, 0xbb})) << "Reservation Report through gw1 lists both";

  // Write Exclusive through NVMe: the iSCSI write conflicts, the holder's NVMe write does not.
  auto acquired = host::reservation_acquire(nvme->io(0), {1, host::AcquireAction::acquire, 1, 0xaa, 0});
  ASSERT_TRUE(acquired.ok() && acquired->ok());
  EXPECT_EQ(iscsi->write(10, block).status, status::kReservationConflict);
  auto holder_write = host::write(nvme->io(0), host::LbaRange{1, 10, 1}, block);
  ASSERT_TRUE(holder_write.ok());
  EXPECT_TRUE(holder_write->ok());

  // The SCSI side preempts the NVMe host: its registration goes, its writes conflict, and its
  // controller finds the notice in log page 80h (an asynchronous event announced it).
  ASSERT_TRUE(iscsi->persistent_reserve_out(PrOut::preempt, 0xbb, 0xaa, kWriteExclusive).good());
  auto preempted_write = host::write(nvme->io(0), host::LbaRange{1, 10, 1}, block);
  ASSERT_TRUE(preempted_write.ok());
  EXPECT_EQ(preempted_write->cqe.status, nvme::CompletionStatus(nvme::GenericStatus::reservation_conflict).no_retry());
  host::LogPageArgs notice_args;
  notice_args.lid = static_cast<uint8_t>(nvme::LogPageId::reservation_notification);
  notice_args.length = 64;
  auto notice = host::get_log_page(nvme->admin(), notice_args);
  ASSERT_TRUE(notice.ok()) << notice.status().message();
  EXPECT_EQ((*notice)[8], static_cast<uint8_t>(nvme::ReservationNoticeType::registration_preempted));
  EXPECT_EQ(load_le32(notice->data() + 12), 1u) << "NSID";
  EXPECT_TRUE(iscsi->write(10, block).good()) << "the new holder writes";
  ASSERT_TRUE(iscsi->persistent_reserve_out(PrOut::clear, 0xbb, 0).good());
}

TEST_F(MultiGateway, AnaLogOfASurvivorReportsADeadGatewaysGroupInaccessible) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto through_gw2 = nvme_connect(gateway(2), 3);
  ASSERT_TRUE(through_gw2);
  host::LogPageArgs ana;
  ana.lid = static_cast<uint8_t>(nvme::LogPageId::ana);
  ana.length = 4096;
  // group id -> (state, namespaces) from the ANA log page (NVMe Base 2.0, Asymmetric Namespace Access).
  auto groups = [&]() {
    std::map<uint32_t, std::pair<uint8_t, uint32_t>> out;
    auto page = host::get_log_page(through_gw2->admin(), ana);
    if (!page.ok()) return out;
    const uint16_t count = load_le16(page->data() + 8);
    size_t at = 16;
    for (uint16_t i = 0; i < count && at + 32 <= page->size(); ++i) {
      const uint32_t id = load_le32(page->data() + at);
      const uint32_t nsids = load_le32(page->data() + at + 4);
      out[id] = {(*page)[at + 16], nsids};
      at += 32 + 4 * size_t{nsids};
    }
    return out;
  };
  const auto before = groups();
  ASSERT_EQ(before.size(), 2u) << "one ANA group per gateway";
  ASSERT_EQ(before.at(2).first, 0x1) << "gw2's own group optimized";
  EXPECT_EQ(before.at(2).second, 1u) << "with the namespace";
  EXPECT_EQ(before.at(1).first, 0x1) << "gw1's group optimized while it lives";
  const auto killed = Clock::now();
  gateway(1).kill_hard();
  std::map<uint32_t, std::pair<uint8_t, uint32_t>> after;
  while (ms_since(killed) < 30000) {
    ASSERT_TRUE(through_gw2->keep_alive_if_due().ok());
    after = groups();
    if (after.count(1) != 0 && after.at(1).first == 0x3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(after.count(1), 1u);
  EXPECT_EQ(after.at(1).first, 0x3) << "gw1's group inaccessible after its lease ran out";
  EXPECT_EQ(after.at(2).first, 0x1) << "gw2's group still optimized";
  std::vector<uint8_t> data(kBlockSize);
  auto read = host::read(through_gw2->io(0), host::LbaRange{1, 0, 1}, data);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->ok()) << "the survivor serves the namespace";
  std::printf("[ figures ] gw1's ANA group reported inaccessible by gw2 %.0f ms after the kill (lease %lld ms)\n",
              ms_since(killed), static_cast<long long>(ClusterTimings::lease.count()));
}

TEST_F(MultiGateway, APersistentDiscoveryHostIsToldWhenAGatewayLeaves) {
  // A host that keeps its discovery connection (Linux: `nvme discover --persistent`) enables the
  // Discovery Log Page Change notice and leaves an Asynchronous Event Request outstanding; when a
  // gateway's lease runs out the survivor's discovery log drops its listeners and the AER
  // completes, so the host need not poll.
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  host::SessionOptions options;
  options.address = gateway(2).address();
  options.port = gateway(2).discovery_port();
  options.subsystem_nqn = nvme::kDiscoveryNqn;
  options.host_id[0] = 0x4e;
  options.host_id[15] = 4;
  options.host_nqn = "nqn.2014-08.org.nvmexpress:uuid:mgw-host-4";
  options.io_queues = 0;
  options.keep_alive_ms = 0;
  options.timeout = std::chrono::seconds(30);
  auto session = host::ControllerSession::open(options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto& admin = (*session)->admin();
  ASSERT_TRUE(host::set_features(admin, static_cast<uint8_t>(nvme::FeatureId::async_event_configuration),
                                 nvme::kAecDiscoveryChange)
                  .ok());
  host::LogPageArgs discovery;
  discovery.lid = static_cast<uint8_t>(nvme::LogPageId::discovery);
  discovery.length = 8192;
  auto records = [&]() -> uint64_t {
    auto page = host::get_log_page(admin, discovery);
    EXPECT_TRUE(page.ok()) << page.status().message();
    return page.ok() ? load_le64(page->data() + 8) : 0;
  };
  ASSERT_EQ(records(), 2u) << "one record per live gateway";

  host::Command aer;
  aer.sqe = host::make_sqe(host::admin_opcode::kAsyncEventRequest);
  auto cid = admin.submit(aer);
  ASSERT_TRUE(cid.ok()) << cid.status().message();
  const auto killed = Clock::now();
  gateway(1).kill_hard();
  auto completion = admin.wait(*cid);
  ASSERT_TRUE(completion.ok()) << completion.status().message();
  ASSERT_TRUE(completion->ok());
  const auto event = nvme::decode_async_event(completion->cqe.dw0);
  EXPECT_EQ(event.type, nvme::AsyncEventType::notice);
  EXPECT_EQ(event.info, nvme::kNoticeDiscoveryLogChanged);
  EXPECT_EQ(event.log_page, nvme::LogPageId::discovery);
  const double told_ms = ms_since(killed);
  EXPECT_EQ(records(), 1u) << "the dead gateway's listener is gone";
  std::printf("[ figures ] discovery log change event from gw2 %.0f ms after gw1's kill (lease %lld ms)\n", told_ms,
              static_cast<long long>(ClusterTimings::lease.count()));
}

}  // namespace
}  // namespace portico::testing::mgw
