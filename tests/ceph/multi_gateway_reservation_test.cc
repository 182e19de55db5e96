// Persistent reservations, unit attentions and task aborts across real porticod gateways that
// share one RBD image: what one gateway decides must hold on every other, and a gateway that
// cannot hear the others must never act on stale reservation state.
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <span>
#include <thread>
#include <vector>

#include "tests/ceph/multi_gateway_fixture.h"
#include "tests/ceph/multi_gateway_reservations.h"

namespace portico::testing::mgw {
namespace {

TEST_F(MultiGateway, RegistrationsThroughTwoGatewaysAreVisibleOnBothWithEqualPRgeneration) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->persistent_reserve_out(PrOut::register_key, 0, kKeyA).good());
  ASSERT_TRUE(b->persistent_reserve_out(PrOut::register_key, 0, kKeyB).good());
  auto keys_of = [](Initiator& session) {
    const auto result = session.persistent_reserve_in_read_keys();
    EXPECT_TRUE(result.good()) << "READ KEYS through " << session.portal() << ": " << result.describe();
    auto keys = parse_read_keys(result.data);
    std::sort(keys.keys.begin(), keys.keys.end());
    return keys;
  };
  const auto via_gw1 = keys_of(*a);
  const auto via_gw2 = keys_of(*b);
  const std::vector<uint64_t> both{kKeyA, kKeyB};
  EXPECT_EQ(via_gw1.keys, both) << "READ KEYS through gw1";
  EXPECT_EQ(via_gw2.keys, both) << "READ KEYS through gw2";
  EXPECT_EQ(via_gw1.generation, via_gw2.generation) << "PRgeneration differs between gateways";
  EXPECT_GE(via_gw1.generation, 2u) << "two registrations must have advanced PRgeneration twice";

  // An unregistration through gw1 shows through gw2, one generation later.
  ASSERT_TRUE(a->persistent_reserve_out(PrOut::register_key, kKeyA, 0).good());
  const auto after_gw2 = keys_of(*b);
  const auto after_gw1 = keys_of(*a);
  EXPECT_EQ(after_gw2.keys, std::vector<uint64_t>{kKeyB});
  EXPECT_EQ(after_gw1.keys, std::vector<uint64_t>{kKeyB});
  EXPECT_EQ(after_gw2.generation, via_gw1.generation + 1);
  EXPECT_EQ(after_gw1.generation, after_gw2.generation);
}

TEST_F(MultiGateway, WriteExclusiveTakenThroughGateway1ConflictsAnotherInitiatorsWriteThroughGateway2) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(register_key(*a, kKeyA));
  ASSERT_TRUE(reserve(*a, kKeyA));
  const auto data_b = pattern(3, 100, 2, 8);
  auto unregistered = b->write(100, data_b);
  EXPECT_EQ(unregistered.status, status::kReservationConflict)
      << "an unregistered initiator's WRITE through gw2 got " << unregistered.describe();
  auto read = b->read(100, 8);
  EXPECT_TRUE(read.good()) << "READ is allowed to every initiator under WRITE EXCLUSIVE: " << read.describe();
  ASSERT_TRUE(register_key(*b, kKeyB));
  auto registered = b->write(100, data_b);
  EXPECT_EQ(registered.status, status::kReservationConflict)
      << "a registered non-holder's WRITE through gw2 got " << registered.describe();
  const auto data_a = pattern(3, 100, 1, 8);
  const auto holder = a->write(100, data_a);
  EXPECT_TRUE(holder.good()) << "the holder's WRITE through gw1: " << holder.describe();
  read = b->read(100, 8);
  ASSERT_TRUE(read.good()) << read.describe();
  EXPECT_TRUE(read.data == data_a) << "gw2 does not read what the holder wrote through gw1";
}

TEST_F(MultiGateway, PreemptThroughGateway2RaisesRegistrationsPreemptedForThePreemptedInitiatorOnGateway1) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(holder_and_registrant(*a, *b));
  ASSERT_TRUE(a->test_unit_ready().good()) << "A has a unit attention pending before the preemption";
  const auto preempt = b->persistent_reserve_out(PrOut::preempt, kKeyB, kKeyA, kWriteExclusive);
  ASSERT_TRUE(preempt.good()) << "PREEMPT through gw2: " << preempt.describe();
  // SPC-4 5.12.11.2.3: the preempted I_T nexus gets REGISTRATIONS PREEMPTED on its next command.
  const auto next = a->test_unit_ready();
  EXPECT_TRUE(next.has_sense(sense_key::kUnitAttention, 0x2a, 0x05))
      << "A's next command through gw1 got " << next.describe() << ", want UNIT ATTENTION 2Ah/05h";
  const auto write = a->write(200, pattern(4, 200, 1, 1));
  EXPECT_EQ(write.status, status::kReservationConflict) << "A's WRITE after the preemption: " << write.describe();
  const auto keys = b->persistent_reserve_in_read_keys();
  ASSERT_TRUE(keys.good());
  EXPECT_EQ(parse_read_keys(keys.data).keys, std::vector<uint64_t>{kKeyB});
}

// One PREEMPT AND ABORT against many writes of A in flight through gw1.
struct AbortAttempt {
  int writes = 0;
  int good = 0;
  int aborted = 0;
  int good_after_preempt = 0;  // acknowledged after B's PR OUT had completed
  int held_back = 0;           // Data-Out PDUs A had not sent when B's PR OUT began
  std::vector<std::string> other;
  double preempt_ms = 0;
};

class PreemptAndAbort : public MultiGateway {
 protected:
  static constexpr uint32_t kWriteBlocks = 2048;  // 1 MiB

  std::vector<uint8_t> read_region(Initiator& session, int chunks) {
    std::vector<uint8_t> region;
    for (int i = 0; i < chunks; ++i) {
      const auto read = session.read(static_cast<uint64_t>(i) * kWriteBlocks, kWriteBlocks);
      EXPECT_TRUE(read.good()) << "READ of chunk " << i << ": " << read.describe();
      region.insert(region.end(), read.data.begin(), read.data.end());
      region.resize(static_cast<size_t>(i + 1) * kWriteBlocks * kBlockSize);
    }
    return region;
  }

  // A (holder, through gw1) sends `count` 1 MiB writes and a TEST UNIT READY behind them, without
  // answering any R2T yet. Commands reach the SCSI layer in CmdSN order, so once the TEST UNIT
  // READY has completed gw1 holds every write, each still collecting Data-Out. B then
  // preempts-and-aborts A through gw2 while A sends the data (`racing`: some writes execute in the
  // backend when the abort comes) or only after B's PR OUT has completed (all still collecting).
  void attempt(Initiator& a, Initiator& b, int count, bool racing, uint64_t generation, AbortAttempt& out) {
    ASSERT_TRUE(register_key(b, kKeyB));
    ASSERT_TRUE(b.persistent_reserve_out(PrOut::clear, kKeyB, 0).good()) << "CLEAR before the attempt";
    ASSERT_TRUE(register_key(a, kKeyA));
    ASSERT_TRUE(reserve(a, kKeyA));
    ASSERT_TRUE(register_key(b, kKeyB));

    std::vector<AsyncCommand> writes(static_cast<size_t>(count));
    AsyncCommand barrier;  // TEST UNIT READY
    std::atomic<bool> received{false};
    std::atomic<bool> preempted{false};
    std::thread initiator_a([&] {
      for (int i = 0; i < count; ++i) {
        auto& w = writes[static_cast<size_t>(i)];
        w.lba = static_cast<uint64_t>(i) * kWriteBlocks;
        w.data = pattern(5, w.lba, generation, kWriteBlocks);
        if (!a.submit(&w)) w.done = true;
      }
      if (!a.submit(&barrier)) barrier.done = true;
      const auto deadline = Clock::now() + std::chrono::seconds(120);
      bool alive = true;
      while (alive && a.queued_to_send() > 0 && Clock::now() < deadline) alive = a.poll_once(100, POLLOUT);
      while (alive && !barrier.done && Clock::now() < deadline) alive = a.poll_once(100, POLLIN);
      out.held_back = a.queued_to_send();
      received = true;
      while (!racing && !preempted) std::this_thread::yield();
      while (alive && a.in_flight() > 0 && Clock::now() < deadline) alive = a.poll_once(10);
    });
    while (!received) std::this_thread::yield();
    const auto start = Clock::now();
    const auto preempt = b.persistent_reserve_out(PrOut::preempt_and_abort, kKeyB, kKeyA, kWriteExclusive);
    const auto preempted_at = Clock::now();
    preempted = true;
    out.preempt_ms = ms_since(start);
    initiator_a.join();
    ASSERT_TRUE(preempt.good()) << "PREEMPT AND ABORT through gw2: " << preempt.describe();
    ASSERT_TRUE(barrier.done && barrier.result.good()) << "the TEST UNIT READY behind A's writes: "
                                                       << barrier.result.describe();
    EXPECT_GT(out.held_back, 0) << "no Data-Out was held back: the writes were not in flight";

    out.writes = count;
    for (const auto& w : writes) {
      if (w.done && w.result.good()) {
        ++out.good;
        if (w.completed_at > preempted_at) ++out.good_after_preempt;
      } else if (w.done && w.result.status == status::kTaskAborted) {
        ++out.aborted;
      } else {
        out.other.push_back("lba " + std::to_string(w.lba) + ": " + (w.done ? w.result.describe() : "no answer"));
      }
    }
    std::map<std::string, int> tally;
    for (const auto& w : writes) ++tally[w.done ? w.result.describe() : "no answer"];
    std::string outcomes;
    for (const auto& [outcome, n] : tally) {
      outcomes += ' ';  // not " " + std::to_string(n): a false -Wrestrict from GCC 12 at -O3
      outcomes += std::to_string(n) + " x " + outcome + ";";
    }
    EXPECT_TRUE(out.other.empty()) << out.other.size() << " of A's writes ended neither GOOD nor TASK ABORTED (SAM-5: "
                                   << "a command received before the PREEMPT AND ABORT is aborted), first: "
                                   << out.other.front() << "; outcomes:" << outcomes;

    // Nothing of A lands once the PR OUT has completed, and every acknowledged write is there.
    const auto settled = read_region(b, count);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto later = read_region(b, count);
    const size_t chunk = size_t{kWriteBlocks} * kBlockSize;
    for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
      const auto now = std::span<const uint8_t>(settled).subspan(i * chunk, chunk);
      const auto then = std::span<const uint8_t>(later).subspan(i * chunk, chunk);
      EXPECT_EQ(checksum(now), checksum(then)) << "chunk " << i << " changed after the PREEMPT AND ABORT completed";
      const auto& w = writes[i];
      if (w.done && w.result.good()) {
        EXPECT_TRUE(std::equal(now.begin(), now.end(), w.data.begin(), w.data.end()))
            << "acknowledged write " << i << " is not there";
      }
    }
    const auto next = a.write(0, pattern(5, 0, generation + 100, 1));
    EXPECT_TRUE(next.status == status::kReservationConflict || next.has_sense(sense_key::kUnitAttention, 0x2a))
        << "A's next write through gw1 got " << next.describe();
  }
};

TEST_F(PreemptAndAbort, PreemptAndAbortThroughGateway2AbortsThatInitiatorsOutstandingCommandsOnGateway1) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  for (const bool racing : {false, true}) {
    AbortAttempt result;
    ASSERT_NO_FATAL_FAILURE(attempt(*a, *b, 48, racing, racing ? 2 : 1, result));
    std::printf("[ figures ] PREEMPT AND ABORT (%s): 48 writes of 1 MiB (%d Data-Out PDUs held back), %d GOOD (%d "
                "acknowledged after the PR OUT), %d TASK ABORTED, %zu other; PR OUT took %.1f ms\n",
                racing ? "data sent during the PR OUT" : "data held until the PR OUT completed", result.held_back,
                result.good, result.good_after_preempt, result.aborted, result.other.size(), result.preempt_ms);
    // Held back, every write was provably in flight: some must have been aborted. Racing, all may
    // have finished first; what is checked then is that none ends otherwise and nothing lands late.
    if (!racing) {
      EXPECT_GT(result.aborted, 0) << "no write of A was aborted although all 48 were in flight";
    }
  }
}

TEST_F(MultiGateway, LogicalUnitResetThroughOneGatewayRaisesTheResetUnitAttentionOnAll) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(3));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  auto c = login(3, "host-c");
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(b->test_unit_ready().good() && c->test_unit_ready().good()) << "unit attentions pending before the reset";
  std::string error;
  ASSERT_TRUE(a->lun_reset(&error)) << error;
  for (Initiator* session : {b.get(), c.get()}) {
    const auto next = session->test_unit_ready();
    EXPECT_TRUE(next.has_sense(sense_key::kUnitAttention, 0x29))
        << "the next command through " << session->portal() << " got " << next.describe()
        << ", want UNIT ATTENTION 29h/xx";
    const auto after = session->test_unit_ready();
    EXPECT_TRUE(after.good()) << "the reset unit attention is reported once, then " << after.describe();
  }
}

TEST_F(MultiGateway, AGatewayCutFromRadosNeverServesStaleReservationState) {
  constexpr uint64_t kLba = 4242;
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(holder_and_registrant(*a, *b));
  const auto original = pattern(9, kLba, 1, 8);
  ASSERT_TRUE(a->write(kLba, original).good()) << "the holder's first write";
  const std::string address = gateway_address("gw1");

  gateway(1).pause();  // gw1 can no longer acknowledge events
  const auto start = Clock::now();
  const auto preempt = b->persistent_reserve_out(PrOut::preempt, kKeyB, kKeyA, kWriteExclusive);
  const double preempt_ms = ms_since(start);
  gateway(1).resume();
  ASSERT_TRUE(preempt.good()) << "PREEMPT through gw2 while gw1 is stopped: " << preempt.describe() << " after "
                              << preempt_ms << " ms";

  // gw1 wakes up believing that A holds the reservation: its state is stale and must not be used.
  // Its own lease has run out (the PREEMPT completed only then): it refuses with a path-failing NOT
  // READY without relying on the OSDs' blocklist, unless it has already learned that it was
  // fenced and closed the session.
  std::vector<std::string> answers;
  for (int i = 0; i < 2; ++i) {
    const auto stale = a->write(kLba, pattern(9, kLba, 2 + static_cast<uint64_t>(i), 8));
    answers.push_back(stale.describe());
    EXPECT_FALSE(stale.good()) << "A's write through the fenced gw1 (attempt " << i + 1 << ") returned GOOD";
    const bool by_lease = stale.has_sense(sense_key::kNotReady, 0x08, 0x00);  // LU COMMUNICATION FAILURE
    const bool session_closed = stale.status != status::kCheckCondition && stale.status != status::kGood;
    if (i == 0) {
      EXPECT_TRUE(by_lease || session_closed) << "A's first write through the fenced gw1 reached the OSDs: "
                                              << stale.describe();
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  b->clear_unit_attentions();  // gw1's group is unavailable by now (its heartbeats fail)
  const auto read = b->read(kLba, 8);
  ASSERT_TRUE(read.good()) << read.describe();
  EXPECT_TRUE(read.data == original) << "the data at lba " << kLba << " changed through the fenced gateway";

  std::string error;
  const std::string blocklist = admin_->blocklist(&error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_FALSE(address.empty()) << "no address in gw1's membership record";
  EXPECT_NE(blocklist.find(address), std::string::npos)
      << "gw1's address " << address << " is not in the OSD blocklist: " << blocklist;
  // Once gw1 learns that it was fenced it stops, so that its hosts move to their other paths and
  // a service manager can start a new incarnation (porticod's exit status 75).
  const std::string exit = gateway(1).wait_for_exit(std::chrono::seconds(15));
  EXPECT_EQ(exit, "exit 75") << "gw1 after learning that it was fenced";
  std::printf("[ figures ] fenced PREEMPT through gw2 took %.0f ms (notify timeout %lld ms); A through gw1 then got: "
              "%s; %s; gw1 then: %s\n",
              preempt_ms, static_cast<long long>(ClusterTimings::notify_timeout.count()), answers[0].c_str(),
              answers[1].c_str(), exit.empty() ? "still running" : exit.c_str());
}

// Polls TEST UNIT READY through `session` until `accept` holds for the answer or `limit` passes
// (unit attentions on the way are answers too); returns the last answer.
template <typename Accept>
ScsiResult poll_test_unit_ready(Initiator& session, std::chrono::milliseconds limit, Accept accept) {
  const auto start = Clock::now();
  ScsiResult answer;
  do {
    answer = session.test_unit_ready();
    if (accept(answer)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() - start < limit);
  return answer;
}

// Every gateway loses its only OSD while A holds a WRITE EXCLUSIVE reservation taken through gw1
// and B is registered through gw2. Each gateway must refuse commands (path-failing NOT READY) within
// its lease and answer a write at once rather than hang; once the OSD serves again each must
// re-read the LUN's record before serving, then serve exactly the cluster's state and hear events.
class OsdOutageTest : public MultiGateway {
 protected:
  void run_osd_outage(OsdOutage::Kind kind);
};

void OsdOutageTest::run_osd_outage(OsdOutage::Kind kind) {
  constexpr uint64_t kLba = 777;
  constexpr uint8_t kLogicalUnitCommunicationFailure = 0x08;
  const auto not_ready = [](const ScsiResult& r) {
    return r.has_sense(sense_key::kNotReady, kLogicalUnitCommunicationFailure, 0x00);
  };
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(holder_and_registrant(*a, *b));
  const auto keys_before = b->persistent_reserve_in_read_keys();
  ASSERT_TRUE(keys_before.good()) << keys_before.describe();
  const auto original = pattern(11, kLba, 1, 8);
  ASSERT_TRUE(a->write(kLba, original).good()) << "the holder's first write";

  OsdOutage outage(kind);
  std::string error;
  const auto killed = Clock::now();
  ASSERT_TRUE(outage.begin(&error)) << error;  // after a SIGKILL: once the OSD process is gone
  const double begin_ms = ms_since(killed);
  const auto limit = ClusterTimings::lease + std::chrono::seconds(5);
  double refused_ms[2] = {0, 0};
  Initiator* sessions[2] = {a.get(), b.get()};
  for (int i = 0; i < 2; ++i) {
    const auto answer = poll_test_unit_ready(*sessions[i], limit, not_ready);
    refused_ms[i] = ms_since(killed);
    EXPECT_TRUE(not_ready(answer)) << "gw" << i + 1 << " still answers " << answer.describe() << " "
                                   << refused_ms[i] << " ms into the OSD outage (lease "
                                   << ClusterTimings::lease.count() << " ms)";
  }
  const auto write_start = Clock::now();
  const auto during = a->write(kLba, pattern(11, kLba, 2, 8));
  const double write_ms = ms_since(write_start);
  EXPECT_TRUE(not_ready(during)) << "the holder's write through gw1 during the outage: " << during.describe();
  EXPECT_LT(write_ms, 1000.0) << "a refused write must be answered at once";

  ASSERT_TRUE(outage.end(&error)) << error;
  const auto serving = Clock::now();  // the OSD runs again (after a restart: the pool serves)
  // Back in service once each gateway has re-watched and re-read the LUN's record.
  double back_ms[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const auto answer =
        poll_test_unit_ready(*sessions[i], std::chrono::seconds(60), [](const ScsiResult& r) { return r.good(); });
    back_ms[i] = ms_since(serving);
    EXPECT_TRUE(answer.good()) << "gw" << i + 1 << " after the OSD restart: " << answer.describe();
  }

  // What they serve is the cluster's state: the same keys and PRgeneration on both, A's
  // reservation in force through gw2, and the data as A left it.
  const auto keys1 = a->persistent_reserve_in_read_keys();
  const auto keys2 = b->persistent_reserve_in_read_keys();
  ASSERT_TRUE(keys1.good() && keys2.good()) << keys1.describe() << " / " << keys2.describe();
  EXPECT_EQ(keys1.data, keys_before.data) << "keys or PRgeneration through gw1 changed across the restart";
  EXPECT_EQ(keys2.data, keys_before.data) << "keys or PRgeneration through gw2 changed across the restart";
  const auto conflict = b->write(kLba, pattern(11, kLba, 3, 8));
  EXPECT_EQ(conflict.status, status::kReservationConflict) << "B's write through gw2: " << conflict.describe();
  const auto read = b->read(kLba, 8);
  ASSERT_TRUE(read.good()) << read.describe();
  EXPECT_TRUE(read.data == original) << "lba " << kLba << " holds " << describe_pattern(read.data);

  // Both gateways hear events again: a PREEMPT through gw2 is acknowledged by gw1 (no fencing:
  // well under the notify timeout) and gw1 enforces it at once.
  const auto preempt_start = Clock::now();
  const auto preempt = b->persistent_reserve_out(PrOut::preempt, kKeyB, kKeyA, kWriteExclusive);
  const double preempt_ms = ms_since(preempt_start);
  ASSERT_TRUE(preempt.good()) << "PREEMPT through gw2 after the restart: " << preempt.describe();
  EXPECT_LT(preempt_ms, static_cast<double>(ClusterTimings::notify_timeout.count()))
      << "gw1 did not acknowledge the PREEMPT in time after the OSD restart";
  a->clear_unit_attentions();
  const auto preempted = a->write(kLba, pattern(11, kLba, 4, 8));
  EXPECT_EQ(preempted.status, status::kReservationConflict) << "A's write through gw1 after being preempted: "
                                                            << preempted.describe();
  const std::string address = gateway_address("gw1");
  const std::string blocklist = admin_->blocklist(&error);
  EXPECT_FALSE(address.empty()) << "no address in gw1's membership record";
  EXPECT_EQ(blocklist.find(address), std::string::npos) << "gw1 was fenced: " << blocklist;
  std::printf("[ figures ] %s (the script took %.0f ms): gw1 refusing by %.0f ms, gw2 by %.0f ms (lease %lld ms); "
              "a write refused in %.1f ms; OSD back: gw1 serving by %.0f ms, gw2 by %.0f ms after it; PREEMPT then "
              "took %.1f ms\n",
              outage.name(), begin_ms, refused_ms[0], refused_ms[1], static_cast<long long>(ClusterTimings::lease.count()),
              write_ms, back_ms[0], back_ms[1], preempt_ms);
}

TEST_F(OsdOutageTest, AnOsdCrashAndRestartStopsEveryGatewayUntilItHasReReadTheReservationState) {
  run_osd_outage(OsdOutage::Kind::crash);
}

TEST_F(OsdOutageTest, AFrozenOsdStopsEveryGatewayWithinItsLeaseUntilTheStateIsProvenAgain) {
  run_osd_outage(OsdOutage::Kind::freeze);
}

}  // namespace
}  // namespace portico::testing::mgw
