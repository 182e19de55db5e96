// TransportIDs (SPC-4 7.6.4): how PERSISTENT RESERVE names initiators in SPEC_I_PT and
// REGISTER AND MOVE parameter data, and in READ FULL STATUS.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/scsi/sense.h"

namespace portico::scsi {

// SPC-4 7.6.1 protocol identifiers.
inline constexpr uint8_t kProtocolFibreChannel = 0x0;
inline constexpr uint8_t kProtocolSrp = 0x4;
inline constexpr uint8_t kProtocolIscsi = 0x5;
inline constexpr uint8_t kProtocolSas = 0x6;

struct ParsedTransportId {
  std::string initiator;  // initiator port name (format 01b) or initiator device name (format 00b)
  size_t length = 0;      // bytes the TransportID occupied
  std::vector<uint8_t> bytes;
};

// Parses one TransportID at the start of `data`. `offset` is its position in the parameter list
// (for the sense data's field pointer).
std::variant<ParsedTransportId, SenseData> parse_transport_id(std::span<const uint8_t> data, uint16_t offset);

// SPC-4 7.6.4.6: the iSCSI TransportID of an initiator port, format 01b.
std::vector<uint8_t> iscsi_transport_id(const std::string& initiator_port_name);

// The 24-byte TransportIDs of the fabrics the kernel target serves (format 00b): Fibre Channel
// (7.6.4.2, N_Port_Name at byte 8), SRP (7.6.4.5, initiator port identifier at byte 8) and SAS
// (7.6.4.7, SAS address at byte 4). `port_identifier` is 8 bytes (FC, SAS) or 16 (SRP).
std::vector<uint8_t> fabric_transport_id(uint8_t protocol, std::span<const uint8_t> port_identifier);
// How an initiator port of those fabrics is named in Portico, from its identifier: "naa.<16
// hex digits>" for FC and SAS (as LIO names tcm_loop and FC ports), "0x<32 hex digits>" for SRP.
std::string fabric_port_name(uint8_t protocol, std::span<const uint8_t> port_identifier);

}  // namespace portico::scsi
