// The Asymmetric Namespace Access log page (0Ch; NVMe Base 2.0, "Asymmetric Namespace Access"):
// a 16-byte header (change count, number of group descriptors) then one descriptor per ANA
// group: group ID, number of NSIDs, change count, state, then the NSIDs. Linux: struct
// nvme_ana_rsp_hdr, nvme_ana_group_desc, NVME_ANA_LOG_RGO; nvmet's builder is
// nvmet_execute_get_log_page_ana (drivers/nvme/target/admin-cmd.c).
//
// A target port group (ALUA) and an ANA group are the same thing here: Initiator's
// target_port_group_id names both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/cluster_state.h"

namespace portico::nvme {

// Linux: enum nvme_ana_state.
enum class AnaState : uint8_t {
  optimized = 0x1,
  non_optimized = 0x2,
  inaccessible = 0x3,
  persistent_loss = 0x4,
  change = 0xf,
};

// One access state model for both command sets: optimized and non-optimized map one to one,
// standby and unavailable are inaccessible (NVMe has no standby; persistent loss would tell the
// host never to come back through this controller), transitioning is change.
AnaState ana_state_from(AluaState state);

struct AnaGroup {
  uint32_t id = 0;
  AnaState state = AnaState::optimized;
  uint64_t change_count = 0;
  std::vector<uint32_t> nsids;  // the group's namespaces attached to this controller
};

inline constexpr size_t kAnaHeaderSize = 16;
inline constexpr size_t kAnaGroupDescriptorSize = 32;
inline constexpr uint8_t kAnaReturnGroupsOnly = 0x01;  // LSP bit 0 (RGO)

// `groups_only` (RGO): every descriptor has NNSID 0 and no NSID list. NSIDs are listed ascending.
std::vector<uint8_t> ana_log(uint64_t change_count, std::span<const AnaGroup> groups, bool groups_only);

}  // namespace portico::nvme
