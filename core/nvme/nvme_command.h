// One NVMe command as a front-end hands it to the core, and the core's answer: the NVMe
// counterpart of core/scsi/scsi_task.h.
//
// The front-end owns the command (usually inside its own per-command state) and keeps it alive
// until the core has called `done`. All host-to-controller data has arrived before submission
// (in the capsule, or collected with R2T / H2CData): data_out_length() says how much to collect.
#pragma once

#include <cstdint>
#include <span>

#include "core/io_buffer.h"
#include "core/nvme/cqe.h"
#include "core/nvme/sqe.h"
#include "core/task.h"

namespace portico {
class Unit;
}

namespace portico::nvme {

class Controller;

// Opcode bits 1:0 (and FCTYPE bits 1:0 for a Fabrics command) say which way data moves
// (NVMe Base 2.0, "Opcodes for Admin Commands": 01b host to controller, 10b controller to host).
enum class DataTransfer : uint8_t { none = 0, host_to_controller = 1, controller_to_host = 2, bidirectional = 3 };

inline DataTransfer data_transfer_of(const SubmissionEntry& sqe) {
  const uint8_t code = sqe.is_fabrics() ? sqe.raw[4] : sqe.opcode;
  return static_cast<DataTransfer>(code & 0x3);
}

class NvmeCommand : public Task {
 public:
  // --- set by the front-end before submission (Task::tag: queue id << 16 | CID) ---
  SubmissionEntry sqe;
  uint16_t queue_id = 0;
  std::span<const uint8_t> data_out;  // every byte of host-to-controller data the SGL describes

  // Bytes of data the host sends with this command: what its SGL describes, when the command
  // moves data to the controller. The front-end refuses more than its limits allow before that.
  [[nodiscard]] uint32_t data_out_length() const {
    const DataTransfer t = data_transfer_of(sqe);
    return t == DataTransfer::host_to_controller || t == DataTransfer::bidirectional ? sqe.sgl.length : 0;
  }
  // Bytes the host can take back: what its SGL describes, when the command returns data.
  [[nodiscard]] uint32_t data_in_limit() const {
    const DataTransfer t = data_transfer_of(sqe);
    return t == DataTransfer::controller_to_host || t == DataTransfer::bidirectional ? sqe.sgl.length : 0;
  }

  // --- set by the core before `done` ---
  CompletionStatus status;
  uint32_t result_dw0 = 0;
  uint32_t result_dw1 = 0;
  IoBuffer data_in;             // controller-to-host data (may be larger than data_in_length)
  uint32_t data_in_length = 0;  // bytes of valid data_in, at most data_in_limit()

  // --- the core's, while it executes the command ---
  Controller* controller = nullptr;
  Unit* unit = nullptr;  // the namespace's unit, for an I/O command
};

}  // namespace portico::nvme
