// Bringing a fabrics controller up and down through its properties (NVMe Base 2.0, "Controller
// Initialization" and "Shutdown"): read CAP, write CC with EN = 1, wait for CSTS.RDY; for the
// end, CC.SHN = normal and wait for CSTS.SHST = complete.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/common/result.h"
#include "tools/nvme_tcp/host_queue.h"

namespace portico::nvme_host {

// CC with EN = 1, IOSQES = 6 (64-byte SQEs), IOCQES = 4 (16-byte CQEs), CSS NVM, MPS 0 (4 KiB),
// round robin: 0x00460001, what Linux's fabrics host writes.
inline constexpr uint32_t kControllerConfigEnable = 0x00460001;
inline constexpr uint32_t kControllerConfigShutdownNormal = 1u << 14;  // CC.SHN = 01b

struct ControllerCapabilities {
  uint32_t max_queue_entries = 0;  // MQES + 1
  std::chrono::milliseconds ready_timeout{0};  // CAP.TO, in units of 500 ms
};
ControllerCapabilities decode_cap(uint64_t cap);

// Writes CC and polls CSTS until RDY, or fails on CFS or after `timeout`.
Status enable_controller(Queue& admin, std::chrono::milliseconds timeout);
// Writes CC.SHN (normal) and polls CSTS.SHST until complete or `timeout`.
Status shutdown_controller(Queue& admin, std::chrono::milliseconds timeout);

}  // namespace portico::nvme_host
