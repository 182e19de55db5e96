#include "core/nvme/log_pages.h"

#include <algorithm>

#include "core/common/little_endian.h"

namespace portico::nvme {
namespace {

// A 128-bit little-endian counter (SMART fields) from a 64-bit value: the upper half stays zero.
void put_le128(uint8_t* p, uint64_t value) { store_le64(p, value); }

// Thousands of 512-byte units, rounded up (nvmet: DIV_ROUND_UP(sectors, 1000)).
uint64_t data_units(uint64_t bytes) { return bytes / 512000 + (bytes % 512000 != 0 ? 1 : 0); }

}  // namespace

LogPageRequest decode_log_page_request(const SubmissionEntry& sqe) {
  const uint32_t cdw10 = sqe.cdw(10);
  const uint32_t cdw11 = sqe.cdw(11);
  LogPageRequest r;
  r.nsid = sqe.nsid;
  r.lid = static_cast<uint8_t>(cdw10);
  // LSP is bits 14:8 since NVMe 2.0 (11:8 before; Linux still reads one byte with the upper bits
  // reserved): RGO, the only LSP bit used here, is bit 8 in both.
  r.lsp = static_cast<uint8_t>((cdw10 >> 8) & 0x7f);
  r.retain_async_event = (cdw10 & (1u << 15)) != 0;
  const uint32_t numd = ((cdw11 & 0xffffu) << 16) | (cdw10 >> 16);
  r.length = (uint64_t{numd} + 1) * 4;
  r.lsi = static_cast<uint16_t>(cdw11 >> 16);
  r.offset = (uint64_t{sqe.cdw(13)} << 32) | sqe.cdw(12);
  r.csi = static_cast<uint8_t>(sqe.cdw(14) >> 24);
  return r;
}

std::vector<uint8_t> LogPageSlice::bytes() const {
  std::vector<uint8_t> out(data.begin(), data.end());
  out.resize(static_cast<size_t>(size()), 0);
  return out;
}

std::variant<LogPageSlice, CompletionStatus> slice_log_page(std::span<const uint8_t> page, uint64_t offset,
                                                            uint64_t length) {
  if ((offset & 0x3) != 0 || offset > page.size()) return CompletionStatus(GenericStatus::invalid_field).no_retry();
  const uint64_t available = page.size() - offset;
  const uint64_t taken = std::min(length, available);
  LogPageSlice slice;
  slice.data = page.subspan(static_cast<size_t>(offset), static_cast<size_t>(taken));
  slice.zero_fill = length - taken;
  return slice;
}

std::vector<uint8_t> error_information_log(size_t entries) { return std::vector<uint8_t>(entries * 64, 0); }

std::vector<uint8_t> smart_health_log(const HealthInfo& info) {
  // Offsets: Linux struct nvme_smart_log.
  std::vector<uint8_t> out(kSmartLogSize, 0);
  uint8_t* p = out.data();
  p[0] = info.critical_warning;
  store_le16(p + 1, info.temperature_kelvin);
  p[3] = info.available_spare_percent;
  p[4] = info.spare_threshold_percent;
  p[5] = info.percentage_used;
  put_le128(p + 32, data_units(info.bytes_read));
  put_le128(p + 48, data_units(info.bytes_written));
  put_le128(p + 64, info.host_read_commands);
  put_le128(p + 80, info.host_write_commands);
  // 96: controller busy time stays 0.
  put_le128(p + 112, info.power_cycles);
  put_le128(p + 128, info.power_on_hours);
  put_le128(p + 144, info.unsafe_shutdowns);
  put_le128(p + 160, info.media_errors);
  put_le128(p + 176, info.error_log_entries);
  return out;
}

std::vector<uint8_t> firmware_slot_log(const std::string& revision) {
  // Linux struct nvme_fw_slot_info_log: AFI at 0 (bits 2:0 the active slot), FRS1..7 at 8 + 8 * n.
  std::vector<uint8_t> out(512, 0);
  out[0] = 0x01;
  std::fill_n(out.begin() + 8, 8, static_cast<uint8_t>(' '));
  std::copy_n(revision.begin(), std::min<size_t>(8, revision.size()), out.begin() + 8);
  return out;
}

std::vector<uint8_t> changed_namespace_list(std::span<const uint32_t> nsids, bool overflowed) {
  std::vector<uint8_t> out(kMaxChangedNamespaces * 4, 0);
  if (overflowed || nsids.size() > kMaxChangedNamespaces) {
    store_le32(out.data(), 0xffffffff);
    return out;
  }
  for (size_t i = 0; i < nsids.size(); ++i) store_le32(out.data() + 4 * i, nsids[i]);
  return out;
}

std::vector<uint8_t> reservation_notification_log(const ReservationNotice& notice) {
  // Linux struct nvme_pr_log: count at 0, type at 8, available log pages at 9, NSID at 12.
  std::vector<uint8_t> out(kReservationNoticeSize, 0);
  if (notice.type == ReservationNoticeType::empty) return out;  // an empty page is all zero
  store_le64(out.data(), notice.count);
  out[8] = static_cast<uint8_t>(notice.type);
  out[9] = notice.available;
  store_le32(out.data() + 12, notice.nsid);
  return out;
}

std::optional<ReservationNoticeType> reservation_notice_for(Notice notice) {
  switch (notice) {
    case Notice::registrations_preempted: return ReservationNoticeType::registration_preempted;
    case Notice::reservations_released: return ReservationNoticeType::reservation_released;
    case Notice::reservations_preempted: return ReservationNoticeType::reservation_preempted;
    default: return std::nullopt;
  }
}

}  // namespace portico::nvme
