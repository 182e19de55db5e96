// Fuzzes the PDU decoders: BHS, framing, SCSI command with AHS, and the login/text/logout
// field decoders. Input: 48 header bytes, then AHS bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "frontends/iscsi/protocol/pdu.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::iscsi;
  if (size < kBhsSize) return 0;
  const std::span<const uint8_t, 48> header(data, kBhsSize);
  for (int digests = 0; digests < 4; ++digests) {
    (void)pdu_layout(header, (digests & 1) != 0, (digests & 2) != 0, 8192);
  }
  auto bhs = decode_bhs(header);
  if (!bhs.ok()) return 0;
  (void)bhs->lun_number();
  const std::span<const uint8_t> ahs(data + kBhsSize, size - kBhsSize);
  switch (bhs->opcode) {
    case Opcode::scsi_command: {
      auto cmd = decode_scsi_command(*bhs, ahs);
      if (cmd.ok() && !cmd->extended_cdb.empty() && cmd->extended_cdb.size() < 16) __builtin_trap();
      break;
    }
    case Opcode::login_request:
      (void)decode_login_request(*bhs);
      break;
    case Opcode::text_request:
      (void)decode_text_request(*bhs);
      break;
    case Opcode::logout_request:
      (void)decode_logout_request(*bhs);
      break;
    default:
      break;
  }
  return 0;
}
