// Where an NVMe/RDMA command's data is (NVMe over Fabrics 1.1, "RDMA Transport": "Command
// Capsules"): in the capsule after the SQE (a Data Block SGL with sub type Offset), or in the
// host's memory (a Keyed SGL Data Block: address, length and the remote key that the controller
// reads with RDMA READ and writes with RDMA WRITE; sub type Invalidate Key asks the controller
// to invalidate the key with its response). Pure: decided from the SQE and the capsule's size.
#pragma once

#include <cstdint>
#include <variant>

#include "core/nvme/cqe.h"
#include "core/nvme/sqe.h"

namespace portico::nvmeof {

inline constexpr uint8_t kSglKeyedAddress = 0x40;     // Keyed SGL Data Block, sub type Address
inline constexpr uint8_t kSglKeyedInvalidate = 0x4f;  // Keyed SGL Data Block, sub type Invalidate Key

struct RdmaDataPlan {
  enum class Where { none, in_capsule, host_memory };
  Where where = Where::none;
  bool to_controller = false;      // the host sends data (a write); otherwise it receives it
  uint32_t length = 0;             // bytes the SGL describes
  uint32_t capsule_offset = 0;     // in_capsule: where the data starts after the SQE
  uint64_t remote_address = 0;     // host_memory
  uint32_t remote_key = 0;
  bool invalidate_key = false;     // answer with SEND with Invalidate of remote_key
};

// `in_capsule_bytes`: what arrived after the 64-byte SQE; `in_capsule_limit`: what this queue
// takes (IOCCSZ's data part). Refusals, as nvmet-rdma answers them: an SGL type a host must not
// use (SGL Descriptor Type Invalid), in-capsule data for a command returning data (the same),
// an offset beyond the capsule's data (SGL Offset Invalid), a length beyond what arrived (Data
// SGL Length Invalid).
std::variant<RdmaDataPlan, nvme::CompletionStatus> plan_rdma_data(const nvme::SubmissionEntry& sqe,
                                                                  uint32_t data_out, uint32_t data_in,
                                                                  uint32_t in_capsule_bytes,
                                                                  uint32_t in_capsule_limit);

}  // namespace portico::nvmeof
