// How much of a write command's data to write when the initiator sent less than the CDB's
// transfer length (iSCSI Expected Data Transfer Length < transfer length, SAM-5 5.4.3 overflow).
#pragma once

#include <cstdint>
#include <optional>

#include "core/scsi/scsi_task.h"

namespace portico::scsi {

// The whole blocks the initiator did send are written and the rest is reported as an overflow
// residual (as a target that stops the transfer at EDTL does). A partial block would tear it,
// so that case returns nullopt: the caller answers INVALID FIELD IN INFORMATION UNIT.
inline std::optional<uint32_t> writable_data_out(const ScsiTask& task, uint32_t needed, uint32_t block_size) {
  if (task.data_out.size() >= needed) return needed;
  if (task.data_out.size() % block_size != 0) return std::nullopt;
  return static_cast<uint32_t>(task.data_out.size());
}

}  // namespace portico::scsi
