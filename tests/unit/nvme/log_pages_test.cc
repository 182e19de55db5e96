// Get Log Page requests, slicing by offset and length, and the small pages (offsets: Linux's
// struct nvme_get_log_page_command, nvme_smart_log, nvme_fw_slot_info_log, nvme_pr_log).
#include <gtest/gtest.h>

#include <numeric>

#include "core/nvme/log_pages.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::get16;
using test::get32;
using test::get64;

TEST(LogPageRequest, DecodesLidLspRaeNumdOffsetAndCsi) {
  // ANA log, RGO, RAE, 0x12345 dwords (0's based 0x12344), offset 0x100000008, LSI 7, CSI 0.
  test::SqeBytes s;
  s.u8(0, 0x02).u32(4, 0xffffffff);
  s.u32(40, 0x0c | (0x01u << 8) | (1u << 15) | (0x2344u << 16));
  s.u32(44, 0x0001 | (7u << 16));
  s.u32(48, 0x00000008).u32(52, 0x1).u32(56, 0x02u << 24);
  auto req = decode_log_page_request(*decode_sqe(s.bytes));
  EXPECT_EQ(req.nsid, 0xffffffffu);
  EXPECT_EQ(req.lid, 0x0c);
  EXPECT_EQ(req.lsp, 0x01);
  EXPECT_TRUE(req.retain_async_event);
  EXPECT_EQ(req.length, 0x12345u * 4);
  EXPECT_EQ(req.lsi, 7);
  EXPECT_EQ(req.offset, 0x100000008ull);
  EXPECT_EQ(req.csi, 0x02);
}

TEST(LogPageRequest, LargestLengthIsSixteenGibibytes) {
  test::SqeBytes s;
  s.u32(40, 0xffff0002).u32(44, 0x0000ffff);
  auto req = decode_log_page_request(*decode_sqe(s.bytes));
  EXPECT_EQ(req.lid, 0x02);
  EXPECT_EQ(req.length, (uint64_t{1} << 32) * 4);
}

std::vector<uint8_t> counting_page(size_t size) {
  std::vector<uint8_t> page(size);
  std::iota(page.begin(), page.end(), uint8_t{1});
  return page;
}

TEST(LogPageSlice, OffsetAndLengthSelectAPart) {
  const auto page = counting_page(512);
  auto r = slice_log_page(page, 8, 16);
  ASSERT_TRUE(std::holds_alternative<LogPageSlice>(r));
  const auto& s = std::get<LogPageSlice>(r);
  EXPECT_EQ(s.size(), 16u);
  EXPECT_EQ(s.zero_fill, 0u);
  EXPECT_EQ(s.bytes(), std::vector<uint8_t>(page.begin() + 8, page.begin() + 24));
}

TEST(LogPageSlice, PastTheEndIsZeroFilled) {
  const auto page = counting_page(512);
  auto s = std::get<LogPageSlice>(slice_log_page(page, 504, 16));
  EXPECT_EQ(s.data.size(), 8u);
  EXPECT_EQ(s.zero_fill, 8u);
  auto bytes = s.bytes();
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes[7], page[511]);
  EXPECT_TRUE(test::all_zero(bytes, 8, 16));
}

TEST(LogPageSlice, OffsetAtTheEndReturnsOnlyZeros) {
  const auto page = counting_page(512);
  auto s = std::get<LogPageSlice>(slice_log_page(page, 512, 4096));
  EXPECT_TRUE(s.data.empty());
  EXPECT_EQ(s.zero_fill, 4096u);
}

TEST(LogPageSlice, OffsetBeyondThePageOrUnalignedIsInvalidField) {
  const auto page = counting_page(512);
  const CompletionStatus invalid = CompletionStatus(GenericStatus::invalid_field).no_retry();
  for (uint64_t offset : {uint64_t{516}, uint64_t{1} << 32, ~uint64_t{0} & ~uint64_t{3}, uint64_t{2}, uint64_t{511}}) {
    auto r = slice_log_page(page, offset, 4);
    ASSERT_TRUE(std::holds_alternative<CompletionStatus>(r)) << offset;
    EXPECT_EQ(std::get<CompletionStatus>(r), invalid);
  }
}

TEST(LogPageSlice, HugeLengthsAllocateNothingUpFront) {
  const auto page = counting_page(64);
  auto s = std::get<LogPageSlice>(slice_log_page(page, 0, uint64_t{16} << 30));
  EXPECT_EQ(s.data.size(), 64u);
  EXPECT_EQ(s.zero_fill, (uint64_t{16} << 30) - 64);
}

TEST(ErrorInformationLog, IsZeroedEntriesOfSixtyFourBytes) {
  auto log = error_information_log(4);
  EXPECT_EQ(log.size(), 256u);
  EXPECT_TRUE(test::all_zero(log, 0, 256));
}

TEST(SmartLog, FieldsAtTheirOffsets) {
  HealthInfo h;
  h.critical_warning = 0x02;
  h.temperature_kelvin = 310;
  h.percentage_used = 3;
  h.bytes_read = 512000;           // exactly one data unit
  h.bytes_written = 512000 + 512;  // rounds up to two
  h.host_read_commands = 0x1122334455667788ull;
  h.host_write_commands = 42;
  h.power_cycles = 5;
  h.power_on_hours = 100;
  h.unsafe_shutdowns = 1;
  h.media_errors = 2;
  h.error_log_entries = 9;
  const auto log = smart_health_log(h);
  ASSERT_EQ(log.size(), 512u);
  EXPECT_EQ(log[0], 0x02);
  EXPECT_EQ(get16(log, 1), 310);
  EXPECT_EQ(log[3], 100);  // available spare
  EXPECT_EQ(log[4], 10);   // spare threshold
  EXPECT_EQ(log[5], 3);
  EXPECT_EQ(get64(log, 32), 1u);
  EXPECT_EQ(get64(log, 40), 0u);  // upper half of the 128-bit counter
  EXPECT_EQ(get64(log, 48), 2u);
  EXPECT_EQ(get64(log, 64), 0x1122334455667788ull);
  EXPECT_EQ(get64(log, 72), 0u);
  EXPECT_EQ(get64(log, 80), 42u);
  EXPECT_EQ(get64(log, 112), 5u);
  EXPECT_EQ(get64(log, 128), 100u);
  EXPECT_EQ(get64(log, 144), 1u);
  EXPECT_EQ(get64(log, 160), 2u);
  EXPECT_EQ(get64(log, 176), 9u);
  EXPECT_TRUE(test::all_zero(log, 192, 512));
  EXPECT_EQ(get64(smart_health_log(HealthInfo{}), 32), 0u);  // nothing read: zero units
}

TEST(FirmwareSlotLog, SlotOneActiveWithTheRevision) {
  const auto log = firmware_slot_log("0.1.0");
  ASSERT_EQ(log.size(), 512u);
  EXPECT_EQ(log[0], 0x01);
  EXPECT_EQ(test::text_at(log, 8, 8), "0.1.0   ");
  EXPECT_TRUE(test::all_zero(log, 16, 512));
}

TEST(ChangedNamespaceList, ListsNsidsOrOverflows) {
  const std::vector<uint32_t> changed{4, 9};
  auto log = changed_namespace_list(changed);
  ASSERT_EQ(log.size(), 4096u);
  EXPECT_EQ(get32(log, 0), 4u);
  EXPECT_EQ(get32(log, 4), 9u);
  EXPECT_TRUE(test::all_zero(log, 8, 4096));

  std::vector<uint32_t> many(1025, 7);
  for (const auto& overflowed : {changed_namespace_list(many), changed_namespace_list(changed, true)}) {
    EXPECT_EQ(get32(overflowed, 0), 0xffffffffu);
    EXPECT_TRUE(test::all_zero(overflowed, 4, 4096));
  }
  std::vector<uint32_t> exactly(1024, 3);
  EXPECT_EQ(get32(changed_namespace_list(exactly), 4092), 3u);
}

TEST(ReservationNotificationLog, FieldsAtTheirOffsets) {
  ReservationNotice n;
  n.count = 0x0102030405060708ull;
  n.type = ReservationNoticeType::reservation_preempted;
  n.available = 2;
  n.nsid = 1;
  const auto log = reservation_notification_log(n);
  ASSERT_EQ(log.size(), 64u);
  EXPECT_EQ(get64(log, 0), 0x0102030405060708ull);
  EXPECT_EQ(log[8], 0x03);
  EXPECT_EQ(log[9], 2);
  EXPECT_EQ(get16(log, 10), 0);
  EXPECT_EQ(get32(log, 12), 1u);
  EXPECT_TRUE(test::all_zero(log, 16, 64));
  EXPECT_TRUE(test::all_zero(reservation_notification_log(ReservationNotice{}), 0, 64));
}

TEST(ReservationNotificationLog, CountSkipsZero) {
  EXPECT_EQ(next_reservation_log_count(0), 1u);
  EXPECT_EQ(next_reservation_log_count(41), 42u);
  EXPECT_EQ(next_reservation_log_count(~uint64_t{0}), 1u);
}

TEST(ReservationNotificationLog, NoticesThatBecomeOne) {
  EXPECT_EQ(reservation_notice_for(Notice::registrations_preempted), ReservationNoticeType::registration_preempted);
  EXPECT_EQ(reservation_notice_for(Notice::reservations_released), ReservationNoticeType::reservation_released);
  EXPECT_EQ(reservation_notice_for(Notice::reservations_preempted), ReservationNoticeType::reservation_preempted);
  EXPECT_FALSE(reservation_notice_for(Notice::reset_occurred).has_value());
  EXPECT_FALSE(reservation_notice_for(Notice::access_state_changed).has_value());
}

}  // namespace
}  // namespace portico::nvme
