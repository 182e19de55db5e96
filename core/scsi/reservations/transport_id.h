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

inline constexpr uint8_t kProtocolIscsi = 0x5;

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

}  // namespace portico::scsi
