#include "core/nvme/discovery_log.h"

#include <algorithm>

#include "core/common/little_endian.h"
#include "core/common/stable_hash.h"

namespace portico::nvme {
namespace {

void put_field(uint8_t* field, size_t size, const std::string& text) {
  std::copy_n(text.begin(), std::min(size - 1, text.size()), field);
}

void put_entry(uint8_t* e, const DiscoveryEntry& entry) {
  e[0] = static_cast<uint8_t>(entry.transport);
  e[1] = static_cast<uint8_t>(entry.family);
  e[2] = static_cast<uint8_t>(entry.subsystem_type);
  e[3] = static_cast<uint8_t>(static_cast<uint8_t>(entry.secure_channel) |
                              (entry.sq_flow_control_disable ? kTreqDisableSqFlowControl : 0));
  store_le16(e + 4, entry.port_id);
  store_le16(e + 6, entry.controller_id);
  store_le16(e + 8, entry.admin_max_sq_size);
  store_le16(e + 10, entry.flags);
  put_field(e + 32, 32, entry.service_id);
  put_field(e + 256, 256, entry.subsystem_nqn);
  put_field(e + 512, 256, entry.address);
  if (entry.transport == TransportType::tcp) e[768] = static_cast<uint8_t>(entry.security);
  if (entry.transport == TransportType::rdma) {
    // NVMe over Fabrics 1.1, "RDMA Transport Specific Address Subtype": a reliable connected QP,
    // no particular provider, the RDMA IP CM (as nvmet-rdma lists its ports).
    e[768] = 1;  // RDMA_QPTYPE: reliable connected
    e[769] = 1;  // RDMA_PRTYPE: no provider specified
    e[770] = 1;  // RDMA_CMS: RDMA_IP_CM
  }
}

}  // namespace

std::vector<uint8_t> discovery_log(uint64_t generation, std::span<const DiscoveryEntry> entries) {
  std::vector<uint8_t> out(kDiscoveryHeaderSize + kDiscoveryEntrySize * entries.size(), 0);
  store_le64(out.data(), generation);
  store_le64(out.data() + 8, entries.size());
  // 16: RECFMT 0, the only record format.
  for (size_t i = 0; i < entries.size(); ++i) {
    put_entry(out.data() + kDiscoveryHeaderSize + kDiscoveryEntrySize * i, entries[i]);
  }
  return out;
}

uint64_t discovery_generation(std::span<const DiscoveryEntry> entries) {
  std::string text;
  for (const auto& e : entries) {
    text += std::to_string(static_cast<unsigned>(e.transport)) + "|" + e.subsystem_nqn + "|" + e.address + "|" + e.service_id + "|" + std::to_string(e.port_id) + "|";
  }
  return std::max<uint64_t>(stable_hash64(text), 1);
}

}  // namespace portico::nvme
