// Identify data structures (NVMe Base 2.0, "Identify command"), each 4096 bytes:
// - CNS 01h Identify Controller (Linux: struct nvme_id_ctrl)
// - CNS 00h Identify Namespace, NVM command set (NVM Command Set 1.0; Linux: struct nvme_id_ns)
// - CNS 02h Active Namespace ID list
// - CNS 03h Namespace Identification Descriptor list (Linux: struct nvme_ns_id_desc)
// The inputs are plain values: whoever answers Identify fills them from the unit and the
// subsystem's configuration. Offsets are checked against the Linux structures named above.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/cluster_state.h"

namespace portico::nvme {

inline constexpr size_t kIdentifySize = 4096;

enum class IdentifyCns : uint8_t {
  namespace_data = 0x00,
  controller = 0x01,
  active_namespaces = 0x02,
  namespace_descriptors = 0x03,
};

// VER / VS: major << 16 | minor << 8 | tertiary (Linux: NVME_VS).
inline constexpr uint32_t kVersion1_4 = 0x00010400;
inline constexpr uint32_t kVersion2_0 = 0x00020000;

enum class ControllerType : uint8_t { io = 0x1, discovery = 0x2, administrative = 0x3 };

struct ControllerInfo {
  uint16_t vendor_id = 0;            // VID (PCI vendor ID; 0 for a fabrics target, as nvmet)
  uint16_t subsystem_vendor_id = 0;  // SSVID
  std::string serial;                // SN: 20 ASCII characters, space padded
  std::string model;                 // MN: 40
  std::string firmware;              // FR: 8
  uint8_t arbitration_burst = 6;     // RAB (nvmet's value)
  uint32_t ieee_oui = 0;             // IEEE: 24 bits, least significant byte first (QEMU: 52:54:00 as 00 54 52)
  bool multi_port = true;            // CMIC bit 0: the subsystem has more than one port
  bool multi_controller = true;      // CMIC bit 1: more than one controller (one per host)
  bool ana_reporting = true;         // CMIC bit 3
  uint8_t max_transfer_pages = 0;    // MDTS: 2^n minimum pages, 0 = no limit
  uint16_t controller_id = 0;        // CNTLID
  uint32_t version = kVersion2_0;    // VER
  bool namespace_attribute_notices = true;  // OAES bit 8
  bool ana_change_notices = true;           // OAES bit 11
  bool discovery_change_notices = false;    // OAES bit 31: a discovery controller's
  bool host_id_128_bit = true;  // CTRATT bit 0: a fabrics controller uses 128-bit host IDs
  ControllerType type = ControllerType::io;  // CNTRLTYPE
  uint8_t abort_limit = 3;        // ACL, 0's based
  uint8_t async_event_limit = 3;  // AERL, 0's based
  uint8_t error_log_entries = 0;  // ELPE, 0's based
  uint16_t keep_alive_granularity_100ms = 10;  // KAS
  uint8_t ana_transition_time_s = 10;          // ANATT
  uint32_t ana_group_max = 0;      // ANAGRPMAX
  uint32_t ana_group_count = 0;    // NANAGRPID
  uint16_t max_commands = 0;       // MAXCMD: outstanding commands per queue (fabrics: required)
  uint32_t namespace_count = 0;    // NN: the largest NSID
  bool compare = true;             // ONCS bit 0
  bool dataset_management = true;  // ONCS bit 2
  bool write_zeroes = true;        // ONCS bit 3
  bool reservations = true;        // ONCS bit 5
  bool verify = true;              // ONCS bit 7 (Linux host: NVME_CTRL_ONCS_VERIFY)
  bool compare_and_write = true;   // FUSES bit 0: Compare + Write fused
  bool volatile_write_cache = false;  // VWC bit 0
  std::string subsystem_nqn;       // SUBNQN, NUL terminated
  uint32_t in_capsule_data_bytes = 0;  // what a command capsule may carry past the SQE
  bool keyed_sgls = false;             // SGLS bit 2: Keyed SGL Data Blocks (the RDMA transport)
  uint8_t max_sgl_descriptors = 1;     // MSDBD
};

std::vector<uint8_t> identify_controller(const ControllerInfo& info);

struct NamespaceInfo {
  uint64_t size_blocks = 0;      // NSZE
  uint64_t capacity_blocks = 0;  // NCAP
  uint64_t used_blocks = 0;      // NUSE
  uint32_t block_size = 512;     // a power of two (512 or more): LBAF0's LBADS is its log2
  bool thin_provisioned = false;   // NSFEAT bit 0
  uint8_t deallocate_features = 0; // DLFEAT (bits 2:0 = 001b: deallocated blocks read as zeroes)
  bool shared = true;              // NMIC bit 0: reachable through several controllers
  bool reservations = true;        // RESCAP: the six types and IEKEY
  bool persist_through_power_loss = true;  // RESCAP bit 0
  uint32_t ana_group_id = 0;       // ANAGRPID
  bool write_protected = false;    // NSATTR bit 0
  LunIdentity identity;            // NGUID and EUI64
};

std::vector<uint8_t> identify_namespace(const NamespaceInfo& info);

// CNS 02h: the active NSIDs greater than `after`, ascending, at most 1024.
std::vector<uint8_t> active_namespace_list(std::span<const uint32_t> active_nsids, uint32_t after);

// CNS 03h: EUI-64 (type 1h), NGUID (2h), UUID (3h) from the unit's identity and, when asked,
// the Command Set Identifier (4h, NVM = 0h), which a 2.0 controller reports.
std::vector<uint8_t> namespace_descriptor_list(const LunIdentity& identity, bool with_command_set = true);

}  // namespace portico::nvme
