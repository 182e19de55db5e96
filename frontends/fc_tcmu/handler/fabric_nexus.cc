#include "frontends/fc_tcmu/handler/fabric_nexus.h"

#include <cctype>
#include <vector>

#include "core/scsi/reservations/transport_id.h"

namespace portico::tcmu {
namespace {

// The identifier's bytes from hex digits, ignoring a "naa." / "0x" prefix and ':' separators.
std::optional<std::vector<uint8_t>> parse_hex_identifier(std::string text, size_t bytes) {
  for (const char* prefix : {"naa.", "NAA.", "0x", "0X"}) {
    if (text.rfind(prefix, 0) == 0) {
      text.erase(0, std::char_traits<char>::length(prefix));
      break;
    }
  }
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : text) {
    if (c == ':') continue;
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    const int digit = std::isdigit(static_cast<unsigned char>(c)) != 0
                          ? c - '0'
                          : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    if (high < 0) {
      high = digit;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | digit));
      high = -1;
    }
  }
  if (high >= 0 || out.size() != bytes) return std::nullopt;
  return out;
}

uint8_t protocol_of(Fabric fabric) {
  switch (fabric) {
    case Fabric::fibre_channel: return scsi::kProtocolFibreChannel;
    case Fabric::sas: return scsi::kProtocolSas;
    case Fabric::srp: return scsi::kProtocolSrp;
    case Fabric::iscsi: return scsi::kProtocolIscsi;
  }
  return scsi::kProtocolSas;
}

}  // namespace

Result<Fabric> parse_fabric(const std::string& text) {
  if (text == "fc") return Fabric::fibre_channel;
  if (text == "sas") return Fabric::sas;
  if (text == "srp") return Fabric::srp;
  if (text == "iscsi") return Fabric::iscsi;
  return error(ErrorCode::invalid_argument, "unknown fabric '" + text + "' (fc, sas, srp or iscsi)");
}

const char* fabric_name(Fabric fabric) {
  switch (fabric) {
    case Fabric::fibre_channel: return "fc";
    case Fabric::sas: return "sas";
    case Fabric::srp: return "srp";
    case Fabric::iscsi: return "iscsi";
  }
  return "?";
}

Result<scsi::ItNexus> fabric_nexus(const FabricPort& port) {
  scsi::ItNexus nexus;
  const uint8_t protocol = protocol_of(port.fabric);
  nexus.protocol_identifier = protocol;
  nexus.transport = Transport::tcmu;
  if (port.fabric == Fabric::iscsi) {
    const auto isid = port.initiator.find(",i,0x");
    if (isid == 0 || port.initiator.empty() || port.initiator.find_first_of(" \t,") < isid) {
      return error(ErrorCode::invalid_argument,
                   "iscsi initiator '" + port.initiator + "' must be <iqn> or a port name <iqn>,i,0x<isid>");
    }
    if (isid == std::string::npos) {
      // LIO's node ACLs name initiator devices, not ports: every session of this name (any ISID)
      // reaches the same backstore, so the nexus is the initiator device (SPC-4 7.6.4.6,
      // TransportID format 00b).
      nexus.initiator_port_name = port.initiator;
      nexus.initiator_name = port.initiator;
      nexus.transport_id = scsi::iscsi_transport_id(port.initiator);
      nexus.transport_id[0] = protocol;  // FORMAT CODE 00b: the name alone
    } else {
      nexus.initiator_port_name = port.initiator;
      nexus.initiator_name = port.initiator.substr(0, isid);
      nexus.transport_id = scsi::iscsi_transport_id(port.initiator);
    }
  } else {
    const size_t size = port.fabric == Fabric::srp ? 16 : 8;
    const auto identifier = parse_hex_identifier(port.initiator, size);
    if (!identifier) {
      return error(ErrorCode::invalid_argument, std::string(fabric_name(port.fabric)) + " initiator '" +
                                                    port.initiator + "' is not " + std::to_string(size * 2) +
                                                    " hex digits");
    }
    nexus.initiator_port_name = scsi::fabric_port_name(protocol, *identifier);
    nexus.initiator_name = nexus.initiator_port_name;  // one port per initiator device name
    nexus.transport_id = scsi::fabric_transport_id(protocol, *identifier);
  }
  if (port.target_port.empty()) return error(ErrorCode::invalid_argument, "a TCMU export needs its target port");
  nexus.target_port_name = port.target_port;
  nexus.target_name = port.target_name;
  nexus.relative_target_port_id = port.relative_port_id;
  nexus.target_port_group_id = port.target_port_group;
  return nexus;
}

}  // namespace portico::tcmu
