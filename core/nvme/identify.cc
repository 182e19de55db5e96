#include "core/nvme/identify.h"

#include <algorithm>
#include <bit>

#include "core/common/little_endian.h"

namespace portico::nvme {
namespace {

// ASCII field, space padded (SN, MN, FR); anything unprintable becomes '?'.
void put_ascii(uint8_t* field, size_t size, const std::string& text) {
  std::fill_n(field, size, static_cast<uint8_t>(' '));
  const size_t n = std::min(size, text.size());
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint8_t>(text[i]);
    field[i] = (c >= 0x20 && c <= 0x7e) ? c : static_cast<uint8_t>('?');
  }
}

// NUL-terminated string in a fixed field (SUBNQN): at most size - 1 bytes, the rest zero.
void put_string(uint8_t* field, size_t size, const std::string& text) {
  const size_t n = std::min(size - 1, text.size());
  std::copy_n(text.begin(), n, field);
}

}  // namespace

std::vector<uint8_t> identify_controller(const ControllerInfo& info) {
  std::vector<uint8_t> id(kIdentifySize, 0);
  uint8_t* p = id.data();
  store_le16(p + 0, info.vendor_id);
  store_le16(p + 2, info.subsystem_vendor_id);
  put_ascii(p + 4, 20, info.serial);
  put_ascii(p + 24, 40, info.model);
  put_ascii(p + 64, 8, info.firmware);
  p[72] = info.arbitration_burst;
  store_le<uint32_t, 3>(p + 73, info.ieee_oui);
  p[76] = static_cast<uint8_t>((info.multi_port ? 0x01 : 0) | (info.multi_controller ? 0x02 : 0) |
                               (info.ana_reporting ? 0x08 : 0));
  p[77] = info.max_transfer_pages;
  store_le16(p + 78, info.controller_id);
  store_le32(p + 80, info.version);
  // OAES uses the bit positions of the Asynchronous Event Configuration feature (Linux:
  // NVME_AEN_BIT_NS_ATTR 8, NVME_AEN_BIT_ANA_CHANGE 11, NVME_AEN_BIT_DISC_CHANGE 31); Linux
  // enables only the events OAES lists.
  store_le32(p + 92, (info.namespace_attribute_notices ? 1u << 8 : 0u) | (info.ana_change_notices ? 1u << 11 : 0u) |
                         (info.discovery_change_notices ? 1u << 31 : 0u));
  store_le32(p + 96, info.host_id_128_bit ? 1u : 0u);  // CTRATT bit 0: HID_128_BIT
  p[111] = static_cast<uint8_t>(info.type);
  // 256: OACS = 0 (no optional admin commands: no namespace management, format, security).
  p[258] = info.abort_limit;
  p[259] = info.async_event_limit;
  p[260] = 0x03;  // FRMW: one firmware slot, slot 1 read only (as nvmet)
  // LPA bit 2: Get Log Page takes LPOL/LPOU and NUMDU. Linux's host reads no log at an offset
  // without it (drivers/nvme/host/core.c, NVME_CTRL_LPA_EXTENDED_DATA).
  p[261] = 0x04;
  p[262] = info.error_log_entries;
  // 263: NPSS = 0, one power state, whose descriptor (2048) stays zero: nothing to manage.
  store_le16(p + 320, info.keep_alive_granularity_100ms);
  p[342] = info.ana_transition_time_s;
  // ANACAP: reports the optimized, non-optimized, inaccessible, persistent loss and change states
  // (bits 0-4), as nvmet.
  p[343] = info.ana_reporting ? 0x1f : 0x00;
  store_le32(p + 344, info.ana_group_max);
  store_le32(p + 348, info.ana_group_count);
  p[512] = 0x66;  // SQES: required and maximum 2^6 = 64 bytes
  p[513] = 0x44;  // CQES: 2^4 = 16 bytes
  store_le16(p + 514, info.max_commands);
  store_le32(p + 516, info.namespace_count);
  unsigned oncs = 0;
  if (info.compare) oncs |= 1u << 0;
  if (info.dataset_management) oncs |= 1u << 2;
  if (info.write_zeroes) oncs |= 1u << 3;
  if (info.reservations) oncs |= 1u << 5;
  if (info.verify) oncs |= 1u << 7;
  store_le16(p + 520, static_cast<uint16_t>(oncs));  // bit 1 Write Uncorrectable: never
  store_le16(p + 522, static_cast<uint16_t>(info.compare_and_write ? 1 : 0));  // FUSES bit 0
  p[525] = info.volatile_write_cache ? 0x01 : 0x00;
  // SGLS: bits 1:0 = 01b (SGLs, no alignment rule); bit 20: the address of a Data Block descriptor
  // may be an offset, which in-capsule data needs; bit 2: Keyed SGL Data Blocks, which an RDMA
  // controller takes and Linux's RDMA host requires (as nvmet sets them).
  store_le32(p + 536, 0x1u | (info.keyed_sgls ? 1u << 2 : 0u) | (info.in_capsule_data_bytes != 0 ? 1u << 20 : 0u));
  // MNAN: the namespaces the subsystem may have at most. Linux's multipath code refuses a
  // controller reporting ANA with 0 here or more than NN (nvme_mpath_init_identify).
  store_le32(p + 540, info.namespace_count);
  put_string(p + 768, 256, info.subsystem_nqn);
  // Fabrics fields (NVMe over Fabrics 1.1, "Identify Controller ... Fabrics specific"): capsule
  // sizes in 16-byte units, ICDOFF 0 (in-capsule data right after the SQE), FCATT 0 (dynamic
  // controller model).
  store_le32(p + 1792, (64u + info.in_capsule_data_bytes) / 16u);  // IOCCSZ
  store_le32(p + 1796, 16u / 16u);                                  // IORCSZ
  p[1803] = info.max_sgl_descriptors;                             // MSDBD
  return id;
}

std::vector<uint8_t> identify_namespace(const NamespaceInfo& info) {
  std::vector<uint8_t> id(kIdentifySize, 0);
  uint8_t* p = id.data();
  store_le64(p + 0, info.size_blocks);
  store_le64(p + 8, info.capacity_blocks);
  store_le64(p + 16, info.used_blocks);
  p[24] = info.thin_provisioned ? 0x01 : 0x00;  // NSFEAT
  // 25 NLBAF = 0 (one format, 0's based), 26 FLBAS = 0 (that format, no metadata).
  p[30] = info.shared ? 0x01 : 0x00;  // NMIC
  // RESCAP (Linux: enum nvme_pr_capabilities): PTPL bit 0, the six types bits 1-6, IEKEY bit 7.
  if (info.reservations) p[31] = static_cast<uint8_t>(0x7e | 0x80 | (info.persist_through_power_loss ? 0x01 : 0));
  p[33] = info.deallocate_features;
  store_le32(p + 92, info.ana_group_id);
  p[99] = info.write_protected ? 0x01 : 0x00;  // NSATTR
  const auto nguid = info.identity.nguid();
  const auto eui64 = info.identity.eui64();
  std::copy(nguid.begin(), nguid.end(), p + 104);
  std::copy(eui64.begin(), eui64.end(), p + 120);
  // LBAF0 at 128: MS (2 bytes) = 0, LBADS = log2(block size), RP = 0 (best).
  p[130] = static_cast<uint8_t>(std::countr_zero(info.block_size));
  return id;
}

std::vector<uint8_t> active_namespace_list(std::span<const uint32_t> active_nsids, uint32_t after) {
  std::vector<uint32_t> ids;
  for (uint32_t nsid : active_nsids) {
    if (nsid > after) ids.push_back(nsid);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<uint8_t> out(kIdentifySize, 0);
  const size_t n = std::min(ids.size(), kIdentifySize / 4);
  for (size_t i = 0; i < n; ++i) store_le32(out.data() + 4 * i, ids[i]);
  return out;
}

std::vector<uint8_t> namespace_descriptor_list(const LunIdentity& identity, bool with_command_set) {
  std::vector<uint8_t> out(kIdentifySize, 0);
  size_t at = 0;
  // Each descriptor: NIDT, NIDL, 2 reserved bytes, then NIDL bytes (Linux: struct nvme_ns_id_desc,
  // NVME_NIDT_*); a zero NIDT ends the list.
  auto add = [&](uint8_t type, std::span<const uint8_t> value) {
    out[at] = type;
    out[at + 1] = static_cast<uint8_t>(value.size());
    std::copy(value.begin(), value.end(), out.begin() + static_cast<std::ptrdiff_t>(at + 4));
    at += 4 + value.size();
  };
  const auto eui64 = identity.eui64();
  const auto nguid = identity.nguid();
  const auto uuid = identity.uuid();
  add(0x01, eui64);
  add(0x02, nguid);
  add(0x03, uuid);
  if (with_command_set) {
    const uint8_t nvm_command_set = 0x00;
    add(0x04, std::span<const uint8_t>(&nvm_command_set, 1));
  }
  return out;
}

}  // namespace portico::nvme
