// Cluster events that a gateway cannot decode, across real porticod gateways: what a gateway of
// a newer release publishes (a newer event format, a kind this release does not know) and what a
// gateway of an older release answers to ours. A refused event must never leave a gateway
// serving the state it had, nor a command completing GOOD as if the event held everywhere.
#include <string>
#include <thread>
#include <vector>

#include "tests/ceph/foreign_events.h"
#include "tests/ceph/multi_gateway_fixture.h"
#include "tests/ceph/multi_gateway_reservations.h"

namespace portico::testing::mgw {
namespace {

constexpr uint8_t kAbortedCommand = 0x0b;
constexpr uint8_t kLogicalUnitCommunicationFailure = 0x08;

// What a gateway that cannot vouch for its cluster state answers: NOT READY, LOGICAL UNIT
// COMMUNICATION FAILURE (a path-failing status).
bool not_ready(const ScsiResult& r) { return r.has_sense(sense_key::kNotReady, kLogicalUnitCommunicationFailure, 0x00); }

// `record` (a version 1 reservation record) as a PR OUT CLEAR would leave it: no registrations,
// no reservation, PRgeneration one higher.
std::string cleared(const std::string& record) {
  std::string out;
  size_t start = 0;
  while (start < record.size()) {
    size_t end = record.find('\n', start);
    if (end == std::string::npos) end = record.size();
    const std::string line = record.substr(start, end - start);
    start = end + 1;
    if (line.rfind("registrant ", 0) == 0 || line.rfind("reservation ", 0) == 0) continue;
    if (line.rfind("generation ", 0) == 0) {
      out += "generation " + std::to_string(std::stoull(line.substr(11)) + 1) + "\n";
    } else {
      out += line + "\n";
    }
  }
  return out;
}

// A gateway of a newer release changes the unit's record and announces it with an event of a
// format this release cannot decode. Every gateway refuses it, stops serving the unit before it
// answers, and serves again only what it has re-read: first a record it cannot read either (a
// newer record format: it keeps refusing), then the cleared reservations, which the next command
// through each gateway re-reads.
TEST_F(MultiGateway, AGatewayThatCannotDecodeAnEventStopsServingTheUnitUntilItHasReReadTheState) {
  constexpr uint64_t kLba = 321;
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(holder_and_registrant(*a, *b));
  const auto before = b->write(kLba, pattern(5, kLba, 1, 8));
  ASSERT_EQ(before.status, status::kReservationConflict) << "B's write under A's reservation: " << before.describe();

  std::string error;
  const std::string object = admin_->lun_object(image_, &error);
  ASSERT_FALSE(object.empty()) << error;
  std::string record;
  uint64_t version = 0;
  ASSERT_TRUE(admin_->read_record(object, &record, &version, &error)) << error;
  ASSERT_NE(record.find("reservation "), std::string::npos) << record;

  // The newer gateway's record: a format this release cannot read.
  ASSERT_TRUE(admin_->write_record(object, version, "portico-pr 2\n" + record.substr(record.find('\n') + 1), &error))
      << error;
  const auto answers = notify_and_collect_answers(*admin_->connection(), object,
                                                  std::string("PLEV\x02\x09\x00\x00\x00\x00", 10) + "newer fields");
  ASSERT_EQ(answers.size(), 2u) << "both gateways watch the unit's object";
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.rfind("error: ", 0), 0u) << answer;
    EXPECT_NE(answer.find("format version 2"), std::string::npos) << answer;
  }
  // Each gateway stopped serving before it answered, and cannot re-read: NOT READY, for as long as
  // the record stays unreadable, never an answer from the reservations it had.
  const auto refusing_since = Clock::now();
  int refused = 0;
  while (Clock::now() - refusing_since < std::chrono::milliseconds(1500)) {
    for (Initiator* session : {a.get(), b.get()}) {
      const auto answer = session->write(kLba, pattern(5, kLba, 2, 8));
      ASSERT_TRUE(not_ready(answer)) << "a write through " << session->portal() << " " << ms_since(refusing_since)
                                     << " ms after the refusal: " << answer.describe();
      ++refused;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // The newer gateway cleared the reservations (as PR OUT CLEAR would), in a record this release
  // reads. With no event at all, the next command re-reads it and is served from it: B's write,
  // a conflict under the state the gateways had, is now GOOD.
  ASSERT_TRUE(admin_->write_record(object, version + 1, cleared(record), &error)) << error;
  const auto cleared_at = Clock::now();
  const auto once_served = [&](Initiator& session, uint64_t generation) {
    ScsiResult answer;
    int refusals = 0;
    do {
      answer = session.write(kLba, pattern(5, kLba, generation, 8));
      if (!not_ready(answer)) break;
      ++refusals;  // the command that finds the state stale starts the re-read
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (Clock::now() - cleared_at < std::chrono::seconds(5));
    EXPECT_TRUE(answer.good()) << "a write through " << session.portal() << " after the re-read: "
                               << answer.describe() << " (after " << refusals << " NOT READY)";
  };
  once_served(*b, 3);  // a conflict under the state gw2 had
  once_served(*a, 4);
  const auto keys1 = a->persistent_reserve_in_read_keys();
  const auto keys2 = b->persistent_reserve_in_read_keys();
  ASSERT_TRUE(keys1.good() && keys2.good()) << keys1.describe() << " / " << keys2.describe();
  EXPECT_TRUE(parse_read_keys(keys1.data).keys.empty()) << "gw1 still lists registrations";
  EXPECT_EQ(keys1.data, keys2.data) << "the gateways serve different states";
  std::printf("[ figures ] %d writes refused NOT READY while the state could not be re-read; serving the cleared "
              "state %.0f ms after it was stored\n",
              refused, ms_since(cleared_at));
}

// A watcher that refuses every event (a gateway of an older release) and that cannot be fenced
// (it never registered as a gateway, so its address is unknown): a PR OUT whose event it refused
// fails with a retryable status instead of GOOD, and a LOGICAL UNIT RESET is rejected (it still
// took effect on the gateways that applied it). Once the watcher is gone, the same registration
// completes and holds on both gateways.
TEST_F(MultiGateway, APersistentReserveOutWhoseEventAGatewayRefusedAndNobodyFencedIsNeverGood) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  auto a = login(1, "host-a");
  auto b = login(2, "host-b");
  ASSERT_TRUE(a && b);
  std::string error;
  const std::string object = admin_->lun_object(image_, &error);
  ASSERT_FALSE(object.empty()) << error;
  {
    RefusingWatcher older_release(admin_->connection(), object);
    ASSERT_TRUE(older_release.watching());
    a->clear_unit_attentions();
    const auto registered = a->persistent_reserve_out(PrOut::register_key, 0, kKeyA);
    EXPECT_TRUE(registered.has_sense(kAbortedCommand, kLogicalUnitCommunicationFailure))
        << "REGISTER through gw1 while a watcher refuses its event: " << registered.describe();
    EXPECT_FALSE(b->lun_reset(&error)) << "a LOGICAL UNIT RESET through gw2 completed while a watcher refused it";
    EXPECT_GE(older_release.refused(), 2);
  }
  ASSERT_TRUE(register_key(*a, kKeyA));
  b->clear_unit_attentions();  // the reset took effect on every gateway that applied it
  const auto keys = b->persistent_reserve_in_read_keys();
  ASSERT_TRUE(keys.good()) << keys.describe();
  EXPECT_EQ(parse_read_keys(keys.data).keys, std::vector<uint64_t>{kKeyA});
}

}  // namespace
}  // namespace portico::testing::mgw
