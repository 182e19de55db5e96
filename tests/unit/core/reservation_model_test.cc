// The protocol-neutral reservation model: one engine and one conflict table for SCSI I_T
// nexuses and NVMe hosts (an NVMe host registers through every controller: no target port).
// The requests are what each command set decodes (SCSI PERSISTENT RESERVE OUT, NVMe Reservation
// Register / Acquire / Release); the checks are the notices, aborts and conflicts both see.
#include <gtest/gtest.h>

#include "core/notice.h"
#include "core/reservations/conflict_table.h"
#include "core/reservations/reservation_engine.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico {
namespace {

// An NVMe host as the NVMe command set names it: one name for port and device, seen through
// one controller of the subsystem.
Initiator nvme_host(const std::string& host_id, uint16_t controller) {
  Initiator host;
  host.initiator_port_name = "nvme-host:" + host_id;
  host.initiator_name = host.initiator_port_name;
  host.target_name = "nqn.2026-11.io.portico:test";
  host.target_port_name = host.target_name + ",c," + std::to_string(controller);
  return host;
}

ReservationRequest nvme_register(uint64_t new_key) {
  ReservationRequest r;
  r.action = ReservationAction::register_key;
  r.service_action_key = new_key;
  r.all_tg_pt = true;  // an NVMe registration holds through every controller
  return r;
}

ReservationRequest acquire(ReservationAction action, uint64_t key, uint64_t other_key, ReservationType type) {
  ReservationRequest r;
  r.action = action;
  r.key = key;
  r.service_action_key = other_key;
  r.type = static_cast<uint8_t>(type);
  return r;
}

ReservationRequest scsi_register(uint64_t new_key) {
  ReservationRequest r;
  r.action = ReservationAction::register_key;
  r.service_action_key = new_key;
  return r;
}

TEST(InitiatorSelector, MatchesPortOrDeviceThroughOneTargetPortOrAny) {
  const auto nexus = testing::make_nexus("iqn.a");
  EXPECT_TRUE((InitiatorSelector{nexus.initiator_port_name, nexus.target_port_name}.matches(nexus)));
  EXPECT_TRUE((InitiatorSelector{nexus.initiator_port_name, ""}.matches(nexus)));
  EXPECT_TRUE((InitiatorSelector{"iqn.a", ""}.matches(nexus))) << "a device name covers every port of it";
  EXPECT_FALSE((InitiatorSelector{nexus.initiator_port_name, "iqn.other,t,0x1"}.matches(nexus)));
  EXPECT_FALSE((InitiatorSelector{"iqn.b", ""}.matches(nexus)));
}

TEST(ReservationModel, NvmeHostRegistrationHoldsOnEveryController) {
  ReservationState state;
  const auto first = nvme_host("0011", 1);
  const auto other_gateway = nvme_host("0011", 0x4001);
  ASSERT_EQ(apply_reservation_request(state, first, nvme_register(0xaa)).verdict, ReservationVerdict::done);
  ASSERT_TRUE(state.is_registered(other_gateway));
  // Registering again through another controller is the same registrant: a new key needs the old.
  EXPECT_EQ(apply_reservation_request(state, other_gateway, nvme_register(0xbb)).verdict,
            ReservationVerdict::conflict);
  EXPECT_EQ(state.registrants.size(), 1u);
  EXPECT_FALSE(state.is_registered(nvme_host("0022", 1)));
}

TEST(ReservationModel, ScsiPreemptAndAbortRemovesNvmeHostAndAbortsItsCommands) {
  ReservationState state;
  const auto scsi = testing::make_nexus("iqn.cluster-node-1");
  const auto host = nvme_host("00ff", 7);
  ASSERT_TRUE(apply_reservation_request(state, scsi, scsi_register(0x1)).changed);
  ASSERT_TRUE(apply_reservation_request(state, host, nvme_register(0x2)).changed);
  ASSERT_EQ(apply_reservation_request(state, host,
                                      acquire(ReservationAction::reserve, 0x2, 0, ReservationType::write_exclusive))
                .verdict,
            ReservationVerdict::done);

  auto out = apply_reservation_request(
      state, scsi, acquire(ReservationAction::preempt_and_abort, 0x1, 0x2, ReservationType::exclusive_access));
  ASSERT_EQ(out.verdict, ReservationVerdict::done);
  EXPECT_TRUE(out.changed);
  EXPECT_FALSE(state.is_registered(host));
  EXPECT_TRUE(state.is_holder(scsi));
  ASSERT_EQ(out.notices.size(), 1u);
  EXPECT_TRUE(out.notices[0].first.matches(nvme_host("00ff", 0x4002))) << "every controller of the host learns it";
  EXPECT_EQ(out.notices[0].second, Notice::registrations_preempted);
  ASSERT_EQ(out.abort.size(), 1u);
  EXPECT_TRUE(out.abort[0].matches(host));
  EXPECT_FALSE(out.abort[0].matches(scsi));
}

TEST(ReservationModel, OneConflictTableForBothProtocols) {
  ReservationState state;
  const auto holder = nvme_host("0001", 1);
  const auto scsi_registrant = testing::make_nexus("iqn.registrant");
  const auto scsi_other = testing::make_nexus("iqn.other");
  apply_reservation_request(state, holder, nvme_register(0x10));
  apply_reservation_request(state, scsi_registrant, scsi_register(0x20));
  ASSERT_EQ(apply_reservation_request(
                state, holder,
                acquire(ReservationAction::reserve, 0x10, 0, ReservationType::write_exclusive_registrants_only))
                .verdict,
            ReservationVerdict::done);
  EXPECT_FALSE(reservation_blocks(state, holder, MediumAccess::write));
  EXPECT_FALSE(reservation_blocks(state, nvme_host("0001", 0x4001), MediumAccess::write))
      << "the holder through another gateway's controller";
  EXPECT_FALSE(reservation_blocks(state, scsi_registrant, MediumAccess::write));
  EXPECT_TRUE(reservation_blocks(state, scsi_other, MediumAccess::write));
  EXPECT_FALSE(reservation_blocks(state, scsi_other, MediumAccess::read));
  EXPECT_FALSE(reservation_blocks(state, scsi_other, MediumAccess::unrestricted));
}

TEST(ReservationModel, ReleaseOfOtherTypeAndBadTypeAreNamedRefusals) {
  ReservationState state;
  const auto host = nvme_host("0003", 1);
  apply_reservation_request(state, host, nvme_register(0x5));
  auto bad_type = acquire(ReservationAction::reserve, 0x5, 0, ReservationType::write_exclusive);
  bad_type.type = 2;  // no such type
  auto out = apply_reservation_request(state, host, bad_type);
  EXPECT_EQ(out.verdict, ReservationVerdict::invalid_field);
  EXPECT_EQ(out.field, RequestField::type);
  EXPECT_FALSE(out.changed);
  apply_reservation_request(state, host, acquire(ReservationAction::reserve, 0x5, 0, ReservationType::exclusive_access));
  out = apply_reservation_request(state, host,
                                  acquire(ReservationAction::release, 0x5, 0, ReservationType::write_exclusive));
  EXPECT_EQ(out.verdict, ReservationVerdict::type_mismatch);
  EXPECT_TRUE(state.reservation.has_value());
}

TEST(ReservationModel, ClearTellsEveryOtherRegistrantWhateverItsProtocol) {
  ReservationState state;
  const auto host = nvme_host("0004", 1);
  const auto scsi = testing::make_nexus("iqn.a");
  apply_reservation_request(state, host, nvme_register(0x1));
  apply_reservation_request(state, scsi, scsi_register(0x2));
  auto out = apply_reservation_request(state, scsi,
                                       acquire(ReservationAction::clear, 0x2, 0, ReservationType::write_exclusive));
  ASSERT_EQ(out.verdict, ReservationVerdict::done);
  EXPECT_TRUE(state.registrants.empty());
  ASSERT_EQ(out.notices.size(), 1u);
  EXPECT_TRUE(out.notices[0].first.matches(host));
  EXPECT_EQ(out.notices[0].second, Notice::reservations_preempted);
}

}  // namespace
}  // namespace portico
