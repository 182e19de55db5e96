// Asynchronous events (NVMe Base 2.0, "Asynchronous Event Request command"): what an outstanding
// AER completes with, in DW0 - event type (bits 2:0), event information (15:8), the log page to
// read (23:16) - and which core notices become one. Linux: NVME_AER_*, NVME_AEN_*; nvmet encodes
// DW0 as type | info << 8 | log_page << 16 (drivers/nvme/target/core.c, nvmet_async_event_result).
#pragma once

#include <cstdint>
#include <optional>

#include "core/notice.h"
#include "core/nvme/log_pages.h"

namespace portico::nvme {

enum class AsyncEventType : uint8_t {
  error = 0x0,
  smart_health = 0x1,
  notice = 0x2,
  io_command_set = 0x6,  // "I/O command specific status" (Linux: NVME_AER_CSS)
  vendor_specific = 0x7,
};

// Event information for type notice (Linux: NVME_AER_NOTICE_*).
inline constexpr uint8_t kNoticeNamespaceAttributeChanged = 0x00;
inline constexpr uint8_t kNoticeFirmwareActivationStarting = 0x01;
inline constexpr uint8_t kNoticeAnaChange = 0x03;
inline constexpr uint8_t kNoticeDiscoveryLogChanged = 0xf0;
// Event information for type I/O command set (Linux: NVME_AEN_RESV_LOG_PAGE_AVALIABLE).
inline constexpr uint8_t kIoReservationLogAvailable = 0x00;

struct AsyncEvent {
  AsyncEventType type = AsyncEventType::notice;
  uint8_t info = 0;
  LogPageId log_page = LogPageId::changed_namespaces;

  bool operator==(const AsyncEvent&) const = default;
};

inline uint32_t encode_async_event(const AsyncEvent& event) {
  return static_cast<uint32_t>(event.type) | (uint32_t{event.info} << 8) |
         (uint32_t{static_cast<uint8_t>(event.log_page)} << 16);
}

inline AsyncEvent decode_async_event(uint32_t dw0) {
  return {static_cast<AsyncEventType>(dw0 & 0x7), static_cast<uint8_t>(dw0 >> 8), static_cast<LogPageId>(dw0 >> 16)};
}

// The event a notice raises for an NVMe host: an access state change is an ANA change notice, a
// capacity change a namespace attribute notice, the reservation notices a reservation log page
// (as nvmet raises them: pr.c). Reset and the SCSI-only notices raise none.
inline std::optional<AsyncEvent> async_event_for(Notice notice) {
  switch (notice) {
    case Notice::access_state_changed: return AsyncEvent{AsyncEventType::notice, kNoticeAnaChange, LogPageId::ana};
    case Notice::capacity_changed:
      return AsyncEvent{AsyncEventType::notice, kNoticeNamespaceAttributeChanged, LogPageId::changed_namespaces};
    case Notice::registrations_preempted:
    case Notice::reservations_preempted:
    case Notice::reservations_released:
      return AsyncEvent{AsyncEventType::io_command_set, kIoReservationLogAvailable,
                        LogPageId::reservation_notification};
    case Notice::reset_occurred:
    case Notice::commands_cleared_by_another_initiator:
    case Notice::mode_parameters_changed: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace portico::nvme
