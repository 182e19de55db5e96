// Decoding of initiator PDUs (RFC 7143 §11).
#include "frontends/iscsi/protocol/pdu.h"

#include <string>

#include "core/common/big_endian.h"

namespace portico::iscsi {
namespace {

bool is_initiator_opcode(uint8_t op) {
  switch (op) {
    case 0x00: case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x10:
      return true;
    default:
      return false;
  }
}

constexpr uint8_t kAhsExtendedCdb = 1;  // §11.2.1.3
constexpr uint8_t kAhsBidiReadLength = 2;

}  // namespace

uint64_t Bhs::lun_number() const {
  // SAM-5 4.7: only the first level may be used by a single-level LUN.
  for (size_t i = 2; i < lun.size(); ++i) {
    if (lun[i] != 0) return kInvalidLun;
  }
  const uint8_t method = static_cast<uint8_t>(lun[0] >> 6);
  if (method == 0 || method == 1) {
    // Flat space addressing (01b), and peripheral device addressing (00b): below 256 the bus
    // identifier is 0; from 256 on, libiscsi (its tools, QEMU's iscsi driver) sends the LUN's
    // high bits there, and Linux's LIO reads both forms as the same 14-bit number. A target
    // without buses behind its LUs has no other meaning for them.
    return (static_cast<uint64_t>(lun[0] & 0x3f) << 8) | lun[1];
  }
  return kInvalidLun;
}

Result<Bhs> decode_bhs(std::span<const uint8_t, 48> header) {
  const uint8_t* p = header.data();
  const auto op = static_cast<uint8_t>(p[0] & 0x3f);
  if (!is_initiator_opcode(op)) {
    return error(ErrorCode::unsupported, "iscsi: opcode 0x" + std::to_string(op) + " is not an initiator opcode");
  }
  Bhs bhs;
  std::copy(header.begin(), header.end(), bhs.raw.begin());
  bhs.opcode = static_cast<Opcode>(op);
  bhs.immediate = (p[0] & 0x40) != 0;
  bhs.final_bit = (p[1] & 0x80) != 0;
  bhs.total_ahs_length = p[4];
  bhs.data_segment_length = load_be24(p + 5);
  std::copy(p + 8, p + 16, bhs.lun.begin());
  bhs.itt = load_be32(p + 16);
  bhs.cmd_sn = load_be32(p + 24);
  bhs.exp_stat_sn = load_be32(p + 28);
  switch (bhs.opcode) {
    case Opcode::scsi_command:
    case Opcode::login_request:
    case Opcode::logout_request:
      break;  // bytes 20..23 are EDTL / CID: see the opcode decoders
    case Opcode::task_management_request:
      bhs.referenced_task_tag = load_be32(p + 20);
      break;
    case Opcode::scsi_data_out:
      bhs.ttt = load_be32(p + 20);
      bhs.cmd_sn = 0;  // §11.7: bytes 24..27 are reserved in Data-Out
      bhs.data_sn = load_be32(p + 36);
      bhs.buffer_offset = load_be32(p + 40);
      break;
    default:
      bhs.ttt = load_be32(p + 20);
      break;
  }
  return bhs;
}

Result<PduLayout> pdu_layout(std::span<const uint8_t, 48> header, bool header_digest, bool data_digest,
                             uint32_t max_data_segment) {
  const uint32_t data_length = load_be24(header.data() + 5);
  if (data_length > max_data_segment) {
    return error(ErrorCode::out_of_range, "iscsi: DataSegmentLength " + std::to_string(data_length) +
                                              " exceeds the limit of " + std::to_string(max_data_segment));
  }
  PduLayout l;
  l.ahs_length = size_t{header[4]} * 4;
  l.header_digest_offset = kBhsSize + l.ahs_length;
  l.data_offset = l.header_digest_offset + (header_digest ? 4 : 0);
  l.data_length = data_length;
  l.padded_data_length = (l.data_length + 3) & ~size_t{3};
  l.data_digest_offset = l.data_offset + l.padded_data_length;
  l.total_length = l.data_digest_offset + (data_digest && data_length > 0 ? 4 : 0);
  return l;
}

Result<ScsiCommandFields> decode_scsi_command(const Bhs& bhs, std::span<const uint8_t> ahs) {
  const uint8_t* p = bhs.raw.data();
  ScsiCommandFields f;
  f.read = (p[1] & 0x40) != 0;
  f.write = (p[1] & 0x20) != 0;
  f.task_attribute = static_cast<uint8_t>(p[1] & 0x07);
  f.expected_data_transfer_length = load_be32(p + 20);
  std::copy(p + 32, p + 48, f.cdb.begin());
  // §11.2.1.2: each AHS is AHSLength (2), AHSType (1), then AHSLength bytes, padded to 4.
  size_t pos = 0;
  while (pos < ahs.size()) {
    if (ahs.size() - pos < 4) return error(ErrorCode::invalid_argument, "iscsi: truncated AHS");
    const size_t length = load_be16(ahs.data() + pos);
    const uint8_t type = static_cast<uint8_t>(ahs[pos + 2] & 0x3f);
    const size_t padded = (3 + length + 3) & ~size_t{3};
    if (padded > ahs.size() - pos) return error(ErrorCode::invalid_argument, "iscsi: AHS overruns the header");
    const uint8_t* body = ahs.data() + pos + 3;  // the reserved byte, then the type's data
    if (type == kAhsExtendedCdb) {
      // §11.2.1.3: AHSLength = CDB length - 15; the AHS holds the CDB bytes after the first 16.
      if (length < 2 || !f.extended_cdb.empty()) {
        return error(ErrorCode::invalid_argument, "iscsi: bad extended CDB AHS");
      }
      f.extended_cdb.assign(f.cdb.begin(), f.cdb.end());
      f.extended_cdb.insert(f.extended_cdb.end(), body + 1, body + length);
    } else if (type == kAhsBidiReadLength) {
      if (length != 5) return error(ErrorCode::invalid_argument, "iscsi: bad bidirectional read length AHS");
      f.bidi_read_length = load_be32(body + 1);
    } else {
      return error(ErrorCode::unsupported, "iscsi: unknown AHS type " + std::to_string(type));
    }
    pos += padded;
  }
  return f;
}

LoginRequestFields decode_login_request(const Bhs& bhs) {
  const uint8_t* p = bhs.raw.data();
  LoginRequestFields f;
  f.transit = (p[1] & 0x80) != 0;
  f.cont = (p[1] & 0x40) != 0;
  f.csg = static_cast<uint8_t>((p[1] >> 2) & 0x03);
  f.nsg = static_cast<uint8_t>(p[1] & 0x03);
  f.version_max = p[2];
  f.version_min = p[3];
  std::copy(p + 8, p + 14, f.isid.begin());
  f.tsih = load_be16(p + 14);
  f.itt = load_be32(p + 16);
  f.cid = load_be16(p + 20);
  f.cmd_sn = load_be32(p + 24);
  f.exp_stat_sn = load_be32(p + 28);
  return f;
}

TextRequestFields decode_text_request(const Bhs& bhs) {
  const uint8_t* p = bhs.raw.data();
  TextRequestFields f;
  f.final = (p[1] & 0x80) != 0;
  f.cont = (p[1] & 0x40) != 0;
  f.itt = load_be32(p + 16);
  f.ttt = load_be32(p + 20);
  return f;
}

LogoutRequestFields decode_logout_request(const Bhs& bhs) {
  const uint8_t* p = bhs.raw.data();
  LogoutRequestFields f;
  f.reason = static_cast<uint8_t>(p[1] & 0x7f);
  f.itt = load_be32(p + 16);
  f.cid = load_be16(p + 20);
  return f;
}

}  // namespace portico::iscsi
