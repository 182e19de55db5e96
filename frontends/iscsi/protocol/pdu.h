// iSCSI PDUs (RFC 7143 §11): decoding of the Basic Header Segment and of what an initiator sends,
// and encoders for what a target sends. Decoders read explicit big-endian fields out of a bounded
// span; every length is checked before it is trusted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/common/result.h"

namespace portico::iscsi {

inline constexpr size_t kBhsSize = 48;
inline constexpr uint32_t kReservedTaskTag = 0xffffffffu;  // RFC 7143 §11.2.1.8 / §11.18.2
inline constexpr uint64_t kInvalidLun = ~uint64_t{0};

enum class Opcode : uint8_t {
  nop_out = 0x00,
  scsi_command = 0x01,
  task_management_request = 0x02,
  login_request = 0x03,
  text_request = 0x04,
  scsi_data_out = 0x05,
  logout_request = 0x06,
  snack_request = 0x10,
  nop_in = 0x20,
  scsi_response = 0x21,
  task_management_response = 0x22,
  login_response = 0x23,
  text_response = 0x24,
  scsi_data_in = 0x25,
  logout_response = 0x26,
  r2t = 0x31,
  async_message = 0x32,
  reject = 0x3f,
};

// RFC 7143 §11.17.1 Reject reasons.
inline constexpr uint8_t kRejectDataDigestError = 0x02;
inline constexpr uint8_t kRejectSnackReject = 0x03;
inline constexpr uint8_t kRejectProtocolError = 0x04;
inline constexpr uint8_t kRejectCommandNotSupported = 0x05;
inline constexpr uint8_t kRejectImmediateCommandReject = 0x06;
inline constexpr uint8_t kRejectTaskInProgress = 0x07;
inline constexpr uint8_t kRejectInvalidDataAck = 0x08;
inline constexpr uint8_t kRejectInvalidPduField = 0x09;
inline constexpr uint8_t kRejectLongOpReject = 0x0a;
inline constexpr uint8_t kRejectWaitingForLogout = 0x0c;

// The fields every initiator PDU carries at the same place (RFC 7143 §11.2.1). Opcode-specific
// bytes stay in `raw`; the fields below are zero where the opcode does not define them.
struct Bhs {
  std::array<uint8_t, 48> raw{};
  Opcode opcode = Opcode::nop_out;
  bool immediate = false;
  bool final_bit = false;
  uint8_t total_ahs_length = 0;  // in 4-byte words
  uint32_t data_segment_length = 0;
  std::array<uint8_t, 8> lun{};
  uint32_t itt = 0;
  uint32_t ttt = 0;  // bytes 20..23: TTT (NOP-Out, Text, Data-Out, SNACK)
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  uint32_t data_sn = 0;                  // Data-Out
  uint32_t buffer_offset = 0;            // Data-Out
  uint32_t referenced_task_tag = kReservedTaskTag;  // Task Management Request

  // SAM-5 4.7 single-level LUN: peripheral (00b) or flat space (01b) addressing. Anything else
  // (hierarchical, extended) yields kInvalidLun, which no logical unit answers to.
  [[nodiscard]] uint64_t lun_number() const;
};

// Decodes an initiator PDU header; target opcodes and unknown opcodes are errors.
Result<Bhs> decode_bhs(std::span<const uint8_t, 48> header);

// Where the parts of a PDU sit, counted from the first header byte (RFC 7143 §11.1).
struct PduLayout {
  size_t total_length = 0;
  size_t ahs_length = 0;
  size_t header_digest_offset = 0;  // valid only with header digests
  size_t data_offset = 0;
  size_t data_length = 0;
  size_t padded_data_length = 0;
  size_t data_digest_offset = 0;  // valid only with data digests and data_length > 0
};
// Fails if DataSegmentLength exceeds `max_data_segment`: such a PDU cannot be framed safely.
Result<PduLayout> pdu_layout(std::span<const uint8_t, 48> header, bool header_digest, bool data_digest,
                             uint32_t max_data_segment);

// --- Initiator PDUs -------------------------------------------------------------------------

struct ScsiCommandFields {
  bool read = false;
  bool write = false;
  uint8_t task_attribute = 0;  // §11.3.1.2: 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA
  std::array<uint8_t, 16> cdb{};
  std::vector<uint8_t> extended_cdb;  // whole CDB (16 + AHS bytes) when an extended CDB AHS came
  uint32_t expected_data_transfer_length = 0;
  uint32_t bidi_read_length = 0;  // Bidirectional Read Expected Data Transfer Length AHS
};
Result<ScsiCommandFields> decode_scsi_command(const Bhs& bhs, std::span<const uint8_t> ahs);

// §11.12 Login Request.
struct LoginRequestFields {
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t version_max = 0;
  uint8_t version_min = 0;
  std::array<uint8_t, 6> isid{};
  uint16_t tsih = 0;
  uint32_t itt = 0;
  uint16_t cid = 0;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
};
LoginRequestFields decode_login_request(const Bhs& bhs);

// §11.10 Text Request.
struct TextRequestFields {
  bool final = false;
  bool cont = false;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTaskTag;
};
TextRequestFields decode_text_request(const Bhs& bhs);

// §11.14 Logout Request.
struct LogoutRequestFields {
  uint8_t reason = 0;  // 0 close session, 1 close connection, 2 remove connection for recovery
  uint32_t itt = 0;
  uint16_t cid = 0;
};
LogoutRequestFields decode_logout_request(const Bhs& bhs);

// --- Target PDUs: encoders write all 48 bytes; DataSegmentLength/TotalAHSLength stay 0 -------

struct R2tFields {
  uint64_t lun = 0;
  uint32_t itt = 0, ttt = 0, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0, r2t_sn = 0, buffer_offset = 0,
           desired_length = 0;
};
struct DataInFields {
  uint64_t lun = 0;
  uint32_t itt = 0, ttt = kReservedTaskTag, data_sn = 0, buffer_offset = 0;
  bool final = false;
  bool status_present = false;
  uint8_t status = 0;
  bool overflow = false, underflow = false;
  uint32_t residual = 0, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
};
struct ScsiResponseFields {
  uint32_t itt = 0;
  uint8_t response = 0;
  uint8_t status = 0;
  bool overflow = false, underflow = false;
  uint32_t residual = 0, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
  uint32_t exp_data_sn = 0;
  bool bidi_overflow = false, bidi_underflow = false;
  uint32_t bidi_residual = 0;
};
struct NopInFields {
  uint64_t lun = 0;
  uint32_t itt = kReservedTaskTag, ttt = kReservedTaskTag, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
};
struct TmfResponseFields {
  uint32_t itt = 0;
  uint8_t response = 0;
  uint32_t stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
};
struct RejectFields {
  uint8_t reason = 0;
  uint32_t stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0, data_sn = 0;
};
struct LoginResponseFields {
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0, nsg = 0;
  uint8_t version_max = 0, version_active = 0;
  std::array<uint8_t, 6> isid{};
  uint16_t tsih = 0;
  uint32_t itt = 0, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
  uint8_t status_class = 0, status_detail = 0;
};
struct TextResponseFields {
  bool final = true;
  bool cont = false;
  uint64_t lun = 0;
  uint32_t itt = 0, ttt = kReservedTaskTag, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
};
struct LogoutResponseFields {
  uint8_t response = 0;  // 0 ok, 1 CID not found, 2 recovery not supported, 3 cleanup failed
  uint32_t itt = 0, stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
  uint16_t time2wait = 0, time2retain = 0;
};
struct AsyncMessageFields {
  uint64_t lun = 0;
  uint8_t event = 0;  // §11.9.1: 1 target requests logout, 2 drop connection, 3 drop all, 4 renegotiate
  uint8_t vendor_code = 0;
  uint16_t parameter1 = 0, parameter2 = 0, parameter3 = 0;
  uint32_t stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
};

void encode_r2t(const R2tFields& f, std::span<uint8_t, 48> out);
void encode_data_in(const DataInFields& f, std::span<uint8_t, 48> out);
void encode_scsi_response(const ScsiResponseFields& f, std::span<uint8_t, 48> out);
void encode_nop_in(const NopInFields& f, std::span<uint8_t, 48> out);
void encode_tmf_response(const TmfResponseFields& f, std::span<uint8_t, 48> out);
void encode_reject(const RejectFields& f, std::span<uint8_t, 48> out);
void encode_login_response(const LoginResponseFields& f, std::span<uint8_t, 48> out);
void encode_text_response(const TextResponseFields& f, std::span<uint8_t, 48> out);
void encode_logout_response(const LogoutResponseFields& f, std::span<uint8_t, 48> out);
void encode_async_message(const AsyncMessageFields& f, std::span<uint8_t, 48> out);

}  // namespace portico::iscsi
