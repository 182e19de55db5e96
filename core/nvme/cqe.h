// The 16-byte completion queue entry (NVMe Base 2.0, "Completion Queue Entry"; Linux: struct
// nvme_completion):
//   bytes 0-3 DW0 | 4-7 DW1 | 8-9 SQHD | 10-11 SQID | 12-13 CID | 14-15 status field
// where the status field is P (bit 0), SC (8:1), SCT (11:9), CRD (13:12), M (14), DNR (15).
// Linux's nvmet writes it as cpu_to_le16(status << 1) with status = (SCT << 8 | SC) | CRD | M | DNR
// in the shifted form (drivers/nvme/target/core.c, nvmet_set_error / nvmet_req_complete).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/nvme/status.h"

namespace portico::nvme {

inline constexpr size_t kCqeSize = 16;

struct CompletionEntry {
  uint32_t dw0 = 0;  // command specific result (Get Features value, Connect's CNTLID, AER event)
  uint32_t dw1 = 0;  // second half of a 64-bit result (Property Get of an 8-byte property)
  uint16_t sq_head = 0;
  uint16_t sq_id = 0;
  uint16_t cid = 0;
  CompletionStatus status;
  bool phase = false;  // P: a fabrics controller leaves it 0 (no completion queue in host memory)

  void set_result64(uint64_t value) {
    dw0 = static_cast<uint32_t>(value);
    dw1 = static_cast<uint32_t>(value >> 32);
  }
  bool operator==(const CompletionEntry&) const = default;
};

uint16_t encode_status_field(const CompletionStatus& status, bool phase);
CompletionStatus decode_status_field(uint16_t field);

std::array<uint8_t, kCqeSize> encode_cqe(const CompletionEntry& entry);
CompletionEntry decode_cqe(std::span<const uint8_t, kCqeSize> bytes);

}  // namespace portico::nvme
