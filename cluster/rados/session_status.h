// What each gateway serves right now, for `portico status`: its sessions (iSCSI) and
// controllers (NVMe), one line each, kept in the omap of the object "<gateways object>.status"
// under the gateway's name. Written by the gateway's heartbeat when it changed (so it is as old
// as a heartbeat at most); a gateway that died leaves its last list, which the command shows
// under an expired gateway.
//
//   iscsi <TAB> target IQN <TAB> initiator name <TAB> detail ("ISID 23d000000001, TSIH 3")
//   nvme  <TAB> subsystem NQN <TAB> host NQN <TAB> detail ("controller 1025")
#pragma once

#include <string>
#include <vector>

#include "core/common/result.h"

namespace portico::cluster::rados {

struct SessionLine {
  std::string protocol;   // "iscsi", "nvme"
  std::string target;     // IQN or subsystem NQN
  std::string initiator;  // initiator name or host NQN
  std::string detail;

  bool operator==(const SessionLine&) const = default;
};

std::string encode_session_lines(const std::vector<SessionLine>& lines);
// Lines that do not have the four fields are skipped (a newer writer's, or damage).
std::vector<SessionLine> decode_session_lines(const std::string& text);
// The status object of a membership object.
inline std::string status_object_name(const std::string& gateways_object) { return gateways_object + ".status"; }

}  // namespace portico::cluster::rados
