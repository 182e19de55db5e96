// An NVMe host as the shared core names it (core/initiator.h). A host is one registrant through
// every controller it has on every gateway (NVMe Base 2.0, "Reservations": a registration
// belongs to the host, named by its Host Identifier), so its reservation name carries the Host
// Identifier only; the controller it came through is its target port, unique in the cluster
// (controller ids are allocated per gateway, subsystem.h).
//
//   initiator port  "nvme-host:<32 hex digits of the Host Identifier>"
//   initiator name  the host NQN             target port  "<subsystem NQN>,c,0x<CNTLID>"
//   target name     the subsystem NQN        target port group  this gateway's (its ANA group)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/initiator.h"
#include "core/nvme/reservation_report.h"

namespace portico::nvme {

using HostId = std::array<uint8_t, 16>;

inline constexpr std::string_view kHostRegistrantPrefix = "nvme-host:";

// "nvme-host:0123...": the registrant name of the host with `host_id`.
std::string host_registrant_name(const HostId& host_id);
// The Host Identifier in a registrant name made by host_registrant_name(); empty for any other
// name (a SCSI initiator's).
std::optional<HostId> host_id_of_registrant(std::string_view name);

Initiator host_initiator(const HostId& host_id, const std::string& host_nqn, const std::string& subsystem_nqn,
                         uint16_t controller_id, uint16_t target_port_group);

// How Reservation Report names each registrant: an NVMe host by its Host Identifier (CNTLID
// FFFFh: a host's registration is not one controller's), a SCSI initiator as
// scsi_registrant_controller() says.
RegistrantLookup registrant_lookup();

}  // namespace portico::nvme
