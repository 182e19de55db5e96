// The I_T nexus a TCMU backstore device stands for. The ring carries no initiator (a command
// entry holds a command id, iovecs and the CDB), so Portico gives each (initiator ACL, target
// port) its own backstore device and the configuration names the nexus of each: the initiator
// port as its fabric names it, and the LIO target port the ACL belongs to.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/result.h"
#include "core/scsi/it_nexus.h"

namespace portico::tcmu {

enum class Fabric : uint8_t { fibre_channel, sas, srp, iscsi };

// "fc", "sas" (tcm_loop's initiators are SAS addresses), "srp", "iscsi".
Result<Fabric> parse_fabric(const std::string& text);
const char* fabric_name(Fabric fabric);

struct FabricPort {
  Fabric fabric = Fabric::sas;
  // FC / SAS: "naa.5001405123456789", 16 hex digits with or without "naa." or colons
  // ("21:00:00:24:ff:31:2a:4c", as qla2xxx ACLs are named); SRP: "0x" + 32 hex digits (ib_srpt);
  // iSCSI (LIO's own iSCSI fabric): "<iqn>", the initiator device a node ACL names (all its
  // sessions are one nexus here, whatever their ISIDs), or one port "<iqn>,i,0x<isid>".
  std::string initiator;
  std::string target_port;       // the LIO target port's name (its WWPN / IQN,t,0x<tpgt>)
  std::string target_name;       // the SCSI target device: the configuration's target IQN
  uint16_t relative_port_id = 0;
  uint16_t target_port_group = 1;  // this gateway's ALUA group
};

// The nexus, with the initiator's TransportID and its canonical port name (so that PERSISTENT
// RESERVE OUT with SPEC_I_PT names it the same way); an error for a name the fabric cannot have.
Result<scsi::ItNexus> fabric_nexus(const FabricPort& port);

}  // namespace portico::tcmu
