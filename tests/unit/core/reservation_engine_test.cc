// The persistent reservation engine, driven from SPC-4's tables: the access table for every
// type x (holder, registrant, other) x (read, write), and the PERSISTENT RESERVE OUT rules.
#include <gtest/gtest.h>

#include <array>

#include "core/scsi/reservations/access_rules.h"
#include "core/scsi/reservations/persistent_reserve_in.h"
#include "core/scsi/reservations/persistent_reserve_out.h"
#include "core/common/big_endian.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

const std::array<uint8_t, 16> kRead10{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
const std::array<uint8_t, 16> kWrite10{0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
const std::array<uint8_t, 16> kInquiry{0x12, 0, 0, 0, 36, 0};

PrOutRequest request(PrOutAction action, uint64_t key, uint64_t sa_key, uint8_t type = 0) {
  PrOutRequest r;
  r.action = action;
  r.key = key;
  r.service_action_key = sa_key;
  r.type = type;
  return r;
}

struct World {
  ItNexus holder = testing::make_nexus("iqn.holder");
  ItNexus registrant = testing::make_nexus("iqn.registrant");
  ItNexus other = testing::make_nexus("iqn.other");
  ReservationState state;

  explicit World(ReservationType type) {
    EXPECT_TRUE(apply_persistent_reserve_out(state, holder, request(PrOutAction::register_key, 0, 0xa)).changed);
    EXPECT_TRUE(apply_persistent_reserve_out(state, registrant, request(PrOutAction::register_key, 0, 0xb)).changed);
    auto reserved = apply_persistent_reserve_out(state, holder,
                                                 request(PrOutAction::reserve, 0xa, 0, static_cast<uint8_t>(type)));
    EXPECT_EQ(reserved.status, ScsiStatus::good);
  }
};

struct AccessRow {
  ReservationType type;
  bool registrant_read_conflicts, registrant_write_conflicts, other_read_conflicts, other_write_conflicts;
};

// SPC-4 5.12.1 Table 59 (holder never conflicts).
const AccessRow kAccessTable[] = {
    {ReservationType::write_exclusive, false, true, false, true},
    {ReservationType::exclusive_access, true, true, true, true},
    {ReservationType::write_exclusive_registrants_only, false, false, false, true},
    {ReservationType::exclusive_access_registrants_only, false, false, true, true},
    {ReservationType::write_exclusive_all_registrants, false, false, false, true},
    {ReservationType::exclusive_access_all_registrants, false, false, true, true},
};

TEST(ReservationAccess, EveryTypeForHolderRegistrantAndOther) {
  for (const auto& row : kAccessTable) {
    SCOPED_TRACE(static_cast<int>(row.type));
    World w(row.type);
    EXPECT_FALSE(reservation_conflict(w.state, w.holder, kRead10));
    EXPECT_FALSE(reservation_conflict(w.state, w.holder, kWrite10));
    EXPECT_EQ(reservation_conflict(w.state, w.registrant, kRead10), row.registrant_read_conflicts);
    EXPECT_EQ(reservation_conflict(w.state, w.registrant, kWrite10), row.registrant_write_conflicts);
    EXPECT_EQ(reservation_conflict(w.state, w.other, kRead10), row.other_read_conflicts);
    EXPECT_EQ(reservation_conflict(w.state, w.other, kWrite10), row.other_write_conflicts);
    EXPECT_FALSE(reservation_conflict(w.state, w.other, kInquiry));
  }
}

TEST(PersistentReserveOut, RegisterWithWrongKeyConflictsAndGenerationCounts) {
  ReservationState state;
  auto nexus = testing::make_nexus("iqn.a");
  EXPECT_EQ(apply_persistent_reserve_out(state, nexus, request(PrOutAction::register_key, 5, 7)).status,
            ScsiStatus::reservation_conflict);
  EXPECT_EQ(state.generation, 0u);
  apply_persistent_reserve_out(state, nexus, request(PrOutAction::register_key, 0, 7));
  EXPECT_EQ(state.generation, 1u);
  EXPECT_EQ(apply_persistent_reserve_out(state, nexus, request(PrOutAction::register_key, 8, 9)).status,
            ScsiStatus::reservation_conflict);
  apply_persistent_reserve_out(state, nexus, request(PrOutAction::register_and_ignore_existing_key, 0, 9));
  EXPECT_EQ(state.registrants.at(0).key, 9u);
  EXPECT_EQ(state.generation, 2u);
}

TEST(PersistentReserveOut, UnregisteringTheHolderReleasesARegistrantsOnlyReservationWithUnitAttention) {
  World w(ReservationType::write_exclusive_registrants_only);
  auto out = apply_persistent_reserve_out(w.state, w.holder, request(PrOutAction::register_key, 0xa, 0));
  EXPECT_FALSE(w.state.reservation.has_value());
  ASSERT_EQ(out.notices.size(), 1u);
  EXPECT_EQ(out.notices[0].first.initiator, w.registrant.initiator_port_name);
  EXPECT_EQ(out.notices[0].second, Notice::reservations_released);
}

TEST(PersistentReserveOut, ReserveByAnotherRegistrantConflictsAndSameTypeByHolderIsGood) {
  World w(ReservationType::write_exclusive);
  EXPECT_EQ(apply_persistent_reserve_out(w.state, w.registrant, request(PrOutAction::reserve, 0xb, 0, 1)).status,
            ScsiStatus::reservation_conflict);
  EXPECT_EQ(apply_persistent_reserve_out(w.state, w.holder, request(PrOutAction::reserve, 0xa, 0, 1)).status,
            ScsiStatus::good);
  EXPECT_EQ(apply_persistent_reserve_out(w.state, w.holder, request(PrOutAction::reserve, 0xa, 0, 3)).status,
            ScsiStatus::reservation_conflict);
}

TEST(PersistentReserveOut, ReleaseWithWrongTypeIsInvalidRelease) {
  World w(ReservationType::write_exclusive);
  auto out = apply_persistent_reserve_out(w.state, w.holder, request(PrOutAction::release, 0xa, 0, 3));
  ASSERT_EQ(out.status, ScsiStatus::check_condition);
  EXPECT_EQ(out.sense->asc, (Asc{0x26, 0x04}));
  EXPECT_TRUE(w.state.reservation.has_value());
  // A registrant that does not hold it releases nothing, successfully.
  EXPECT_EQ(apply_persistent_reserve_out(w.state, w.registrant, request(PrOutAction::release, 0xb, 0, 1)).status,
            ScsiStatus::good);
  EXPECT_TRUE(w.state.reservation.has_value());
}

TEST(PersistentReserveOut, ClearRemovesEverythingAndPreemptsOthers) {
  World w(ReservationType::exclusive_access);
  auto out = apply_persistent_reserve_out(w.state, w.registrant, request(PrOutAction::clear, 0xb, 0));
  EXPECT_TRUE(w.state.registrants.empty());
  EXPECT_FALSE(w.state.reservation.has_value());
  ASSERT_EQ(out.notices.size(), 1u);
  EXPECT_EQ(out.notices[0].second, Notice::reservations_preempted);
}

TEST(PersistentReserveOut, PreemptOfTheHolderMovesTheReservationAndPreemptsItsRegistration) {
  World w(ReservationType::write_exclusive);
  auto out = apply_persistent_reserve_out(w.state, w.registrant, request(PrOutAction::preempt_and_abort, 0xb, 0xa, 3));
  ASSERT_EQ(out.status, ScsiStatus::good);
  EXPECT_TRUE(w.state.is_holder(w.registrant));
  EXPECT_EQ(w.state.reservation->type, ReservationType::exclusive_access);
  EXPECT_FALSE(w.state.is_registered(w.holder));
  ASSERT_EQ(out.abort.size(), 1u);
  EXPECT_EQ(out.abort[0].initiator, w.holder.initiator_port_name);
  EXPECT_EQ(out.notices[0].second, Notice::registrations_preempted);
}

TEST(PersistentReserveOut, PreemptOfAnUnknownKeyConflicts) {
  World w(ReservationType::write_exclusive);
  EXPECT_EQ(apply_persistent_reserve_out(w.state, w.registrant, request(PrOutAction::preempt, 0xb, 0x77, 1)).status,
            ScsiStatus::reservation_conflict);
}

TEST(PersistentReserveOut, AllRegistrantsPreemptWithKeyZeroTakesOver) {
  World w(ReservationType::write_exclusive_all_registrants);
  EXPECT_TRUE(w.state.is_holder(w.registrant));
  apply_persistent_reserve_out(w.state, w.registrant, request(PrOutAction::preempt, 0xb, 0, 1));
  EXPECT_EQ(w.state.registrants.size(), 1u);
  EXPECT_TRUE(w.state.is_holder(w.registrant));
  EXPECT_EQ(w.state.reservation->type, ReservationType::write_exclusive);
}

TEST(PersistentReserveIn, ReadKeysAndReadReservationReportGenerationKeysAndType) {
  World w(ReservationType::exclusive_access_registrants_only);
  auto keys = persistent_reserve_in_data(w.state, 0);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(load_be32(keys->data()), w.state.generation);
  EXPECT_EQ(load_be32(keys->data() + 4), 16u);
  EXPECT_EQ(load_be64(keys->data() + 8), 0xau);
  auto reservation = persistent_reserve_in_data(w.state, 1);
  EXPECT_EQ(load_be32(reservation->data() + 4), 16u);
  EXPECT_EQ(load_be64(reservation->data() + 8), 0xau);
  EXPECT_EQ((*reservation)[21], 0x06);
  EXPECT_FALSE(persistent_reserve_in_data(w.state, 9).has_value());
}

TEST(ReservationState, SerializeParseRoundTrip) {
  World w(ReservationType::write_exclusive_registrants_only);
  w.state.aptpl = true;
  w.state.registrants[1].transport_id = {1, 2, 3};
  auto parsed = parse_reservation_state(serialize(w.state));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, w.state);
  EXPECT_FALSE(parse_reservation_state("bogus 1\n").ok());
}

TEST(ReservationState, TheSanitizeStateRoundTripsAndAMalformedOneNamesItsLine) {
  ReservationState state;
  state.sanitize = SharedSanitize{true, true, 3, 0x8000};
  auto parsed = parse_reservation_state(serialize(state));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, state);
  state.sanitize = SharedSanitize{false, false, 65535, 0};
  parsed = parse_reservation_state(serialize(state));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, state);
  for (const char* bad : {"sanitize paused 0 1 0", "sanitize running 2 1 0", "sanitize running 0 65536 0",
                          "sanitize failed 1 1", "sanitize running 0 1 70000"}) {
    auto result = parse_reservation_state(std::string("portico-pr 1\n") + bad + "\n");
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_NE(result.status().message().find("line 2"), std::string::npos) << result.status().message();
  }
}

TEST(ReservationsThroughTheTarget, WriteExclusiveConflictsOtherInitiatorsAndPreemptAndAbortEndsTheirTasks) {
  testing::TargetFixture f;
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  auto b = f.target.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*a);
  f.clear_ua(*b);
  EXPECT_EQ(f.pr_out(*a, 0, 0, 0, 0xaa).task->status, ScsiStatus::good);
  EXPECT_EQ(f.pr_out(*b, 0, 0, 0, 0xbb).task->status, ScsiStatus::good);
  EXPECT_EQ(f.pr_out(*a, 1, 1, 0xaa, 0).task->status, ScsiStatus::good);  // WRITE EXCLUSIVE
  auto write_b = f.run(*b, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512, 1));
  EXPECT_EQ(write_b.task->status, ScsiStatus::reservation_conflict);
  auto read_b = f.run(*b, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(read_b.task->status, ScsiStatus::good);

  // a holds a read in flight; b preempts a with PREEMPT AND ABORT.
  f.device->hold = true;
  auto read_a = f.submit(*a, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 0, 42);
  auto preempt = f.pr_out(*b, 5, 1, 0xbb, 0xaa);
  EXPECT_FALSE(*preempt.finished) << "PREEMPT AND ABORT waits for the preempted task";
  f.device->release_all();
  EXPECT_TRUE(*preempt.finished);
  EXPECT_EQ(preempt.task->status, ScsiStatus::good);
  EXPECT_EQ(read_a.task->status, ScsiStatus::task_aborted);
  f.device->hold = false;
  auto tur_a = f.run(*a, {0x00, 0, 0, 0, 0, 0});
  ASSERT_EQ(tur_a.task->status, ScsiStatus::check_condition);
  EXPECT_EQ(tur_a.task->sense[12], 0x2a);
  EXPECT_EQ(tur_a.task->sense[13], 0x05);  // REGISTRATIONS PREEMPTED
}

}  // namespace
}  // namespace portico::scsi
