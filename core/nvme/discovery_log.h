// The Discovery log page (70h; NVMe over Fabrics 1.1, "Discovery Log Page"): a 1024-byte header
// (GENCTR, NUMREC, RECFMT) then one 1024-byte entry per way to reach a subsystem. Linux: struct
// nvmf_disc_rsp_page_hdr, nvmf_disc_rsp_page_entry and the NVMF_* enums in include/linux/nvme.h;
// nvmet fills entries in nvmet_format_discovery_entry (drivers/nvme/target/discovery.c).
//
// Entry: 0 TRTYPE | 1 ADRFAM | 2 SUBTYPE | 3 TREQ | 4 PORTID | 6 CNTLID | 8 ASQSZ | 10 EFLAGS
//        32 TRSVCID (32) | 256 SUBNQN (256) | 512 TRADDR (256) | 768 TSAS (256)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace portico::nvme {

inline constexpr size_t kDiscoveryHeaderSize = 1024;
inline constexpr size_t kDiscoveryEntrySize = 1024;
inline constexpr const char* kDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";  // Linux: NVME_DISC_SUBSYS_NAME

enum class TransportType : uint8_t { rdma = 1, fibre_channel = 2, tcp = 3 };
enum class AddressFamily : uint8_t { ipv4 = 1, ipv6 = 2, infiniband = 3, fibre_channel = 4 };

// Linux: enum nvme_subsys_type.
enum class SubsystemType : uint8_t {
  referral = 1,           // another discovery subsystem
  nvme = 2,               // an NVM subsystem with I/O controllers
  current_discovery = 3,  // the discovery subsystem answering
};

// TREQ bits 1:0 (Linux: NVMF_TREQ_*): is a secure channel required.
enum class SecureChannel : uint8_t { not_specified = 0, required = 1, not_required = 2 };
inline constexpr uint8_t kTreqDisableSqFlowControl = 0x04;  // bit 2: SQ flow control may be disabled

// EFLAGS (Linux: NVME_DISC_EFLAGS_*).
inline constexpr uint16_t kEflagsDuplicateReturnInfo = 0x0001;  // DUPRETINFO
inline constexpr uint16_t kEflagsExplicitPersistentConnection = 0x0002;  // EPCSD

// TSAS for TCP: SECTYPE in its first byte (Linux: NVMF_TCP_SECTYPE_*).
enum class TcpSecurityType : uint8_t { none = 0, tls12 = 1, tls13 = 2 };

struct DiscoveryEntry {
  TransportType transport = TransportType::tcp;
  AddressFamily family = AddressFamily::ipv4;
  SubsystemType subsystem_type = SubsystemType::nvme;
  SecureChannel secure_channel = SecureChannel::not_specified;
  bool sq_flow_control_disable = false;
  uint16_t port_id = 0;
  uint16_t controller_id = 0xffff;  // dynamic controller model: any controller (as nvmet)
  uint16_t admin_max_sq_size = 32;  // ASQSZ (nvmet: NVME_AQ_DEPTH)
  uint16_t flags = 0;               // EFLAGS
  std::string service_id;           // TRSVCID: for TCP the port number, "4420"
  std::string subsystem_nqn;
  std::string address;              // TRADDR: "192.0.2.10", "2001:db8::10"
  TcpSecurityType security = TcpSecurityType::none;
};

// The strings are NUL padded as nvmet writes them (nvme-cli strips trailing NULs and spaces alike)
// and cut to leave one NUL at the end of each field.
std::vector<uint8_t> discovery_log(uint64_t generation, std::span<const DiscoveryEntry> entries);

// GENCTR for `entries`: it changes whenever the list does (a hash of what a host connects with),
// so every gateway computes the same one for the same list. Never 0.
uint64_t discovery_generation(std::span<const DiscoveryEntry> entries);

}  // namespace portico::nvme
