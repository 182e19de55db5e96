// Who sends commands to a unit, in the words both command sets share. Reservations, aborts and
// cluster events name initiators; each command set says how its own initiators fill the names:
// - SCSI: an I_T nexus (SAM-5 4.6), named as SPC-4 7.6.4 does for iSCSI (RFC 7143 §10.17):
//   initiator port "<iqn>,i,0x<isid>", initiator device "<iqn>", target port "<iqn>,t,0x<tpgt>".
// - NVMe: a host (NVMe Base 2.0 §5.27.1.25: its Host Identifier), one registrant through every
//   controller on every gateway, so its registrations carry no target port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace portico {

// The front-end a command came through (metrics say which transport carries what).
enum class Transport : uint8_t { iscsi, tcmu, nvme_tcp, nvme_rdma };
inline constexpr size_t kTransportCount = 4;
inline const char* transport_name(Transport transport) {
  switch (transport) {
    case Transport::iscsi: return "iscsi";
    case Transport::tcmu: return "tcmu";
    case Transport::nvme_tcp: return "nvme_tcp";
    case Transport::nvme_rdma: return "nvme_rdma";
  }
  return "other";
}

struct Initiator {
  std::string initiator_port_name;      // SCSI initiator port, or the NVMe host's name
  std::string target_port_name;         // the port (SCSI target port, NVMe controller) it came through
  std::string initiator_name;           // SCSI initiator device name; for an NVMe host, its port name
  std::string target_name;              // SCSI target device name, NVMe subsystem NQN
  uint8_t protocol_identifier = 0x5;    // SPC-4 7.6.1: 5h = iSCSI
  std::vector<uint8_t> transport_id;    // SPC-4 7.6.4.6 iSCSI TransportID (format 01b)
  uint16_t relative_target_port_id = 1; // SPC-4 7.7.3.7
  uint16_t target_port_group_id = 1;    // SPC-4 7.7.3.8; the NVMe ANA group has the same id
  Transport transport = Transport::iscsi;

  // Stable key of this initiator inside one target.
  [[nodiscard]] std::string key() const { return initiator_port_name + "|" + target_port_name; }
};

// An initiator as a registration, a reservation holder or an event names it: an initiator port
// (or initiator device: every port of it, SPC-4 7.6.4 format 00b) seen through one target port,
// or through every one when `target_port` is empty. The one matching rule of the core.
struct InitiatorSelector {
  std::string initiator;
  std::string target_port;

  [[nodiscard]] bool matches(const Initiator& who) const {
    return (initiator == who.initiator_port_name || initiator == who.initiator_name) &&
           (target_port.empty() || target_port == who.target_port_name);
  }
  bool operator==(const InitiatorSelector&) const = default;
};

}  // namespace portico
