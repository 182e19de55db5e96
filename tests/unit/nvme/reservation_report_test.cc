// NVMe reservation types and the Reservation Report built from the shared reservation state
// (offsets: Linux's struct nvme_reservation_status(_ext), nvme_registered_ctrl(_ext)).
#include <gtest/gtest.h>

#include "core/nvme/reservation_report.h"
#include "core/nvme/reservation_types.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::get16;
using test::get32;
using test::get64;

constexpr const char* kHostNqn = "nqn.2014-08.org.nvmexpress:uuid:6f2a9c1e";
constexpr const char* kScsiInitiator = "iqn.1994-05.com.redhat:client,i,0x23d000000001";
constexpr const char* kScsiTargetPort = "iqn.2026-11.io.portico:rbd,t,0x1";
const std::array<uint8_t, 16> kHostId{0x6f, 0x2a, 0x9c, 0x1e, 0x55, 0x10, 0x4a, 0x7b,
                                      0x91, 0x02, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

ReservationState mixed_state() {
  ReservationState s;
  s.generation = 9;
  s.aptpl = true;
  Registrant host;  // an NVMe host: one registration through every controller
  host.initiator = kHostNqn;
  host.all_target_ports = true;
  host.key = 0x1111;
  Registrant scsi;
  scsi.initiator = kScsiInitiator;
  scsi.target_port = kScsiTargetPort;
  scsi.key = 0x2222;
  s.registrants = {host, scsi};
  return s;
}

std::optional<RegisteredController> lookup(const Registrant& r) {
  if (r.initiator != kHostNqn) return std::nullopt;
  return RegisteredController{0x0005, kHostId, true};
}

std::vector<uint8_t> extended_report(const ReservationState& s) {
  auto r = reservation_report(s, lookup, ReportFormat::extended);
  EXPECT_TRUE(std::holds_alternative<std::vector<uint8_t>>(r));
  return std::get<std::vector<uint8_t>>(r);
}

TEST(ReservationTypes, NvmeCodesMapToTheSharedTypes) {
  EXPECT_EQ(reservation_type_from_nvme(1), ReservationType::write_exclusive);
  EXPECT_EQ(reservation_type_from_nvme(2), ReservationType::exclusive_access);
  EXPECT_EQ(reservation_type_from_nvme(3), ReservationType::write_exclusive_registrants_only);
  EXPECT_EQ(reservation_type_from_nvme(4), ReservationType::exclusive_access_registrants_only);
  EXPECT_EQ(reservation_type_from_nvme(5), ReservationType::write_exclusive_all_registrants);
  EXPECT_EQ(reservation_type_from_nvme(6), ReservationType::exclusive_access_all_registrants);
  for (int bad : {0, 7, 8, 0xff}) {
    EXPECT_FALSE(reservation_type_from_nvme(static_cast<uint8_t>(bad)).has_value()) << bad;
  }
  for (uint8_t code = 1; code <= 6; ++code) {
    EXPECT_EQ(static_cast<uint8_t>(to_nvme(*reservation_type_from_nvme(code))), code);
  }
  EXPECT_EQ(to_nvme(ReservationType::exclusive_access_registrants_only),
            NvmeReservationType::exclusive_access_registrants_only);
}

TEST(ReservationReport, ExtendedReportFlagsTheScsiHolder) {
  auto s = mixed_state();
  s.reservation = PersistentReservation{ReservationType::write_exclusive, kScsiInitiator, kScsiTargetPort};
  const auto report = extended_report(s);
  ASSERT_EQ(report.size(), 64u + 2 * 64);
  EXPECT_EQ(get32(report, 0), 9u);  // GEN
  EXPECT_EQ(report[4], 1);          // RTYPE: write exclusive
  EXPECT_EQ(get16(report, 5), 2);   // REGCTL
  EXPECT_EQ(report[9], 1);          // PTPLS
  EXPECT_TRUE(test::all_zero(report, 10, 64));

  // The NVMe host: its controller and host ID, not holding.
  EXPECT_EQ(get16(report, 64), 0x0005);
  EXPECT_EQ(report[66], 0);
  EXPECT_TRUE(test::all_zero(report, 67, 72));
  EXPECT_EQ(get64(report, 72), 0x1111u);  // RKEY at 8
  EXPECT_TRUE(std::equal(kHostId.begin(), kHostId.end(), report.begin() + 80));  // HOSTID at 16
  EXPECT_TRUE(test::all_zero(report, 96, 128));

  // The SCSI initiator: CNTLID FFFFh, its derived host ID, holding.
  const auto scsi = scsi_registrant_controller(kScsiInitiator);
  EXPECT_EQ(get16(report, 128), 0xffff);
  EXPECT_EQ(report[130], 1);
  EXPECT_EQ(get64(report, 136), 0x2222u);
  EXPECT_TRUE(std::equal(scsi.host_id.begin(), scsi.host_id.end(), report.begin() + 144));
}

TEST(ReservationReport, NvmeHostHoldingARegistrantsOnlyReservation) {
  auto s = mixed_state();
  s.reservation = PersistentReservation{ReservationType::exclusive_access_registrants_only, kHostNqn, ""};
  const auto report = extended_report(s);
  EXPECT_EQ(report[4], 4);
  EXPECT_EQ(report[64 + 2], 1);
  EXPECT_EQ(report[128 + 2], 0);
}

TEST(ReservationReport, AllRegistrantsTypesFlagEveryRegistrant) {
  auto s = mixed_state();
  s.reservation = PersistentReservation{ReservationType::exclusive_access_all_registrants, "", ""};
  const auto report = extended_report(s);
  EXPECT_EQ(report[4], 6);
  EXPECT_EQ(report[64 + 2], 1);
  EXPECT_EQ(report[128 + 2], 1);
}

TEST(ReservationReport, NoReservationNoRegistrants) {
  auto s = mixed_state();
  auto report = extended_report(s);
  EXPECT_EQ(report[4], 0);
  EXPECT_EQ(report[64 + 2], 0);
  EXPECT_EQ(report[128 + 2], 0);
  ReservationState empty;
  report = extended_report(empty);
  ASSERT_EQ(report.size(), 64u);
  EXPECT_TRUE(test::all_zero(report, 0, 64));
}

TEST(ReservationReport, CompactFormIsRefusedForA128BitHostId) {
  auto s = mixed_state();
  auto r = reservation_report(s, lookup, ReportFormat::compact);
  ASSERT_TRUE(std::holds_alternative<CompletionStatus>(r));
  EXPECT_EQ(std::get<CompletionStatus>(r), CompletionStatus(GenericStatus::host_identifier_inconsistent).no_retry());
}

TEST(ReservationReport, CompactFormForScsiRegistrants) {
  auto s = mixed_state();
  s.registrants.erase(s.registrants.begin());
  s.reservation = PersistentReservation{ReservationType::write_exclusive, kScsiInitiator, kScsiTargetPort};
  auto r = reservation_report(s, lookup, ReportFormat::compact);
  ASSERT_TRUE(std::holds_alternative<std::vector<uint8_t>>(r));
  const auto& report = std::get<std::vector<uint8_t>>(r);
  ASSERT_EQ(report.size(), 24u + 24);
  EXPECT_EQ(get32(report, 0), 9u);
  EXPECT_EQ(report[4], 1);
  EXPECT_EQ(get16(report, 5), 1);
  EXPECT_EQ(report[9], 1);
  EXPECT_EQ(get16(report, 24), 0xffff);
  EXPECT_EQ(report[26], 1);
  const auto scsi = scsi_registrant_controller(kScsiInitiator);
  EXPECT_TRUE(std::equal(scsi.host_id.begin(), scsi.host_id.begin() + 8, report.begin() + 32));  // HOSTID at 8
  EXPECT_EQ(get64(report, 40), 0x2222u);  // RKEY at 16
}

TEST(ReservationReport, ScsiHostIdIsStableAndMarked) {
  const auto a = scsi_registrant_controller(kScsiInitiator);
  const auto again = scsi_registrant_controller(kScsiInitiator);
  const auto other = scsi_registrant_controller("iqn.1994-05.com.redhat:other,i,0x23d000000001");
  EXPECT_EQ(a.host_id, again.host_id);
  EXPECT_NE(a.host_id, other.host_id);
  EXPECT_EQ(a.controller_id, 0xffff);
  EXPECT_EQ(a.host_id[6] >> 4, 8) << "RFC 9562 version 8";
  EXPECT_EQ(a.host_id[8] >> 6, 2) << "RFC 9562 variant";
  // Pinned: gateways of different versions must agree on it.
  const std::array<uint8_t, 16> pinned{0x02, 0x0f, 0x81, 0xb9, 0x5d, 0x73, 0x81, 0x47,
                                       0x94, 0xf1, 0xd8, 0x25, 0x6b, 0x97, 0x3c, 0x3c};
  EXPECT_EQ(a.host_id, pinned);
}

TEST(ReservationReport, WithoutALookupEveryRegistrantIsTreatedAsScsi) {
  auto s = mixed_state();
  auto r = reservation_report(s, nullptr, ReportFormat::extended);
  const auto& report = std::get<std::vector<uint8_t>>(r);
  EXPECT_EQ(get16(report, 64), 0xffff);
  const auto derived = scsi_registrant_controller(kHostNqn);
  EXPECT_TRUE(std::equal(derived.host_id.begin(), derived.host_id.end(), report.begin() + 80));
}

}  // namespace
}  // namespace portico::nvme
