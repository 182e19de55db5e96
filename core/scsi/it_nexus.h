// SAM-5 4.6: an I_T nexus is the relationship between one initiator port and one target port.
// Unit attentions and reservation registrations belong to a nexus, not to a connection: a
// session that is reinstated with the same ISID is the same nexus again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portico::scsi {

struct ItNexus {
  // SCSI port names as SPC-4 7.6.4 designates them for iSCSI (RFC 7143 §10.17 / 11.12):
  // "<initiator iqn>,i,0x<isid hex>" and "<target iqn>,t,0x<tpgt hex>".
  std::string initiator_port_name;
  std::string target_port_name;
  std::string initiator_name;             // "<initiator iqn>" alone
  std::string target_name;                // "<target iqn>" alone (SCSI target device name)
  uint8_t protocol_identifier = 0x5;      // SPC-4 7.6.1: 5h = iSCSI
  std::vector<uint8_t> transport_id;      // SPC-4 7.6.4.6 iSCSI TransportID (format 01b)
  uint16_t relative_target_port_id = 1;   // SPC-4 7.7.3.7
  uint16_t target_port_group_id = 1;      // SPC-4 7.7.3.8

  // Stable key of this nexus inside one target.
  [[nodiscard]] std::string key() const { return initiator_port_name + "|" + target_port_name; }
};

}  // namespace portico::scsi
