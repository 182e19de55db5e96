// SANITIZE (SBC-3 4.11) is an operation of the logical unit, so of every gateway: while it runs on
// one, medium access through every other is NOT READY, SANITIZE IN PROGRESS; an operation whose
// gateway dies leaves the unit in the failed state everywhere, which EXIT FAILURE MODE through any
// gateway ends.
#include <thread>

#include "tests/ceph/multi_gateway_fixture.h"

namespace portico::testing::mgw {
namespace {

constexpr uint8_t kImmed = 0x80;
constexpr uint8_t kAuse = 0x20;
constexpr uint8_t kBlockErase = 0x02;
constexpr uint8_t kExitFailureMode = 0x1f;

bool sanitizing(const ScsiResult& r) { return r.has_sense(sense_key::kNotReady, 0x04, 0x1b); }
bool sanitize_failed(const ScsiResult& r) { return r.has_sense(sense_key::kMediumError, 0x31, 0x03); }

// A command retried past unit attentions (an access state change raises one on every nexus).
template <typename Command>
ScsiResult past_unit_attentions(Command command) {
  ScsiResult result = command();
  for (int i = 0; i < 8 && result.has_sense(sense_key::kUnitAttention); ++i) result = command();
  return result;
}

class SanitizeAcrossGateways : public MultiGateway {
 protected:
  // gw1 and gw2 with the LUN's sanitize rate `rate`, a session through each (a: gw1, b: gw2)
  // past its power-on unit attention.
  void start_paced(const std::string& rate) {
    ASSERT_NO_FATAL_FAILURE(start_gateways(2, "sanitize_rate: " + rate));
    a = login(1, "host-a");
    b = login(2, "host-b");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(past_unit_attentions([&] { return a->test_unit_ready(); }).good());
    ASSERT_TRUE(past_unit_attentions([&] { return b->test_unit_ready(); }).good());
  }

  // gw1 started again on the same configuration (its previous process is gone). The kernel
  // closes a killed process's listening socket only once its io_uring is torn down, shortly
  // after the exit: until then the portal still accepts, and start() refuses it.
  void restart_gw1(const std::string& rate) {
    const auto yaml = clustered_gateway_yaml(gateway(1), absolute_ceph_conf(), admin_->pool(), image_,
                                             "sanitize_rate: " + rate);
    const auto since = Clock::now();
    std::string error;
    while (!gateway(1).start(yaml, std::chrono::seconds(60), &error)) {
      ASSERT_NE(error.find("already serves"), std::string::npos) << error;
      ASSERT_LT(ms_since(since), 10'000.0) << error;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::unique_ptr<Initiator> a;
  std::unique_ptr<Initiator> b;
};

TEST_F(SanitizeAcrossGateways, OneThroughGw1KeepsGw2NotReadyUntilItEnds) {
  // 64 MiB at 4 MiB/s in 16 MiB steps: about 16 s, long enough for gw1 to store its progress
  // (every 5 s) while it runs.
  ASSERT_NO_FATAL_FAILURE(start_paced("4MiB"));
  const auto data = pattern(5, 1000, 1, 8);
  ASSERT_TRUE(b->write(1000, data).good());

  const auto started = Clock::now();
  const auto sanitize = a->sanitize(kImmed | kBlockErase);
  ASSERT_TRUE(sanitize.good()) << sanitize.describe();
  // The command completed only after every gateway applied the record: gw2 refuses at once.
  const auto read = b->read(1000, 8);
  EXPECT_TRUE(sanitizing(read)) << "READ through gw2 during the sanitize: " << read.describe();
  const auto second = b->sanitize(kImmed | kBlockErase);
  EXPECT_TRUE(sanitizing(second)) << "a second SANITIZE through gw2: " << second.describe();

  ScsiResult ready;
  double ready_ms = 0;
  int progress = -1;  // the highest progress indication gw2 gave
  double progress_ms = 0;
  while (ms_since(started) < 60'000) {
    ready = b->test_unit_ready();
    if (!sanitizing(ready)) break;
    if (ready.sense_specific > progress) {
      progress = ready.sense_specific;
      progress_ms = ms_since(started);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ready_ms = ms_since(started);
  EXPECT_TRUE(ready.good()) << "gw2 after the sanitize: " << ready.describe();
  EXPECT_GT(ready_ms, 8'000.0) << "gw2 served again before the paced sanitize could have ended";
  EXPECT_GT(progress, 0) << "gw2 never showed gw1's progress";
  const auto erased = b->read(1000, 8);
  ASSERT_TRUE(erased.good()) << erased.describe();
  EXPECT_EQ(erased.data, std::vector<uint8_t>(data.size(), 0)) << "gw2 reads " << describe_pattern(erased.data);
  EXPECT_TRUE(a->read(1000, 8).good());
  std::printf("[ figures ] sanitize through gw1: gw2 NOT READY (SANITIZE IN PROGRESS) until %.0f ms after it "
              "started, showing gw1's progress up to %d/65536 (from %.0f ms)\n",
              ready_ms, progress, progress_ms);
}

TEST_F(SanitizeAcrossGateways, OneWhoseGatewayDiesLeavesTheUnitFailedOnTheOthersUntilExitFailureMode) {
  ASSERT_NO_FATAL_FAILURE(start_paced("1MiB"));  // 64 MiB at 1 MiB/s: still running when gw1 is killed
  ASSERT_TRUE(a->sanitize(kImmed | kAuse | kBlockErase).good());
  const auto during = b->read(0, 8);
  ASSERT_TRUE(sanitizing(during)) << "READ through gw2 during the sanitize: " << during.describe();

  const auto killed_at = Clock::now();
  gateway(1).kill_hard();
  ScsiResult read;
  while (ms_since(killed_at) < 30'000) {
    read = past_unit_attentions([&] { return b->read(0, 8); });
    if (!sanitizing(read)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double failed_ms = ms_since(killed_at);
  EXPECT_TRUE(sanitize_failed(read)) << "READ through gw2 after gw1's death: " << read.describe();
  EXPECT_TRUE(b->test_unit_ready().good());  // only medium access is refused in the failed state

  const auto exit = past_unit_attentions([&] { return b->sanitize(kExitFailureMode); });
  EXPECT_TRUE(exit.good()) << "EXIT FAILURE MODE through gw2: " << exit.describe();
  const auto after = b->read(0, 8);
  EXPECT_TRUE(after.good()) << "READ through gw2 after EXIT FAILURE MODE: " << after.describe();

  // gw1 again: it reads the cluster's record, not its memory of the operation.
  ASSERT_NO_FATAL_FAILURE(restart_gw1("1MiB"));
  auto again = login(1, "host-a");
  ASSERT_TRUE(again);
  const auto restarted = past_unit_attentions([&] { return again->read(0, 8); });
  EXPECT_TRUE(restarted.good()) << "READ through the restarted gw1: " << restarted.describe();
  std::printf("[ figures ] sanitize orphaned by kill -9 of gw1: gw2 reported the failed state %.0f ms after the "
              "kill (lease %lld ms)\n",
              failed_ms, static_cast<long long>(ClusterTimings::lease.count()));
}

TEST_F(SanitizeAcrossGateways, OneWhoseGatewayRestartsBeforeAnyoneNoticesIsFailedEverywhereAfterTheRestart) {
  ASSERT_NO_FATAL_FAILURE(start_paced("1MiB"));
  ASSERT_TRUE(a->sanitize(kImmed | kAuse | kBlockErase).good());
  // Killed and back within the lease: gw2 never sees gw1's group unavailable, so only the
  // restarted gw1 can tell that the operation in the record is not running any more.
  const auto killed_at = Clock::now();
  gateway(1).kill_hard();
  ASSERT_NO_FATAL_FAILURE(restart_gw1("1MiB"));
  const double restarted_ms = ms_since(killed_at);
  auto again = login(1, "host-a");
  ASSERT_TRUE(again);
  ScsiResult through_gw1;
  ScsiResult through_gw2;
  while (ms_since(killed_at) < 30'000) {
    through_gw1 = past_unit_attentions([&] { return again->read(0, 8); });
    through_gw2 = past_unit_attentions([&] { return b->read(0, 8); });
    if (!sanitizing(through_gw1) && !sanitizing(through_gw2)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(sanitize_failed(through_gw1)) << "READ through the restarted gw1: " << through_gw1.describe();
  EXPECT_TRUE(sanitize_failed(through_gw2)) << "READ through gw2: " << through_gw2.describe();
  const auto exit = past_unit_attentions([&] { return again->sanitize(kExitFailureMode); });
  EXPECT_TRUE(exit.good()) << "EXIT FAILURE MODE through gw1: " << exit.describe();
  EXPECT_TRUE(past_unit_attentions([&] { return b->read(0, 8); }).good());
  std::printf("[ figures ] gw1 killed mid-sanitize and serving again %.0f ms later; both gateways in the failed "
              "state by %.0f ms\n",
              restarted_ms, ms_since(killed_at));
}

}  // namespace
}  // namespace portico::testing::mgw
