#include "core/nvme/fabrics.h"

#include <algorithm>
#include <cstring>

#include "core/common/little_endian.h"

namespace portico::nvme {
namespace {

// Byte offsets in the Fabrics SQE (Linux: struct nvmf_connect_command, nvmf_property_*_command,
// nvmf_auth_*_command).
constexpr size_t kFctypeOffset = 4;
constexpr size_t kRecfmtOffset = 40;
constexpr size_t kQidOffset = 42;
constexpr size_t kSqsizeOffset = 44;
constexpr size_t kCattrOffset = 46;
constexpr size_t kKatoOffset = 48;
constexpr size_t kAttribOffset = 40;
constexpr size_t kPropertyOffset = 44;
constexpr size_t kValueOffset = 48;
constexpr size_t kSpsp0Offset = 41;
constexpr size_t kSecpOffset = 43;
constexpr size_t kTransferLengthOffset = 44;

// Offsets in the Connect data (Linux: struct nvmf_connect_data).
constexpr uint16_t kCntlidOffset = 16;
constexpr uint16_t kSubnqnOffset = 256;
constexpr uint16_t kHostnqnOffset = 512;

std::variant<bool, CompletionStatus> property_size(const uint8_t* p) {
  switch (p[kAttribOffset] & 0x07) {
    case 0: return false;
    case 1: return true;
    default: return CompletionStatus(GenericStatus::invalid_field).no_retry();
  }
}

// The NQN in a 256-byte field, or empty when it is not NUL-terminated within kNqnMaxLength + 1.
std::optional<std::string> nqn_at(std::span<const uint8_t> data, size_t offset) {
  const uint8_t* field = data.data() + offset;
  const auto* end = static_cast<const uint8_t*>(std::memchr(field, 0, kNqnMaxLength + 1));
  if (end == nullptr || end == field) return std::nullopt;
  return std::string(field, end);
}

}  // namespace

std::variant<FabricsCommand, CompletionStatus> decode_fabrics_command(const SubmissionEntry& sqe) {
  const uint8_t* p = sqe.raw.data();
  FabricsCommand cmd;
  cmd.cid = sqe.cid;
  switch (p[kFctypeOffset]) {
    case static_cast<uint8_t>(FabricsType::connect): {
      ConnectCommand c;
      c.record_format = load_le16(p + kRecfmtOffset);
      c.queue_id = load_le16(p + kQidOffset);
      c.sq_size = load_le16(p + kSqsizeOffset);
      c.attributes = p[kCattrOffset];
      c.keep_alive_ms = load_le32(p + kKatoOffset);
      c.data = sqe.sgl;
      cmd.type = FabricsType::connect;
      cmd.body = c;
      return cmd;
    }
    case static_cast<uint8_t>(FabricsType::property_get): {
      auto size = property_size(p);
      if (auto* status = std::get_if<CompletionStatus>(&size)) return *status;
      cmd.type = FabricsType::property_get;
      cmd.body = PropertyGetCommand{std::get<bool>(size), load_le32(p + kPropertyOffset)};
      return cmd;
    }
    case static_cast<uint8_t>(FabricsType::property_set): {
      auto size = property_size(p);
      if (auto* status = std::get_if<CompletionStatus>(&size)) return *status;
      cmd.type = FabricsType::property_set;
      cmd.body = PropertySetCommand{std::get<bool>(size), load_le32(p + kPropertyOffset), load_le64(p + kValueOffset)};
      return cmd;
    }
    case static_cast<uint8_t>(FabricsType::authentication_send):
    case static_cast<uint8_t>(FabricsType::authentication_receive): {
      cmd.type = static_cast<FabricsType>(p[kFctypeOffset]);
      cmd.body = AuthenticationCommand{p[kSecpOffset], p[kSpsp0Offset], p[kSpsp0Offset + 1],
                                       load_le32(p + kTransferLengthOffset), sqe.sgl};
      return cmd;
    }
    case static_cast<uint8_t>(FabricsType::disconnect):
      cmd.type = FabricsType::disconnect;
      cmd.body = DisconnectCommand{load_le16(p + kRecfmtOffset)};
      return cmd;
    default:
      // As nvmet does for an unknown capsule type (drivers/nvme/target/fabrics-cmd.c).
      return CompletionStatus(GenericStatus::invalid_opcode).no_retry();
  }
}

std::variant<ConnectData, ConnectRejection> decode_connect_data(std::span<const uint8_t> data) {
  const CompletionStatus invalid = CompletionStatus(CommandSpecificStatus::connect_invalid_parameters).no_retry();
  if (data.size() < kConnectDataSize) {
    return ConnectRejection{CompletionStatus(GenericStatus::data_sgl_length_invalid).no_retry(), 0};
  }
  ConnectData out;
  std::copy_n(data.begin(), out.host_id.size(), out.host_id.begin());
  out.controller_id = load_le16(data.data() + kCntlidOffset);
  auto subnqn = nqn_at(data, kSubnqnOffset);
  if (!subnqn) return ConnectRejection{invalid, connect_invalid_parameter_dw0(true, kSubnqnOffset)};
  auto hostnqn = nqn_at(data, kHostnqnOffset);
  if (!hostnqn) return ConnectRejection{invalid, connect_invalid_parameter_dw0(true, kHostnqnOffset)};
  out.subsystem_nqn = std::move(*subnqn);
  out.host_nqn = std::move(*hostnqn);
  return out;
}

}  // namespace portico::nvme
