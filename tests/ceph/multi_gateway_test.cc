// Several real porticod gateways serving one RBD image active/active, driven by libiscsi
// initiators: data, COMPARE AND WRITE atomicity across gateways, the loss of a gateway under load
// and ALUA reporting. Reservation behaviour is in multi_gateway_reservation_test.cc.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "tests/ceph/multi_gateway_fixture.h"

namespace portico::testing::mgw {
namespace {

TEST_F(MultiGateway, DataWrittenThroughOneGatewayReadsBackThroughTheOther) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  struct Extent {
    uint64_t lba;
    uint32_t blocks;
  };
  // Unaligned and aligned, small and large, across RBD's 4 MiB objects, and the last block.
  const Extent extents[] = {{0, 1},     {1, 7},       {8, 8},        {1000, 256},
                            {8191, 2},  {16384, 2048}, {40000, 1111}, {kImageBlocks - 2049, 2048},
                            {kImageBlocks - 1, 1}};
  for (int direction = 0; direction < 2; ++direction) {
    Initiator& writer = direction == 0 ? *a : *b;
    Initiator& reader = direction == 0 ? *b : *a;
    for (const auto& extent : extents) {
      const auto data = pattern(1, extent.lba, static_cast<uint64_t>(direction), extent.blocks);
      const auto written = writer.write(extent.lba, data);
      ASSERT_TRUE(written.good()) << "WRITE(16) lba " << extent.lba << " x" << extent.blocks << " through "
                                  << writer.portal() << ": " << written.describe();
      const auto read = reader.read(extent.lba, extent.blocks);
      ASSERT_TRUE(read.good()) << "READ(16) through " << reader.portal() << ": " << read.describe();
      EXPECT_EQ(checksum(read.data), checksum(data))
          << "lba " << extent.lba << " x" << extent.blocks << " written through " << writer.portal()
          << " reads back differently through " << reader.portal();
      EXPECT_TRUE(read.data == data);
    }
  }
}

// Two initiators on two gateways race COMPARE AND WRITE on one block, round after round: each
// first reads the round's expected old value through its own gateway, then both send CAW with
// that old value and their own new value. Exactly one may win.
TEST_F(MultiGateway, ConcurrentCompareAndWriteThroughTwoGatewaysHasExactlyOneWinnerPerRound) {
  constexpr int kRounds = 300;
  constexpr uint64_t kLba = 777;
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  std::array<std::unique_ptr<Initiator>, 2> sessions{login(1, "host-a"), login(2, "host-b")};
  ASSERT_TRUE(sessions[0] && sessions[1]);
  std::vector<uint8_t> expected = pattern(7, kLba, 0, 1);
  ASSERT_TRUE(sessions[0]->write(kLba, expected).good());

  struct Round {
    std::array<ScsiResult, 2> caw;
    std::array<bool, 2> read_matched{};
    int winner = -1;
    double ms = 0;
  };
  std::vector<Round> rounds(kRounds);
  std::atomic<int> round{0};
  std::atomic<bool> stop{false};
  Clock::time_point round_start;
  uint64_t phase = 0;
  // Odd phases end a round: judge it and move `expected` to the winner's data.
  auto on_phase = [&]() noexcept {
    if (phase++ % 2 == 0) {
      round_start = Clock::now();
      return;
    }
    Round& r = rounds[static_cast<size_t>(round.load())];
    r.ms = ms_since(round_start);
    const int good = (r.caw[0].good() ? 1 : 0) + (r.caw[1].good() ? 1 : 0);
    if (good == 1) {
      r.winner = r.caw[0].good() ? 0 : 1;
      expected = pattern(7, kLba, static_cast<uint64_t>(round.load()) * 2 + static_cast<uint64_t>(r.winner) + 1, 1);
    }
    if (good != 1 || round.load() + 1 == kRounds) stop = true;
    if (!stop) round.fetch_add(1);
  };
  std::barrier sync(2, on_phase);
  auto racer = [&](size_t me) {
    while (true) {
      const auto r = static_cast<size_t>(round.load());
      const auto seen = sessions[me]->read(kLba, 1);
      rounds[r].read_matched[me] = seen.good() && seen.data == expected;
      const auto mine = pattern(7, kLba, r * 2 + me + 1, 1);
      const auto old_value = expected;
      sync.arrive_and_wait();  // the start line
      rounds[r].caw[me] = sessions[me]->compare_and_write(kLba, old_value, mine);
      sync.arrive_and_wait();  // judged in on_phase
      if (stop) return;
    }
  };
  std::thread first(racer, size_t{0}), second(racer, size_t{1});
  first.join();
  second.join();

  const int played = round.load() + 1;
  EXPECT_EQ(played, kRounds) << "the race stopped early";
  std::array<int, 2> wins{};
  double total_ms = 0, worst_ms = 0;
  for (int i = 0; i < played; ++i) {
    const Round& r = rounds[static_cast<size_t>(i)];
    EXPECT_TRUE(r.read_matched[0] && r.read_matched[1]) << "round " << i << ": the expected old value is not what "
                                                        << (r.read_matched[0] ? "gw2" : "gw1") << " reads";
    ASSERT_NE(r.winner, -1) << "round " << i << ": gw1 " << r.caw[0].describe() << ", gw2 " << r.caw[1].describe()
                            << " (want exactly one GOOD and one MISCOMPARE)";
    const ScsiResult& loser = r.caw[r.winner == 0 ? 1 : 0];
    EXPECT_TRUE(loser.has_sense(sense_key::kMiscompare, 0x1d))
        << "round " << i << ": the loser got " << loser.describe() << ", want MISCOMPARE 1Dh/00h";
    ++wins[static_cast<size_t>(r.winner)];
    total_ms += r.ms;
    worst_ms = std::max(worst_ms, r.ms);
  }
  for (auto& session : sessions) {
    const auto final_block = session->read(kLba, 1);
    EXPECT_TRUE(final_block.good() && final_block.data == expected) << "the last winner's data through "
                                                                    << session->portal();
  }
  std::printf("[ figures ] CAW race: %d rounds, wins gw1 %d / gw2 %d, round (both CAWs) mean %.2f ms, worst %.2f ms\n",
              played, wins[0], wins[1], total_ms / played, worst_ms);
}

// Writers through gw1 and gw2 on disjoint ranges remember every acknowledged write; gw1 is
// SIGKILLed mid-load; gw2 must keep acknowledging, and everything acknowledged must read back.
TEST_F(MultiGateway, KillOfAGatewayUnderWriteLoadLeavesTheSurvivorServingAndEveryAcknowledgedWriteReadable) {
  constexpr uint32_t kBlocks = 16;  // 8 KiB per write
  constexpr uint64_t kSlots = 256;
  const std::array<uint64_t, 2> base{0, kImageBlocks / 2};
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  std::array<std::unique_ptr<Initiator>, 2> writers{login(1, "host-a"), login(2, "host-b")};
  ASSERT_TRUE(writers[0] && writers[1]);

  struct Log {
    std::map<uint64_t, uint64_t> acked;    // slot -> generation last acknowledged
    std::map<uint64_t, uint64_t> pending;  // slot -> generation sent but never acknowledged
    std::vector<Clock::time_point> ack_times;
    std::vector<std::string> failures;
    std::vector<std::pair<Clock::time_point, ScsiResult>> unit_attentions;  // each write retried
  };
  std::array<Log, 2> logs;
  std::atomic<bool> stop{false};
  auto writer = [&](size_t me) {
    for (uint64_t generation = 1; !stop; ++generation) {
      const uint64_t slot = (generation * 37) % kSlots;
      const uint64_t lba = base[me] + slot * kBlocks;
      Log& log = logs[me];
      // A unit attention (gw1's group changing state) means the write was not executed: the
      // initiator sends it again, as every host does.
      auto result = writers[me]->write(lba, pattern(8 + me, lba, generation, kBlocks));
      for (int retry = 0; retry < 4 && result.has_sense(sense_key::kUnitAttention); ++retry) {
        log.unit_attentions.emplace_back(Clock::now(), result);
        result = writers[me]->write(lba, pattern(8 + me, lba, generation, kBlocks));
      }
      if (result.good()) {
        log.acked[slot] = generation;
        log.pending.erase(slot);
        log.ack_times.push_back(Clock::now());
      } else {
        log.pending[slot] = generation;
        log.failures.push_back(result.describe());
        if (me == 0 || log.failures.size() > 20) return;  // gw1's session ends with its gateway
      }
    }
  };
  std::thread w1(writer, size_t{0}), w2(writer, size_t{1});
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto killed_at = Clock::now();
  gateway(1).kill_hard();
  std::this_thread::sleep_for(std::chrono::seconds(8));
  stop = true;
  w1.join();
  w2.join();

  EXPECT_GT(logs[0].acked.size(), 0u) << "no write was acknowledged through gw1 before the kill";
  EXPECT_TRUE(logs[1].failures.empty()) << "gw2 failed writes after gw1's death, first: " << logs[1].failures.front();
  // The longest time gw2 acknowledged nothing, from one second before the kill on.
  double stall_ms = 0;
  size_t after_kill = 0;
  Clock::time_point previous = killed_at - std::chrono::seconds(1);
  for (const auto& t : logs[1].ack_times) {
    if (t < previous) continue;
    stall_ms = std::max(stall_ms, std::chrono::duration<double, std::milli>(t - previous).count());
    previous = t;
    if (t > killed_at) ++after_kill;
  }
  EXPECT_GT(after_kill, 100u) << "gw2 acknowledged only " << after_kill << " writes in the 8 s after gw1's death";
  // gw1's group became unavailable: gw2 tells its initiator with ASYMMETRIC ACCESS STATE CHANGED.
  double access_change_ms = -1;
  for (const auto& [at, answer] : logs[1].unit_attentions) {
    if (at > killed_at && answer.has_sense(sense_key::kUnitAttention, 0x2a, 0x06)) {
      access_change_ms = std::chrono::duration<double, std::milli>(at - killed_at).count();
      break;
    }
  }
  EXPECT_GE(access_change_ms, 0.0) << "gw2 raised no ASYMMETRIC ACCESS STATE CHANGED after gw1's death ("
                                   << logs[1].unit_attentions.size() << " unit attentions)";
  EXPECT_LT(stall_ms, 5000.0) << "gw2 stalled after gw1's death";

  auto checker = login(2, "host-c");
  ASSERT_TRUE(checker);
  size_t checked = 0;
  for (size_t me = 0; me < 2; ++me) {
    for (const auto& [slot, generation] : logs[me].acked) {
      const uint64_t lba = base[me] + slot * kBlocks;
      const auto read = checker->read(lba, kBlocks);
      ASSERT_TRUE(read.good()) << "READ through gw2: " << read.describe();
      bool ok = read.data == pattern(8 + me, lba, generation, kBlocks);
      const auto pending = logs[me].pending.find(slot);
      if (!ok && pending != logs[me].pending.end()) {
        ok = read.data == pattern(8 + me, lba, pending->second, kBlocks);  // sent, never acknowledged
      }
      EXPECT_TRUE(ok) << "gw" << me + 1 << " acknowledged generation " << generation << " at lba " << lba
                      << ", which now reads back as " << describe_pattern(read.data);
      ++checked;
    }
  }
  std::printf("[ figures ] kill under load: gw1 acked %zu slots, gw2 %zu writes (%zu after the kill), "
              "longest gw2 gap around the kill %.1f ms; ASYMMETRIC ACCESS STATE CHANGED on gw2 %.0f ms after the "
              "kill (lease %lld ms); %zu acknowledged extents verified\n",
              logs[0].acked.size(), logs[1].ack_times.size(), after_kill, stall_ms, access_change_ms,
              static_cast<long long>(ClusterTimings::lease.count()), checked);
}

// REPORT TARGET PORT GROUPS, retried past unit attentions (an access state change raises one).
ScsiResult report_groups(Initiator& session) {
  ScsiResult result;
  for (int i = 0; i < 8; ++i) {
    result = session.report_target_port_groups();
    if (!result.has_sense(sense_key::kUnitAttention)) break;
  }
  return result;
}

int state_of(const std::vector<PortGroupState>& groups, int id) {
  for (const auto& group : groups) {
    if (group.id == id) return group.state;
  }
  return -1;
}

TEST_F(MultiGateway, ReportTargetPortGroupsListsEveryLiveGatewayAndADeadOneAsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(3));
  std::array<std::unique_ptr<Initiator>, 3> sessions{login(1, "host-a"), login(2, "host-b"), login(3, "host-c")};
  ASSERT_TRUE(sessions[0] && sessions[1] && sessions[2]);
  std::array<DeviceIdentification, 3> ids;
  for (size_t i = 0; i < 3; ++i) {
    const auto page = sessions[i]->inquiry_vpd(0x83);
    ASSERT_TRUE(page.good()) << "VPD 83h through gw" << i + 1 << ": " << page.describe();
    ids[i] = parse_device_identification(page.data);
    EXPECT_FALSE(ids[i].naa.empty()) << "no NAA designator through gw" << i + 1;
    EXPECT_NE(ids[i].target_port_group, -1) << "no target port group designator through gw" << i + 1;
  }
  EXPECT_EQ(ids[0].naa, ids[1].naa) << "the NAA designator differs between gw1 and gw2";
  EXPECT_EQ(ids[0].naa, ids[2].naa) << "the NAA designator differs between gw1 and gw3";
  const std::set<int> distinct{ids[0].target_port_group, ids[1].target_port_group, ids[2].target_port_group};
  EXPECT_EQ(distinct.size(), 3u) << "gateways share a target port group";

  // A gateway learns of the others from their heartbeats: every group shows within a lease.
  ScsiResult groups_result;
  std::vector<PortGroupState> groups;
  const auto started = Clock::now();
  auto all_active = [&] {
    for (const auto& id : ids) {
      if (state_of(groups, id.target_port_group) != 0) return false;
    }
    return true;
  };
  while (true) {
    groups_result = report_groups(*sessions[1]);
    ASSERT_TRUE(groups_result.good()) << "REPORT TARGET PORT GROUPS through gw2: " << groups_result.describe();
    groups = parse_target_port_groups(groups_result.data);
    if (all_active() || Clock::now() > started + ClusterTimings::lease) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double listed_after_ms = ms_since(started);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(state_of(groups, ids[i].target_port_group), 0)
        << "gw" << i + 1 << "'s group " << ids[i].target_port_group << " through gw2 (-1: not listed)";
    for (const auto& group : groups) {
      if (group.id != ids[i].target_port_group) continue;
      const auto& ports = group.relative_ports;
      EXPECT_NE(std::find(ports.begin(), ports.end(), ids[i].relative_target_port), ports.end())
          << "gw" << i + 1 << "'s relative port " << ids[i].relative_target_port << " is not in its group";
    }
  }

  gateway(3).kill_hard();
  const auto killed_at = Clock::now();
  const auto deadline = killed_at + ClusterTimings::lease + std::chrono::seconds(5);
  int gw3_state = 0;
  while (Clock::now() < deadline) {
    groups_result = report_groups(*sessions[1]);
    ASSERT_TRUE(groups_result.good()) << groups_result.describe();
    groups = parse_target_port_groups(groups_result.data);
    gw3_state = state_of(groups, ids[2].target_port_group);
    if (gw3_state == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double unavailable_after_ms = ms_since(killed_at);
  EXPECT_EQ(gw3_state, 3) << "gw3's group is still reported in state " << gw3_state << " "
                          << unavailable_after_ms << " ms after its death (lease " << ClusterTimings::lease.count()
                          << " ms)";
  EXPECT_EQ(state_of(groups, ids[0].target_port_group), 0) << "gw1's group";
  EXPECT_EQ(state_of(groups, ids[1].target_port_group), 0) << "gw2's group";
  const auto through_gw1 = report_groups(*sessions[0]);
  ASSERT_TRUE(through_gw1.good()) << through_gw1.describe();
  EXPECT_EQ(state_of(parse_target_port_groups(through_gw1.data), ids[2].target_port_group), 3)
      << "gw1 still reports gw3's group as available";
  std::printf("[ figures ] every group active through gw2 %.0f ms after the logins; gw3 reported unavailable %.0f ms "
              "after SIGKILL (lease %lld ms)\n",
              listed_after_ms, unavailable_after_ms, static_cast<long long>(ClusterTimings::lease.count()));
}

}  // namespace
}  // namespace portico::testing::mgw
