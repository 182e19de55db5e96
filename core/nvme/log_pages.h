// Get Log Page (NVMe Base 2.0, "Get Log Page command"): the request's fields, the slice of a
// page the host asked for, and the small pages this target keeps. The ANA page is in ana_log.h,
// the Discovery page in discovery_log.h. Layouts are checked against Linux's include/linux/nvme.h
// (struct nvme_get_log_page_command, nvme_error_slot, nvme_smart_log, nvme_fw_slot_info_log,
// nvme_pr_log) and what nvmet returns (drivers/nvme/target/admin-cmd.c, pr.c, discovery.c).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/notice.h"
#include "core/nvme/sqe.h"
#include "core/nvme/status.h"

namespace portico::nvme {

// Linux: NVME_LOG_*.
enum class LogPageId : uint8_t {
  error_information = 0x01,
  smart_health = 0x02,
  firmware_slot = 0x03,
  changed_namespaces = 0x04,
  ana = 0x0c,
  discovery = 0x70,
  reservation_notification = 0x80,
};

struct LogPageRequest {
  uint32_t nsid = 0;
  uint8_t lid = 0;
  uint8_t lsp = 0;        // log specific field (ANA: bit 0 = RGO, return groups only)
  bool retain_async_event = false;  // RAE
  uint64_t length = 0;    // bytes: (NUMDU:NUMDL + 1) * 4, 0's based dwords
  uint16_t lsi = 0;       // log specific identifier
  uint64_t offset = 0;    // LPOU:LPOL, bytes
  uint8_t csi = 0;        // command set identifier
};

// CDW10: LID 7:0, LSP 14:8, RAE 15, NUMDL 31:16. CDW11: NUMDU 15:0, LSI 31:16. CDW12-13: LPO.
// CDW14: CSI 31:24 (Linux: nvmet_get_log_page_len / _offset).
LogPageRequest decode_log_page_request(const SubmissionEntry& sqe);

// The part of a page a request returns: `data` (a view into the page, which must outlive it)
// followed by `zero_fill` zero bytes, `length` bytes in all. Nothing proportional to the host's
// length is allocated here: the caller checks the length against the data pointer and MDTS first.
struct LogPageSlice {
  std::span<const uint8_t> data;
  uint64_t zero_fill = 0;

  [[nodiscard]] uint64_t size() const { return data.size() + zero_fill; }
  [[nodiscard]] std::vector<uint8_t> bytes() const;
};

// Honours LPO and NUMD for any page (Identify Controller's LPA bit 2 says so to the host). An
// offset that is not dword aligned, or beyond the end of the page, is Invalid Field in Command
// (DNR); an offset equal to the page size returns zeros. This is nvmet's rule for the Discovery
// page since Linux commit 53cd102a7a56 ("nvmet: fix pre-auth out-of-bounds heap read in Discovery
// Get Log Page"), its only handler that reads LPO (the others start at 0 whatever LPO says), and
// what NVMe Base 2.0's Log Page Offset field asks for an offset larger than the page. A request
// longer than what remains is zero filled, as nvmet does.
std::variant<LogPageSlice, CompletionStatus> slice_log_page(std::span<const uint8_t> page, uint64_t offset,
                                                            uint64_t length);

// 01h: `entries` 64-byte Error Information entries (ELPE + 1); all zero: no error is logged.
std::vector<uint8_t> error_information_log(size_t entries);

// 02h, 512 bytes.
struct HealthInfo {
  uint8_t critical_warning = 0;
  uint16_t temperature_kelvin = 0;  // composite temperature; nvmet, with no sensor either, reports 0
  uint8_t available_spare_percent = 100;
  uint8_t spare_threshold_percent = 10;
  uint8_t percentage_used = 0;
  uint64_t bytes_read = 0;     // reported as Data Units Read: thousands of 512-byte units, rounded up
  uint64_t bytes_written = 0;
  uint64_t host_read_commands = 0;
  uint64_t host_write_commands = 0;
  uint64_t power_cycles = 0;
  uint64_t power_on_hours = 0;
  uint64_t unsafe_shutdowns = 0;
  uint64_t media_errors = 0;
  uint64_t error_log_entries = 0;
};
inline constexpr size_t kSmartLogSize = 512;
std::vector<uint8_t> smart_health_log(const HealthInfo& info);

// 03h, 512 bytes: slot 1 active, holding `revision` (8 ASCII characters, space padded).
std::vector<uint8_t> firmware_slot_log(const std::string& revision);

// 04h, 4096 bytes: up to 1024 NSIDs whose attributes changed since the host last read the page.
// More than 1024 (or `overflowed`): the first entry is FFFFFFFFh and the rest zero (NVMe Base 2.0,
// "Changed Namespace List"; nvmet: nvmet_add_to_changed_ns_log).
inline constexpr size_t kMaxChangedNamespaces = 1024;
std::vector<uint8_t> changed_namespace_list(std::span<const uint32_t> nsids, bool overflowed = false);

// 80h, 64 bytes (NVMe Base 2.0, "Reservation Notification"; Linux: struct nvme_pr_log).
enum class ReservationNoticeType : uint8_t {
  empty = 0x00,
  registration_preempted = 0x01,
  reservation_released = 0x02,
  reservation_preempted = 0x03,
};
struct ReservationNotice {
  uint64_t count = 0;  // the notice's number: 1, 2, ... wrapping past 0 (see next_reservation_log_count)
  ReservationNoticeType type = ReservationNoticeType::empty;
  uint8_t available = 0;  // how many more notices are queued after this one
  uint32_t nsid = 0;
};
inline constexpr size_t kReservationNoticeSize = 64;
std::vector<uint8_t> reservation_notification_log(const ReservationNotice& notice);
// The log page count after `count`: it skips 0, which means "empty" (nvmet: nvmet_pr_add_resv_log).
inline uint64_t next_reservation_log_count(uint64_t count) { return count + 1 == 0 ? 1 : count + 1; }

// The reservation notice a core notice becomes for an NVMe host, if it is one.
std::optional<ReservationNoticeType> reservation_notice_for(Notice notice);

}  // namespace portico::nvme
