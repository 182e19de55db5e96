// SPC-2 RESERVE/RELEASE: the pure engine (SPC-2 5.5.1 with SPC-4 5.13.3's exceptions), the
// access rules for a logical unit reserved that way, and the events that end such a
// reservation (I_T nexus loss, LOGICAL UNIT RESET, I_T NEXUS RESET) through a real target.
#include <gtest/gtest.h>

#include <array>

#include "core/scsi/reservations/access_rules.h"
#include "core/scsi/reservations/persistent_reserve_out.h"
#include "core/scsi/reservations/spc2_reservation.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

const std::array<uint8_t, 16> kReserve6{0x16, 0, 0, 0, 0, 0};
const std::array<uint8_t, 16> kRelease6{0x17, 0, 0, 0, 0, 0};
const std::array<uint8_t, 16> kRead10{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
const std::array<uint8_t, 16> kModeSense6{0x1a, 0, 0x3f, 0, 0xff, 0};
const std::array<uint8_t, 16> kTestUnitReady{0x00, 0, 0, 0, 0, 0};
const std::array<uint8_t, 16> kInquiry{0x12, 0, 0, 0, 36, 0};
const std::array<uint8_t, 16> kAllowRemoval{0x1e, 0, 0, 0, 0, 0};
const std::array<uint8_t, 16> kPreventRemoval{0x1e, 0, 0, 0, 1, 0};
const std::array<uint8_t, 16> kReportTargetPortGroups{0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
const std::array<uint8_t, 16> kPrInReadKeys{0x5e, 0, 0, 0, 0, 0, 0, 0x10, 0, 0};

struct Nexuses {
  ItNexus a = testing::make_nexus("iqn.a");
  ItNexus b = testing::make_nexus("iqn.b");
};

ScsiStatus apply(ReservationState& state, const ItNexus& nexus, Spc2Action action) {
  return apply_spc2_reserve_release(state, nexus, action).status;
}

// Registers `nexus` with `key` and, when `type` is given, makes it reserve.
void register_and_reserve(ReservationState& state, const ItNexus& nexus, uint64_t key,
                          std::optional<ReservationType> type = std::nullopt) {
  PrOutRequest reg;
  reg.action = PrOutAction::register_key;
  reg.service_action_key = key;
  ASSERT_EQ(apply_persistent_reserve_out(state, nexus, reg).status, ScsiStatus::good);
  if (!type) return;
  PrOutRequest reserve;
  reserve.action = PrOutAction::reserve;
  reserve.key = key;
  reserve.type = static_cast<uint8_t>(*type);
  ASSERT_EQ(apply_persistent_reserve_out(state, nexus, reserve).status, ScsiStatus::good);
}

TEST(Spc2Reservation, ReserveByAnotherNexusConflictsAndTheHolderMayRepeatIt) {
  Nexuses n;
  ReservationState state;
  auto first = apply_spc2_reserve_release(state, n.a, Spc2Action::reserve);
  EXPECT_EQ(first.status, ScsiStatus::good);
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(state.spc2_holder, n.a.key());
  EXPECT_EQ(apply(state, n.a, Spc2Action::reserve), ScsiStatus::good);
  EXPECT_EQ(apply(state, n.b, Spc2Action::reserve), ScsiStatus::reservation_conflict);
  EXPECT_EQ(state.spc2_holder, n.a.key());
}

TEST(Spc2Reservation, ReleaseFromANexusHoldingNothingIsGoodAndChangesNothing) {
  Nexuses n;
  ReservationState state;
  EXPECT_EQ(apply(state, n.a, Spc2Action::release), ScsiStatus::good);
  apply(state, n.a, Spc2Action::reserve);
  auto other = apply_spc2_reserve_release(state, n.b, Spc2Action::release);
  EXPECT_EQ(other.status, ScsiStatus::good);
  EXPECT_FALSE(other.changed);
  EXPECT_EQ(state.spc2_holder, n.a.key());
  auto own = apply_spc2_reserve_release(state, n.a, Spc2Action::release);
  EXPECT_TRUE(own.changed);
  EXPECT_TRUE(state.spc2_holder.empty());
  EXPECT_EQ(apply(state, n.b, Spc2Action::reserve), ScsiStatus::good);
}

TEST(Spc2Reservation, TheSameInitiatorThroughAnotherSessionIsAnotherNexus) {
  ReservationState state;
  const ItNexus first = testing::make_nexus("iqn.a", "0x000000000001");
  const ItNexus second = testing::make_nexus("iqn.a", "0x000000000002");
  apply(state, first, Spc2Action::reserve);
  EXPECT_EQ(apply(state, second, Spc2Action::reserve), ScsiStatus::reservation_conflict);
}

TEST(Spc2Reservation, AnyRegistrationMakesReserveAndReleaseConflictForEveryone) {
  Nexuses n;
  ReservationState state;
  register_and_reserve(state, n.a, 0xa);
  EXPECT_EQ(apply(state, n.a, Spc2Action::reserve), ScsiStatus::reservation_conflict);
  EXPECT_EQ(apply(state, n.a, Spc2Action::release), ScsiStatus::reservation_conflict);
  EXPECT_EQ(apply(state, n.b, Spc2Action::reserve), ScsiStatus::reservation_conflict);
  EXPECT_EQ(apply(state, n.b, Spc2Action::release), ScsiStatus::reservation_conflict);
  EXPECT_TRUE(state.spc2_holder.empty());
}

TEST(Spc2Reservation, PersistentHolderGetsGoodWithoutEffectOthersConflict) {
  Nexuses n;
  ReservationState state;
  register_and_reserve(state, n.a, 0xa, ReservationType::write_exclusive);
  register_and_reserve(state, n.b, 0xb);
  const ReservationState before = state;
  EXPECT_EQ(apply(state, n.a, Spc2Action::reserve), ScsiStatus::good);
  EXPECT_EQ(apply(state, n.a, Spc2Action::release), ScsiStatus::good);
  EXPECT_EQ(state, before);  // SPC-4 5.13.3: no SPC-2 reservation, the persistent one stays
  EXPECT_EQ(apply(state, n.b, Spc2Action::reserve), ScsiStatus::reservation_conflict);
}

TEST(Spc2Reservation, RegistrantUnderRegistrantsOnlyReservationGetsGoodWithoutEffect) {
  Nexuses n;
  const ItNexus stranger = testing::make_nexus("iqn.c");
  ReservationState state;
  register_and_reserve(state, n.a, 0xa, ReservationType::write_exclusive_registrants_only);
  register_and_reserve(state, n.b, 0xb);
  EXPECT_EQ(apply(state, n.b, Spc2Action::reserve), ScsiStatus::good);
  EXPECT_EQ(apply(state, n.b, Spc2Action::release), ScsiStatus::good);
  EXPECT_TRUE(state.reservation.has_value());
  EXPECT_TRUE(state.spc2_holder.empty());
  EXPECT_EQ(apply(state, stranger, Spc2Action::reserve), ScsiStatus::reservation_conflict);
}

TEST(Spc2Reservation, ThirdPartyReserve10AndRelease10AreInvalidFieldsReserve6IsAccepted) {
  const std::array<uint8_t, 10> third_party{0x56, 0x10, 0, 7, 0, 0, 0, 0, 0, 0};
  const std::array<uint8_t, 10> long_id{0x57, 0x02, 0, 0, 0, 0, 0, 0, 8, 0};
  const std::array<uint8_t, 10> plain10{0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto bad = decode_spc2_reserve_release(third_party);
  ASSERT_TRUE(std::holds_alternative<SenseData>(bad));
  EXPECT_EQ(std::get<SenseData>(bad).key, SenseKey::illegal_request);
  EXPECT_TRUE(std::holds_alternative<SenseData>(decode_spc2_reserve_release(long_id)));
  EXPECT_EQ(std::get<Spc2Action>(decode_spc2_reserve_release(plain10)), Spc2Action::reserve);
  EXPECT_EQ(std::get<Spc2Action>(decode_spc2_reserve_release(kReserve6)), Spc2Action::reserve);
  EXPECT_EQ(std::get<Spc2Action>(decode_spc2_reserve_release(kRelease6)), Spc2Action::release);
}

TEST(Spc2Reservation, NexusLossReleasesOnlyItsOwnReservationResetReleasesAny) {
  Nexuses n;
  ReservationState state;
  apply(state, n.a, Spc2Action::reserve);
  EXPECT_FALSE(release_spc2_reservation_of(state, n.b.key()));
  EXPECT_EQ(state.spc2_holder, n.a.key());
  EXPECT_TRUE(release_spc2_reservation_of(state, n.a.key()));
  EXPECT_TRUE(state.spc2_holder.empty());
  apply(state, n.b, Spc2Action::reserve);
  EXPECT_TRUE(release_spc2_reservation_on_reset(state));
  EXPECT_FALSE(release_spc2_reservation_on_reset(state));
}

TEST(Spc2Reservation, ResetKeepsPersistentReservations) {
  Nexuses n;
  ReservationState state;
  register_and_reserve(state, n.a, 0xa, ReservationType::exclusive_access);
  EXPECT_FALSE(release_spc2_reservation_on_reset(state));
  EXPECT_TRUE(state.reservation.has_value());
}

TEST(Spc2AccessRules, NonHolderMayOnlyRunInformationalCommands) {
  Nexuses n;
  ReservationState state;
  apply(state, n.a, Spc2Action::reserve);
  for (const auto& cdb : {kRead10, kModeSense6, kTestUnitReady, kPreventRemoval}) {
    EXPECT_FALSE(reservation_conflict(state, n.a, cdb)) << "holder, opcode " << int{cdb[0]};
    EXPECT_TRUE(reservation_conflict(state, n.b, cdb)) << "other, opcode " << int{cdb[0]};
  }
  for (const auto& cdb : {kInquiry, kAllowRemoval, kReportTargetPortGroups, kReserve6, kRelease6}) {
    EXPECT_FALSE(reservation_conflict(state, n.b, cdb)) << "other, opcode " << int{cdb[0]};
  }
}

TEST(Spc2AccessRules, PersistentReserveCommandsConflictForEveryNexusWhileReserved) {
  Nexuses n;
  ReservationState state;
  apply(state, n.a, Spc2Action::reserve);
  EXPECT_TRUE(reservation_conflict(state, n.a, kPrInReadKeys));
  EXPECT_TRUE(reservation_conflict(state, n.b, kPrInReadKeys));
  PrOutRequest reg;
  reg.action = PrOutAction::register_key;
  reg.service_action_key = 0xa;
  EXPECT_EQ(apply_persistent_reserve_out(state, n.a, reg).status, ScsiStatus::reservation_conflict);
  EXPECT_TRUE(state.registrants.empty());
}

// --- through a target: what ends the reservation ---

struct Spc2Target {
  testing::TargetFixture f;
  std::shared_ptr<NexusState> a = f.target.attach(testing::make_nexus("iqn.a"));
  std::shared_ptr<NexusState> b = f.target.attach(testing::make_nexus("iqn.b"));

  Spc2Target() {
    f.clear_ua(*a);
    f.clear_ua(*b);
  }
  ScsiStatus run(NexusState& n, std::vector<uint8_t> cdb) {
    f.clear_ua(n);
    return f.run(n, std::move(cdb)).task->status;
  }
  ScsiStatus reserve(NexusState& n) { return run(n, {0x16, 0, 0, 0, 0, 0}); }
  TmfResponse tmf(NexusState& n, TmfFunction function) {
    TmfResponse response = TmfResponse::function_rejected;
    f.target.task_management(n, function, 0, 0, f.executor, [&](TmfResponse r) { response = r; });
    return response;
  }
};

TEST(Spc2ThroughTheTarget, ModeSenseFromTheOtherNexusConflictsUntilRelease) {
  Spc2Target t;
  ASSERT_EQ(t.reserve(*t.a), ScsiStatus::good);
  EXPECT_EQ(t.run(*t.a, {0x1a, 0, 0x3f, 0, 0xff, 0}), ScsiStatus::good);
  EXPECT_EQ(t.run(*t.b, {0x1a, 0, 0x3f, 0, 0xff, 0}), ScsiStatus::reservation_conflict);
  EXPECT_EQ(t.run(*t.b, {0x17, 0, 0, 0, 0, 0}), ScsiStatus::good);  // not the holder: no effect
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::reservation_conflict);
  EXPECT_EQ(t.run(*t.a, {0x17, 0, 0, 0, 0, 0}), ScsiStatus::good);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::good);
}

TEST(Spc2ThroughTheTarget, LogoutOfTheHolderReleasesItsReservation) {
  Spc2Target t;
  ASSERT_EQ(t.reserve(*t.a), ScsiStatus::good);
  t.f.target.detach(t.a);
  EXPECT_TRUE(t.f.unit->reservations().spc2_holder.empty());
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::good);
}

TEST(Spc2ThroughTheTarget, ReinstatedSessionKeepsTheReservationUntilTheLastSessionEnds) {
  Spc2Target t;
  ASSERT_EQ(t.reserve(*t.a), ScsiStatus::good);
  // Reinstatement: the new session of the same nexus attaches before the old one detaches.
  auto again = t.f.target.attach(testing::make_nexus("iqn.a"));
  t.f.target.detach(t.a);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::reservation_conflict);
  t.f.target.detach(again);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::good);
}

TEST(Spc2ThroughTheTarget, LogicalUnitResetReleasesTheReservation) {
  Spc2Target t;
  ASSERT_EQ(t.reserve(*t.a), ScsiStatus::good);
  EXPECT_EQ(t.tmf(*t.b, TmfFunction::logical_unit_reset), TmfResponse::function_complete);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::good);
}

TEST(Spc2ThroughTheTarget, TargetWarmResetReleasesTheReservation) {
  Spc2Target t;
  ASSERT_EQ(t.reserve(*t.a), ScsiStatus::good);
  EXPECT_EQ(t.tmf(*t.a, TmfFunction::target_warm_reset), TmfResponse::function_complete);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::good);
}

TEST(Spc2ThroughTheTarget, ItNexusResetReleasesOnlyThatNexussReservation) {
  Spc2Target t;
  ASSERT_EQ(t.reserve(*t.a), ScsiStatus::good);
  EXPECT_EQ(t.tmf(*t.b, TmfFunction::i_t_nexus_reset), TmfResponse::function_complete);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::reservation_conflict);
  EXPECT_EQ(t.tmf(*t.a, TmfFunction::i_t_nexus_reset), TmfResponse::function_complete);
  EXPECT_EQ(t.reserve(*t.b), ScsiStatus::good);
}

}  // namespace
}  // namespace portico::scsi
