// The Fabrics command forms (opcode 7Fh; NVMe over Fabrics 1.1, "Fabrics Command"; Linux: struct
// nvmf_common_command and its kin in include/linux/nvme.h): FCTYPE at byte 4 selects the command,
// bytes 40-63 carry its fields. Also the 1024-byte Connect data (Linux: struct nvmf_connect_data)
// and the Connect completion's DW0.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "core/nvme/sqe.h"
#include "core/nvme/status.h"

namespace portico::nvme {

// Linux: enum nvmf_capsule_command; Disconnect (08h, NVMe over Fabrics 1.1) is libnvme's
// nvme_fabrics_type_disconnect.
// The transport an association runs over: what its controller announces it takes (Identify
// Controller SGLS: RDMA controllers take Keyed SGL Data Blocks, which Linux's RDMA host requires).
enum class FabricsTransport : uint8_t { tcp, rdma };

enum class FabricsType : uint8_t {
  property_set = 0x00,
  connect = 0x01,
  property_get = 0x04,
  authentication_send = 0x05,
  authentication_receive = 0x06,
  disconnect = 0x08,
};

struct ConnectCommand {
  uint16_t record_format = 0;  // RECFMT: 0 is the only format
  uint16_t queue_id = 0;       // QID: 0 = admin queue
  uint16_t sq_size = 0;        // SQSIZE, 0's based
  uint8_t attributes = 0;      // CATTR
  uint32_t keep_alive_ms = 0;  // KATO (admin queue only)
  SglDescriptor data;          // where the 1024-byte Connect data is

  // CATTR bit 2 (Linux: NVME_CONNECT_DISABLE_SQFLOW): the host asks for no SQ flow control.
  [[nodiscard]] bool disable_sq_flow_control() const { return (attributes & 0x04) != 0; }
};

struct PropertyGetCommand {
  bool eight_bytes = false;  // ATTRIB bits 2:0: 0 = 4-byte property, 1 = 8-byte property
  uint32_t offset = 0;       // OFST into the controller's property space (CAP 0h, VS 8h, CC 14h...)
};
struct PropertySetCommand {
  bool eight_bytes = false;
  uint32_t offset = 0;
  uint64_t value = 0;
};
struct AuthenticationCommand {
  uint8_t security_protocol = 0;  // SECP (E9h: DH-HMAC-CHAP)
  uint8_t spsp0 = 0;
  uint8_t spsp1 = 0;
  uint32_t length = 0;  // TL (send) or AL (receive)
  SglDescriptor data;
};
struct DisconnectCommand {
  uint16_t record_format = 0;
};

struct FabricsCommand {
  FabricsType type = FabricsType::connect;
  uint16_t cid = 0;
  std::variant<PropertySetCommand, ConnectCommand, PropertyGetCommand, AuthenticationCommand, DisconnectCommand>
      body;
};

// An unknown FCTYPE or an invalid property size gives the status to complete with.
std::variant<FabricsCommand, CompletionStatus> decode_fabrics_command(const SubmissionEntry& sqe);

inline constexpr size_t kConnectDataSize = 1024;
inline constexpr size_t kNqnFieldSize = 256;  // Linux: NVMF_NQN_FIELD_LEN
// NVMe Base 2.0, "NVMe Qualified Names": at most 223 bytes (Linux: NVMF_NQN_SIZE).
inline constexpr size_t kNqnMaxLength = 223;
inline constexpr uint16_t kDynamicControllerId = 0xffff;  // Linux: NVME_CNTLID_DYNAMIC

struct ConnectData {
  std::array<uint8_t, 16> host_id{};  // HOSTID at 0
  uint16_t controller_id = 0;         // CNTLID at 16: FFFFh asks for any (dynamic model)
  std::string subsystem_nqn;          // SUBNQN at 256
  std::string host_nqn;               // HOSTNQN at 512
};

// A refused Connect: its status and the completion's DW0 (for Invalid Parameters, which byte).
struct ConnectRejection {
  CompletionStatus status;
  uint32_t dw0 = 0;
};

// Connect's DW0 when the status is Connect Invalid Parameters: IPO (bits 15:0) is the byte offset
// of the offending field, IATTR (bit 16) says whether it is in the Connect data (1) or the SQE (0).
// Linux: IPO_IATTR_CONNECT_DATA / IPO_IATTR_CONNECT_SQE in drivers/nvme/target/nvmet.h.
inline uint32_t connect_invalid_parameter_dw0(bool in_connect_data, uint16_t offset) {
  return (in_connect_data ? (1u << 16) : 0u) | offset;
}

// A successful Connect reports the controller's CNTLID in DW0 bits 15:0 (Linux: result.u16).
inline uint32_t connect_success_dw0(uint16_t controller_id) { return controller_id; }

// `data` is what the host sent (its SGL's length): at least 1024 bytes, both NQNs NUL-terminated
// and at most kNqnMaxLength long (stricter than nvmet, which cuts an NQN at its field's end and
// lets the subsystem or host lookup fail instead).
std::variant<ConnectData, ConnectRejection> decode_connect_data(std::span<const uint8_t> data);

}  // namespace portico::nvme
