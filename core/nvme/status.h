// The status a command completes with (NVMe Base 2.0, "Status Field Definition"): a status
// code type (SCT), a status code (SC) and the retry hints (CRD, More, DNR). The codes below are
// the ones this target returns; every value was checked against the NVME_SC_* enum in Linux's
// include/linux/nvme.h, where a code is written as (SCT << 8) | SC.
#pragma once

#include <cstdint>

namespace portico::nvme {

enum class StatusCodeType : uint8_t {
  generic = 0x0,
  command_specific = 0x1,
  media_error = 0x2,  // media and data integrity errors
  path = 0x3,         // path related status
  vendor_specific = 0x7,
};

// SCT 0h.
enum class GenericStatus : uint8_t {
  success = 0x00,
  invalid_opcode = 0x01,
  invalid_field = 0x02,
  command_id_conflict = 0x03,
  data_transfer_error = 0x04,
  aborted_power_loss = 0x05,
  internal_error = 0x06,
  abort_requested = 0x07,
  aborted_sq_deletion = 0x08,
  aborted_fused_failure = 0x09,
  aborted_fused_missing = 0x0a,
  invalid_namespace = 0x0b,  // "invalid namespace or format"
  command_sequence_error = 0x0c,
  data_sgl_length_invalid = 0x0f,
  sgl_descriptor_type_invalid = 0x11,
  sgl_offset_invalid = 0x16,
  host_identifier_inconsistent = 0x18,  // Reservation Report with EDS=0 under 128-bit host IDs
  keep_alive_expired = 0x19,
  keep_alive_invalid = 0x1a,
  aborted_preempt_and_abort = 0x1b,
  sanitize_in_progress = 0x1d,
  namespace_write_protected = 0x20,
  command_interrupted = 0x21,
  transient_transport_error = 0x22,
  lba_out_of_range = 0x80,
  capacity_exceeded = 0x81,
  namespace_not_ready = 0x82,
  reservation_conflict = 0x83,
};

// SCT 1h: the meaning depends on the command. Connect's codes are those of NVMe over Fabrics
// 1.1's Connect command (Linux: NVME_SC_CONNECT_*, 0x180..0x184).
enum class CommandSpecificStatus : uint8_t {
  invalid_queue_identifier = 0x01,
  invalid_queue_size = 0x02,
  async_event_limit_exceeded = 0x05,
  invalid_log_page = 0x09,
  feature_not_saveable = 0x0d,
  feature_not_changeable = 0x0e,
  feature_not_namespace_specific = 0x0f,
  connect_incompatible_format = 0x80,
  connect_controller_busy = 0x81,
  connect_invalid_parameters = 0x82,
  connect_restart_discovery = 0x83,
  connect_invalid_host = 0x84,
};

// SCT 2h.
enum class MediaStatus : uint8_t {
  write_fault = 0x80,
  unrecovered_read_error = 0x81,
  compare_failure = 0x85,
  access_denied = 0x86,
};

// SCT 3h. The asymmetric access codes tell a multipathing host to try another path.
enum class PathStatus : uint8_t {
  internal_path_error = 0x00,
  ana_persistent_loss = 0x01,
  ana_inaccessible = 0x02,
  ana_transition = 0x03,
  controller_pathing_error = 0x60,
  host_pathing_error = 0x70,
  aborted_by_host = 0x71,
};

struct CompletionStatus {
  StatusCodeType type = StatusCodeType::generic;
  uint8_t code = 0;
  uint8_t retry_delay = 0;  // CRD: 0 none, 1..3 select Identify Controller CRDT1..3
  bool more = false;        // M: more status in the Error Information log page
  bool do_not_retry = false;  // DNR

  constexpr CompletionStatus() = default;
  constexpr CompletionStatus(GenericStatus sc)  // NOLINT(google-explicit-constructor)
      : code(static_cast<uint8_t>(sc)) {}
  constexpr CompletionStatus(CommandSpecificStatus sc)  // NOLINT(google-explicit-constructor)
      : type(StatusCodeType::command_specific), code(static_cast<uint8_t>(sc)) {}
  constexpr CompletionStatus(MediaStatus sc)  // NOLINT(google-explicit-constructor)
      : type(StatusCodeType::media_error), code(static_cast<uint8_t>(sc)) {}
  constexpr CompletionStatus(PathStatus sc)  // NOLINT(google-explicit-constructor)
      : type(StatusCodeType::path), code(static_cast<uint8_t>(sc)) {}

  // The same status with DNR set: retrying the command as sent cannot succeed.
  [[nodiscard]] constexpr CompletionStatus no_retry() const {
    CompletionStatus s = *this;
    s.do_not_retry = true;
    return s;
  }
  [[nodiscard]] constexpr bool ok() const { return type == StatusCodeType::generic && code == 0; }
  // (SCT << 8) | SC: the form Linux's NVME_SC_* constants and log messages use.
  [[nodiscard]] constexpr uint16_t combined() const {
    return static_cast<uint16_t>((static_cast<unsigned>(type) << 8) | code);
  }

  constexpr bool operator==(const CompletionStatus&) const = default;
};

}  // namespace portico::nvme
