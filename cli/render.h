// The `portico` command's output: a table or lines for people, JSON (--json) for scripts.
#pragma once

#include <string>
#include <vector>

#include "cli/cluster_view.h"

namespace portico::cli {

std::string gateways_text(const std::vector<GatewayStatus>& gateways);
std::string gateways_json(const std::vector<GatewayStatus>& gateways);
// Per gateway: alive, lease, the configuration version it serves and the last it refused (why).
std::string status_text(const std::vector<GatewayStatus>& gateways);
std::string reservations_text(const LunReservations& lun);
std::string reservations_json(const LunReservations& lun);

// "Write Exclusive - Registrants Only" (SPC-4 table 208) for a reservation type.
std::string reservation_type_name(ReservationType type);
// "iscsi" for a SCSI initiator port name, "nvme" for an NVMe host's registrant name.
std::string registrant_protocol(const std::string& initiator);

}  // namespace portico::cli
