// Encoders for the PDUs a target sends (RFC 7143 §11). Each writes the whole 48-byte BHS;
// TotalAHSLength and DataSegmentLength (bytes 4..7) are filled by the connection.
#include <algorithm>

#include "core/common/big_endian.h"
#include "core/scsi/lun_format.h"
#include "frontends/iscsi/protocol/pdu.h"

namespace portico::iscsi {
namespace {

uint8_t* start(std::span<uint8_t, 48> out, Opcode op) {
  std::fill(out.begin(), out.end(), uint8_t{0});
  out[0] = static_cast<uint8_t>(op);
  return out.data();
}

void put_lun(uint8_t* p, uint64_t lun) {
  const auto bytes = scsi::encode_lun(lun);
  std::copy(bytes.begin(), bytes.end(), p + 8);
}

// StatSN, ExpCmdSN, MaxCmdSN sit at 24/28/32 in every target PDU that has them.
void put_sn(uint8_t* p, uint32_t stat_sn, uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  store_be32(p + 24, stat_sn);
  store_be32(p + 28, exp_cmd_sn);
  store_be32(p + 32, max_cmd_sn);
}

}  // namespace

void encode_r2t(const R2tFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::r2t);
  p[1] = 0x80;
  put_lun(p, f.lun);
  store_be32(p + 16, f.itt);
  store_be32(p + 20, f.ttt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
  store_be32(p + 36, f.r2t_sn);
  store_be32(p + 40, f.buffer_offset);
  store_be32(p + 44, f.desired_length);
}

void encode_data_in(const DataInFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::scsi_data_in);
  // §11.7.2: S implies F; O/U and the status are only meaningful with S.
  const bool final = f.final || f.status_present;
  p[1] = static_cast<uint8_t>((final ? 0x80 : 0) | (f.status_present && f.overflow ? 0x04 : 0) |
                              (f.status_present && f.underflow ? 0x02 : 0) | (f.status_present ? 0x01 : 0));
  if (f.status_present) p[3] = f.status;
  // §11.7.4: the LUN is reserved unless a Target Transfer Tag (A bit) is given.
  if (f.ttt != kReservedTaskTag) put_lun(p, f.lun);
  store_be32(p + 16, f.itt);
  store_be32(p + 20, f.ttt);
  put_sn(p, f.status_present ? f.stat_sn : 0, f.exp_cmd_sn, f.max_cmd_sn);
  store_be32(p + 36, f.data_sn);
  store_be32(p + 40, f.buffer_offset);
  if (f.status_present && (f.overflow || f.underflow)) store_be32(p + 44, f.residual);
}

void encode_scsi_response(const ScsiResponseFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::scsi_response);
  p[1] = static_cast<uint8_t>(0x80 | (f.bidi_overflow ? 0x10 : 0) | (f.bidi_underflow ? 0x08 : 0) |
                              (f.overflow ? 0x04 : 0) | (f.underflow ? 0x02 : 0));
  p[2] = f.response;
  p[3] = f.status;
  store_be32(p + 16, f.itt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
  store_be32(p + 36, f.exp_data_sn);
  if (f.bidi_overflow || f.bidi_underflow) store_be32(p + 40, f.bidi_residual);
  if (f.overflow || f.underflow) store_be32(p + 44, f.residual);
}

void encode_nop_in(const NopInFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::nop_in);
  p[1] = 0x80;
  put_lun(p, f.lun);
  store_be32(p + 16, f.itt);
  store_be32(p + 20, f.ttt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
}

void encode_tmf_response(const TmfResponseFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::task_management_response);
  p[1] = 0x80;
  p[2] = f.response;
  store_be32(p + 16, f.itt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
}

void encode_reject(const RejectFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::reject);
  p[1] = 0x80;
  p[2] = f.reason;
  store_be32(p + 16, kReservedTaskTag);  // §11.17: ITT is reserved as 0xffffffff
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
  store_be32(p + 36, f.data_sn);
}

void encode_login_response(const LoginResponseFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::login_response);
  p[1] = static_cast<uint8_t>((f.transit ? 0x80 : 0) | (f.cont ? 0x40 : 0) | ((f.csg & 0x03) << 2) |
                              (f.transit ? (f.nsg & 0x03) : 0));
  p[2] = f.version_max;
  p[3] = f.version_active;
  std::copy(f.isid.begin(), f.isid.end(), p + 8);
  store_be16(p + 14, f.tsih);
  store_be32(p + 16, f.itt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
  p[36] = f.status_class;
  p[37] = f.status_detail;
}

void encode_text_response(const TextResponseFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::text_response);
  p[1] = static_cast<uint8_t>((f.final ? 0x80 : 0) | (f.cont ? 0x40 : 0));
  put_lun(p, f.lun);
  store_be32(p + 16, f.itt);
  store_be32(p + 20, f.ttt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
}

void encode_logout_response(const LogoutResponseFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::logout_response);
  p[1] = 0x80;
  p[2] = f.response;
  store_be32(p + 16, f.itt);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
  store_be16(p + 40, f.time2wait);
  store_be16(p + 42, f.time2retain);
}

void encode_async_message(const AsyncMessageFields& f, std::span<uint8_t, 48> out) {
  uint8_t* p = start(out, Opcode::async_message);
  p[1] = 0x80;
  put_lun(p, f.lun);
  store_be32(p + 16, kReservedTaskTag);
  put_sn(p, f.stat_sn, f.exp_cmd_sn, f.max_cmd_sn);
  p[36] = f.event;
  p[37] = f.vendor_code;
  store_be16(p + 38, f.parameter1);
  store_be16(p + 40, f.parameter2);
  store_be16(p + 42, f.parameter3);
}

}  // namespace portico::iscsi
