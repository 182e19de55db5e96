// The fields of Identify Controller (CNS 01h) and Identify Namespace (CNS 00h) a host acts on,
// read from the 4096-byte data at the offsets the target writes them (core/nvme/identify.cc;
// NVMe Base 2.0 and NVMe over Fabrics 1.1 for the fabrics fields).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/nvme/identify.h"

namespace portico::nvme_host {

using IdentifyData = std::span<const uint8_t, nvme::kIdentifySize>;

struct ControllerIdentity {
  uint16_t vendor_id = 0;
  std::string serial;    // SN, trailing spaces removed
  std::string model;     // MN
  std::string firmware;  // FR
  uint8_t mdts = 0;      // 2^MDTS minimum pages per command, 0: no limit
  uint16_t controller_id = 0;
  uint32_t version = 0;
  uint8_t controller_type = 0;  // CNTRLTYPE: 1 I/O, 2 discovery, 3 administrative
  uint16_t keep_alive_granularity_100ms = 0;  // KAS
  uint16_t max_commands = 0;  // MAXCMD
  uint32_t namespace_count = 0;  // NN
  uint16_t oncs = 0;   // optional NVM commands: bit 0 Compare, bit 5 reservations
  uint16_t fuses = 0;  // bit 0: Compare and Write fused
  bool volatile_write_cache = false;
  std::string subsystem_nqn;
  uint32_t ioccsz = 0;  // I/O command capsule size, 16-byte units (SQE included)
  uint32_t iorcsz = 0;
  uint16_t icdoff = 0;
  uint8_t msdbd = 0;

  // Data bytes an I/O command capsule may carry after its SQE.
  [[nodiscard]] uint32_t in_capsule_data_bytes() const { return ioccsz * 16 > 64 ? ioccsz * 16 - 64 : 0; }
};

struct NamespaceIdentity {
  uint64_t size_blocks = 0;      // NSZE
  uint64_t capacity_blocks = 0;  // NCAP
  uint64_t used_blocks = 0;      // NUSE
  uint32_t block_size = 0;       // of the format FLBAS selects; 0 when its LBADS is not 9..31
  uint16_t metadata_bytes = 0;
  uint8_t nmic = 0;
  uint8_t rescap = 0;  // reservation capabilities
  uint32_t ana_group_id = 0;
  std::array<uint8_t, 16> nguid{};
  std::array<uint8_t, 8> eui64{};
};

ControllerIdentity parse_identify_controller(IdentifyData data);
NamespaceIdentity parse_identify_namespace(IdentifyData data);

}  // namespace portico::nvme_host
