#include "tools/nvme_tcp/identify_data.h"

#include <algorithm>

#include "core/common/little_endian.h"

namespace portico::nvme_host {
namespace {

// A space-padded ASCII field (SN, MN, FR) without its padding.
std::string ascii(const uint8_t* field, size_t size) {
  std::string text(field, field + size);
  const size_t end = text.find_last_not_of(' ');
  text.resize(end == std::string::npos ? 0 : end + 1);
  return text;
}

// A NUL-terminated string in a fixed field (SUBNQN).
std::string c_string(const uint8_t* field, size_t size) {
  const uint8_t* end = std::find(field, field + size, uint8_t{0});
  return std::string(field, end);
}

}  // namespace

ControllerIdentity parse_identify_controller(IdentifyData data) {
  const uint8_t* p = data.data();
  ControllerIdentity id;
  id.vendor_id = load_le16(p + 0);
  id.serial = ascii(p + 4, 20);
  id.model = ascii(p + 24, 40);
  id.firmware = ascii(p + 64, 8);
  id.mdts = p[77];
  id.controller_id = load_le16(p + 78);
  id.version = load_le32(p + 80);
  id.controller_type = p[111];
  id.keep_alive_granularity_100ms = load_le16(p + 320);
  id.max_commands = load_le16(p + 514);
  id.namespace_count = load_le32(p + 516);
  id.oncs = load_le16(p + 520);
  id.fuses = load_le16(p + 522);
  id.volatile_write_cache = (p[525] & 0x01) != 0;
  id.subsystem_nqn = c_string(p + 768, 256);
  id.ioccsz = load_le32(p + 1792);
  id.iorcsz = load_le32(p + 1796);
  id.icdoff = load_le16(p + 1800);
  id.msdbd = p[1803];
  return id;
}

NamespaceIdentity parse_identify_namespace(IdentifyData data) {
  const uint8_t* p = data.data();
  NamespaceIdentity ns;
  ns.size_blocks = load_le64(p + 0);
  ns.capacity_blocks = load_le64(p + 8);
  ns.used_blocks = load_le64(p + 16);
  // FLBAS: format index bits 3:0, and bits 6:5 as its upper bits when there are more than 16.
  const unsigned format = (p[26] & 0x0fu) | ((p[26] & 0x60u) >> 1);
  const uint8_t* lbaf = p + 128 + 4 * format;  // LBAF0 at 128, 4 bytes each: MS, LBADS, RP
  ns.metadata_bytes = load_le16(lbaf);
  const unsigned lbads = lbaf[2];
  ns.block_size = lbads >= 9 && lbads <= 31 ? 1u << lbads : 0;
  ns.nmic = p[30];
  ns.rescap = p[31];
  ns.ana_group_id = load_le32(p + 92);
  std::copy_n(p + 104, ns.nguid.size(), ns.nguid.begin());
  std::copy_n(p + 120, ns.eui64.size(), ns.eui64.begin());
  return ns;
}

}  // namespace portico::nvme_host
