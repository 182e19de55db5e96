// One NVMe command as the host submits it on a queue, and its completion. The SQE is built by
// the command helpers (admin_commands.h, io_commands.h, ...); the queue fills in what belongs
// to the transport on submission: the CID, PSDT and the SGL descriptor in DPTR.
//
// SQE layout (NVMe Base 2.0, "Submission Queue Entry"; the target's decoder is core/nvme/sqe.h):
//   0 OPC | 1 FUSE (1:0), PSDT (7:6) | 2-3 CID | 4-7 NSID | 24-39 DPTR | 40-63 CDW10..CDW15
// Fabrics commands (opcode 7Fh) put FCTYPE at byte 4 and their own fields at 40..63.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/nvme/cqe.h"
#include "core/nvme/fabrics.h"
#include "core/nvme/sqe.h"

namespace portico::nvme_host {

using Sqe = std::array<uint8_t, nvme::kSqeSize>;

// Host-to-controller data goes in the capsule when it fits the queue's in-capsule limit, else
// the controller fetches it with R2T. A Fabrics Connect always carries its data in the capsule.
enum class DataPlacement : uint8_t { automatic, in_capsule };

struct Command {
  Sqe sqe{};
  std::span<const uint8_t> data_out;  // host to controller; must stay valid until completion
  std::span<uint8_t> data_in;         // controller to host; filled by C2HData
  DataPlacement placement = DataPlacement::automatic;
  uint64_t tag = 0;  // the caller's, returned in the completion (the load generator's slot)
};

struct Completion {
  uint64_t tag = 0;
  nvme::CompletionEntry cqe;
  uint32_t data_in_bytes = 0;  // C2H data received for the command

  [[nodiscard]] bool ok() const { return cqe.status.ok(); }
};

Sqe make_sqe(uint8_t opcode, uint32_t nsid = 0);
Sqe make_fabrics_sqe(nvme::FabricsType type);
void set_cdw(Sqe& sqe, unsigned n, uint32_t value);  // n in 10..15
void set_fuse(Sqe& sqe, nvme::FusedOperation fuse);

// Transport fields, set by the queue.
void set_cid(Sqe& sqe, uint16_t cid);
uint16_t cid_of(const Sqe& sqe);
// PSDT 01b (SGL) and one SGL descriptor in DPTR: address 0 (offset 0 into the in-capsule data,
// ICDOFF being 0, or unused for a transport descriptor), `length`, `identifier`
// (nvme::kSglInCapsule or nvme::kSglTransportData).
void set_sgl(Sqe& sqe, uint8_t identifier, uint32_t length);

}  // namespace portico::nvme_host
