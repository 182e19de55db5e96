// Set Features / Get Features (NVMe Base 2.0, "Set Features command", "Get Features command"):
// the feature identifiers this target supports and how their values are encoded in CDW11 (Set)
// and in the completion's DW0 (Get, and Set for some). Identifiers and bits: Linux's
// NVME_FEAT_*, NVME_AEN_*, NVME_PR_NOTIFY_BIT_* (include/linux/nvme.h); handling: nvmet's
// nvmet_execute_set_features / _get_features (drivers/nvme/target/admin-cmd.c, pr.c).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/nvme/sqe.h"

namespace portico::nvme {

enum class FeatureId : uint8_t {
  volatile_write_cache = 0x06,
  number_of_queues = 0x07,
  async_event_configuration = 0x0b,
  keep_alive_timer = 0x0f,
  host_identifier = 0x81,
  reservation_notification_mask = 0x82,
  reservation_persistence = 0x83,
};

// Get Features CDW10 SEL (bits 10:8).
enum class FeatureSelect : uint8_t { current = 0, default_value = 1, saved = 2, supported_capabilities = 3 };

// SEL = 3 answers with these bits in DW0.
inline constexpr uint32_t kCapabilitySaveable = 1u << 0;
inline constexpr uint32_t kCapabilityNamespaceSpecific = 1u << 1;
inline constexpr uint32_t kCapabilityChangeable = 1u << 2;

struct FeatureRequest {
  uint8_t fid = 0;     // CDW10 bits 7:0
  bool save = false;   // Set: CDW10 bit 31 (SV); a feature that cannot be saved refuses it
  FeatureSelect select = FeatureSelect::current;  // Get: CDW10 bits 10:8
  uint32_t value = 0;  // CDW11
};

inline FeatureRequest decode_feature_request(const SubmissionEntry& sqe) {
  const uint32_t cdw10 = sqe.cdw(10);
  return {static_cast<uint8_t>(cdw10), (cdw10 & (1u << 31)) != 0, static_cast<FeatureSelect>((cdw10 >> 8) & 0x7),
          sqe.cdw(11)};
}

// 07h Number of Queues: CDW11 and DW0 hold NSQR / NSQA in bits 15:0 and NCQR / NCQA in 31:16,
// each 0's based (Linux: (max_qid - 1) | (max_qid - 1) << 16). FFFFh requested is invalid.
struct QueueCounts {
  uint32_t submission = 1;  // counts, not 0's based; at most 65535
  uint32_t completion = 1;
};
inline std::optional<QueueCounts> decode_queue_request(uint32_t cdw11) {
  const uint32_t nsqr = cdw11 & 0xffff;
  const uint32_t ncqr = cdw11 >> 16;
  if (nsqr == 0xffff || ncqr == 0xffff) return std::nullopt;
  return QueueCounts{nsqr + 1, ncqr + 1};
}
inline uint32_t encode_queue_counts(QueueCounts allocated) {
  return ((allocated.completion - 1) << 16) | ((allocated.submission - 1) & 0xffff);
}

// 0Bh Asynchronous Event Configuration: which notices raise an event. Bits 7:0 are the SMART /
// health critical warnings; OAES in Identify Controller uses the same positions.
inline constexpr uint32_t kAecNamespaceAttribute = 1u << 8;
inline constexpr uint32_t kAecFirmwareActivation = 1u << 9;
inline constexpr uint32_t kAecAnaChange = 1u << 11;
inline constexpr uint32_t kAecDiscoveryChange = 1u << 31;

// 0Fh Keep Alive Timer: CDW11 is KATO in milliseconds; nvmet keeps whole seconds, rounded up,
// and Get answers KATO * 1000.

// 81h Host Identifier: CDW11 bit 0 (EXHID) selects the 128-bit form, which a fabrics controller
// requires (Get with EXHID 0 is Invalid Field); the identifier itself is the command's data, 16
// or 8 bytes. Over fabrics the host ID comes with Connect and Set Features is Command Sequence
// Error (as nvmet).
inline bool extended_host_id(uint32_t cdw11) { return (cdw11 & 0x1) != 0; }
inline size_t host_id_size(uint32_t cdw11) { return extended_host_id(cdw11) ? 16 : 8; }

// 82h Reservation Notification Mask: a set bit masks (suppresses) that notice.
inline constexpr uint32_t kMaskRegistrationPreempted = 1u << 1;  // REGPRE
inline constexpr uint32_t kMaskReservationReleased = 1u << 2;    // RESREL
inline constexpr uint32_t kMaskReservationPreempted = 1u << 3;   // RESPRE
inline constexpr uint32_t kReservationMaskValid =
    kMaskRegistrationPreempted | kMaskReservationReleased | kMaskReservationPreempted;

// 83h Reservation Persistence: CDW11 / DW0 bit 0 is PTPL (persist through power loss).
inline bool persist_through_power_loss(uint32_t value) { return (value & 0x1) != 0; }
inline uint32_t encode_reservation_persistence(bool ptpl) { return ptpl ? 1u : 0u; }

}  // namespace portico::nvme
