#include "core/nvme/host.h"

#include <fmt/format.h>

namespace portico::nvme {

std::string host_registrant_name(const HostId& host_id) {
  std::string name(kHostRegistrantPrefix);
  for (uint8_t b : host_id) name += fmt::format("{:02x}", b);
  return name;
}

std::optional<HostId> host_id_of_registrant(std::string_view name) {
  if (!name.starts_with(kHostRegistrantPrefix)) return std::nullopt;
  name.remove_prefix(kHostRegistrantPrefix.size());
  if (name.size() != 32) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  HostId id{};
  for (size_t i = 0; i < id.size(); ++i) {
    const int hi = nibble(name[2 * i]);
    const int lo = nibble(name[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

Initiator host_initiator(const HostId& host_id, const std::string& host_nqn, const std::string& subsystem_nqn,
                         uint16_t controller_id, uint16_t target_port_group) {
  Initiator who;
  who.initiator_port_name = host_registrant_name(host_id);
  who.initiator_name = host_nqn;
  who.target_port_name = fmt::format("{},c,0x{:04x}", subsystem_nqn, controller_id);
  who.target_name = subsystem_nqn;
  who.protocol_identifier = 0xf;  // SPC-4 7.6.1: no specific protocol (SPC has no NVMe identifier)
  who.transport = Transport::nvme_tcp;  // the only NVMe transport so far
  who.relative_target_port_id = target_port_group;
  who.target_port_group_id = target_port_group;
  return who;
}

RegistrantLookup registrant_lookup() {
  return [](const Registrant& r) -> std::optional<RegisteredController> {
    auto id = host_id_of_registrant(r.initiator);
    if (!id) return std::nullopt;
    RegisteredController c;
    c.host_id = *id;
    return c;
  };
}

}  // namespace portico::nvme
