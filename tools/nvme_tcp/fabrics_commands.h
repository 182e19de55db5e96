// The Fabrics commands a host sends (opcode 7Fh; NVMe over Fabrics 1.1, "Fabrics Command Set"):
// Connect with its 1024 bytes of Connect data, Property Get / Set, Disconnect. The field
// offsets are those the target decodes in core/nvme/fabrics.cc.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/common/result.h"
#include "core/nvme/fabrics.h"
#include "tools/nvme_tcp/command.h"
#include "tools/nvme_tcp/host_queue.h"

namespace portico::nvme_host {

using HostId = std::array<uint8_t, 16>;

// Controller properties (NVMe Base 2.0, "Controller Registers"): offsets and sizes.
inline constexpr uint32_t kPropertyCap = 0x00;   // 8 bytes
inline constexpr uint32_t kPropertyVs = 0x08;    // 4 bytes
inline constexpr uint32_t kPropertyCc = 0x14;    // 4 bytes
inline constexpr uint32_t kPropertyCsts = 0x1c;  // 4 bytes

struct ConnectArgs {
  uint16_t queue_id = 0;
  uint16_t sq_size = 31;        // SQSIZE, 0's based
  uint32_t keep_alive_ms = 0;   // KATO: admin queue only
  uint16_t controller_id = nvme::kDynamicControllerId;  // FFFFh on the admin queue
  HostId host_id{};
  std::string subsystem_nqn;
  std::string host_nqn;
};

// HOSTID at 0, CNTLID at 16, SUBNQN at 256, HOSTNQN at 512; NQNs NUL-terminated, longer ones cut
// at kNqnMaxLength (the controller then refuses them with Connect Invalid Parameters).
std::array<uint8_t, nvme::kConnectDataSize> encode_connect_data(const ConnectArgs& args);
Sqe connect_sqe(const ConnectArgs& args);
Sqe property_get_sqe(uint32_t offset, bool eight_bytes);
Sqe property_set_sqe(uint32_t offset, uint64_t value, bool eight_bytes);
Sqe disconnect_sqe();

// Connect on `queue`; the CNTLID from the completion's DW0. A refusal names the status and, for
// Connect Invalid Parameters, the offending field (IATTR/IPO).
Result<uint16_t> connect(Queue& queue, const ConnectArgs& args);
Result<uint64_t> property_get(Queue& queue, uint32_t offset, bool eight_bytes);
Status property_set(Queue& queue, uint32_t offset, uint64_t value, bool eight_bytes = false);
Status disconnect(Queue& queue);

}  // namespace portico::nvme_host
