#include "core/scsi/reservations/transport_id.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "core/common/big_endian.h"

namespace portico::scsi {
namespace {

// ISIDs are hex; initiators may spell them in either case. Names compare lower-cased after
// ",i,0x" so that one port has one identity.
std::string normalize_port_name(std::string name) {
  const auto at = name.find(",i,0x");
  if (at == std::string::npos) {
    const auto upper = name.find(",I,0X");
    if (upper == std::string::npos) return name;
    name.replace(upper, 5, ",i,0x");
    return normalize_port_name(std::move(name));
  }
  for (size_t i = at + 5; i < name.size(); ++i) {
    name[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  return name;
}

// Where the port identifier of a 24-byte fabric TransportID lies, and its size; nullopt for other
// protocols.
std::optional<std::pair<size_t, size_t>> fabric_identifier_field(uint8_t protocol) {
  switch (protocol) {
    case kProtocolFibreChannel: return std::pair<size_t, size_t>{8, 8};
    case kProtocolSrp: return std::pair<size_t, size_t>{8, 16};
    case kProtocolSas: return std::pair<size_t, size_t>{4, 8};
    default: return std::nullopt;
  }
}

constexpr size_t kFabricTransportIdSize = 24;

}  // namespace

std::variant<ParsedTransportId, SenseData> parse_transport_id(std::span<const uint8_t> data, uint16_t offset) {
  if (data.size() < 4) return invalid_field_in_parameter_list(offset);
  const uint8_t format = data[0] >> 6;
  const uint8_t protocol = data[0] & 0x0f;
  if (const auto field = fabric_identifier_field(protocol)) {
    if (format != 0 || data.size() < kFabricTransportIdSize) return invalid_field_in_parameter_list(offset);
    ParsedTransportId parsed;
    parsed.initiator = fabric_port_name(protocol, data.subspan(field->first, field->second));
    parsed.length = kFabricTransportIdSize;
    parsed.bytes.assign(data.begin(), data.begin() + kFabricTransportIdSize);
    return parsed;
  }
  if (protocol != kProtocolIscsi || format > 1) return invalid_field_in_parameter_list(offset);
  const size_t additional = load_be16(data.data() + 2);
  // SPC-4 7.6.4.6: at least 20 bytes, a multiple of 4.
  if (additional < 20 || additional % 4 != 0 || 4 + additional > data.size()) {
    return invalid_field_in_parameter_list(static_cast<uint16_t>(offset + 2));
  }
  const auto name_bytes = data.subspan(4, additional);
  const auto terminator = std::find(name_bytes.begin(), name_bytes.end(), uint8_t{0});
  if (terminator == name_bytes.end() || terminator == name_bytes.begin()) {
    return invalid_field_in_parameter_list(static_cast<uint16_t>(offset + 4));
  }
  ParsedTransportId parsed;
  parsed.initiator.assign(name_bytes.begin(), terminator);
  // Format 01b carries ",i,0x<ISID>"; format 00b is the device name alone.
  if (format == 1 && parsed.initiator.find(",i,0x") == std::string::npos &&
      parsed.initiator.find(",I,0X") == std::string::npos) {
    return invalid_field_in_parameter_list(static_cast<uint16_t>(offset + 4));
  }
  parsed.initiator = normalize_port_name(std::move(parsed.initiator));
  parsed.length = 4 + additional;
  parsed.bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(parsed.length));
  return parsed;
}

std::vector<uint8_t> iscsi_transport_id(const std::string& initiator_port_name) {
  size_t name_length = initiator_port_name.size() + 1;
  name_length = std::max<size_t>(20, (name_length + 3) / 4 * 4);
  std::vector<uint8_t> out(4 + name_length, 0);
  out[0] = static_cast<uint8_t>(0x40 | kProtocolIscsi);
  store_be16(out.data() + 2, static_cast<uint16_t>(name_length));
  std::copy(initiator_port_name.begin(), initiator_port_name.end(), out.begin() + 4);
  return out;
}

std::vector<uint8_t> fabric_transport_id(uint8_t protocol, std::span<const uint8_t> port_identifier) {
  std::vector<uint8_t> out(kFabricTransportIdSize, 0);
  out[0] = protocol & 0x0f;  // FORMAT CODE 00b
  if (const auto field = fabric_identifier_field(protocol)) {
    std::copy_n(port_identifier.begin(), std::min(port_identifier.size(), field->second),
                out.begin() + static_cast<std::ptrdiff_t>(field->first));
  }
  return out;
}

std::string fabric_port_name(uint8_t protocol, std::span<const uint8_t> port_identifier) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = protocol == kProtocolSrp ? "0x" : "naa.";
  for (uint8_t b : port_identifier) {
    name += kHex[b >> 4];
    name += kHex[b & 0x0f];
  }
  return name;
}

}  // namespace portico::scsi
