// Backend errors seen by hosts through real gateways: a gateway whose RADOS client is blocklisted
// answers its I/O with a path-failing NOT READY (never MEDIUM ERROR) and stops serving, so that
// hosts move to the other gateway.
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/ceph/multi_gateway_fixture.h"

namespace portico::testing::mgw {
namespace {

// SPC-4 Annex D: LOGICAL UNIT COMMUNICATION FAILURE, the answer to a lost backend
// (core/scsi/io_error_sense.h).
constexpr uint8_t kCommunicationFailure = 0x08;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(MultiGateway, ABlocklistedGatewayAnswersItsIoWithAPathFailingSenseAndStopsServing) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->write(0, pattern(1, 0, 0, 8)).good()) << "a write through gw1 before the blocklist";
  const std::string address = gateway_address("gw1");
  ASSERT_FALSE(address.empty()) << "no address in gw1's membership record";

  // 16 writes always in flight through gw1 while another party blocklists its RADOS client. The
  // OSD refuses the client's operations and drops its watches at the same moment: a write inside
  // librbd then fails with EBLOCKLISTED and is answered NOT READY, LOGICAL UNIT COMMUNICATION
  // FAILURE; one that arrives after the cluster channel noticed is refused before the backend
  // with the same path-failing sense; and the gateway, told by
  // whichever comes first, closes the session under the rest. Which of them a write meets is a
  // race; none of them is MEDIUM ERROR.
  constexpr size_t kDepth = 16;
  std::vector<AsyncCommand> writes(kDepth);
  uint64_t submitted = 0;
  auto submit = [&](AsyncCommand& write) {
    const uint64_t lba = 4096 + (submitted % 64) * 8;
    write = AsyncCommand{};
    write.lba = lba;
    write.data = pattern(3, lba, submitted++, 8);
    if (!a->submit(&write)) write.done = true;
  };
  for (auto& write : writes) submit(write);
  std::string error;
  bool added = false;
  std::atomic<bool> blocklist_done{false};
  std::thread fencer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the load runs first
    added = admin_->blocklist_add(address, std::chrono::seconds(3600), &error);
    blocklist_done = true;
  });

  int good = 0, good_after = 0, communication_failure = 0, medium_error = 0, no_status = 0;
  std::vector<std::string> other;
  bool alive = true;
  const auto start = Clock::now();
  while (alive && ms_since(start) < 20000) {
    alive = a->poll_once(10);
    for (auto& write : writes) {
      if (!write.done) continue;
      const ScsiResult& r = write.result;
      if (r.good()) {
        ++good;
        if (blocklist_done) ++good_after;
      } else if (r.has_sense(sense_key::kNotReady, kCommunicationFailure, 0x00)) {
        ++communication_failure;  // from the backend, or from the unit once its watch is lost
      } else if (r.has_sense(sense_key::kMediumError)) {
        ++medium_error;
      } else if (r.status != status::kCheckCondition) {
        ++no_status;  // the session closed under it
      } else {
        other.push_back(r.describe());
      }
      if (alive) submit(write);
    }
  }
  fencer.join();
  a.reset();  // ends the commands still outstanding before their slots go
  ASSERT_TRUE(added) << error;
  EXPECT_FALSE(alive) << "gw1 kept its session open for 20 s after it was blocklisted";
  EXPECT_EQ(medium_error, 0) << "a blocklisted gateway answered MEDIUM ERROR";
  // Nothing retried on this path (NOT READY 04/0A would be): every refusal fails the path.
  EXPECT_TRUE(other.empty()) << other.size() << " other answers, the first: " << other.front();
  // Writes queued at the OSD when it takes the map are refused at once, before the gateway has
  // learned from a second round trip (its re-watch) that it was fenced: some are always answered.
  EXPECT_GT(communication_failure, 0) << "no write got NOT READY, LOGICAL UNIT COMMUNICATION FAILURE from the backend";

  // It stops serving: the sessions close and porticod exits 75 for a new incarnation.
  const std::string exit = gateway(1).wait_for_exit(std::chrono::seconds(20));
  EXPECT_EQ(exit, "exit 75") << "gw1 after it was blocklisted";
  if (communication_failure > 0) {
    const std::string log = read_file(gateway(1).log_path());
    EXPECT_NE(log.find("failed: errno 108 ESHUTDOWN"), std::string::npos) << "gw1's log does not name the errno:\n"
                                                                            << gateway(1).log_tail(30);
  }

  // The other gateway serves on: where a host's multipath sends the I/O next.
  ScsiResult moved;
  for (int i = 0; i < 8; ++i) {  // gw1's departure may raise unit attentions here meanwhile
    moved = b->write(4096, pattern(4, 4096, 0, 8));
    if (!moved.has_sense(sense_key::kUnitAttention)) break;
  }
  EXPECT_TRUE(moved.good()) << "the write through gw2: " << moved.describe();
  std::printf("[ figures ] blocklisted gw1 under %zu writes in flight: %d GOOD (%d after the blocklist was in place), %d "
              "NOT READY 08h/00h (backend or lost cluster channel), %d without status (session closed), %d "
              "MEDIUM ERROR; gw1 then %s\n",
              kDepth, good, good_after, communication_failure, no_status, medium_error,
              exit.empty() ? "still running" : exit.c_str());
}

}  // namespace
}  // namespace portico::testing::mgw
