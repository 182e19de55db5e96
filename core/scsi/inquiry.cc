// INQUIRY: standard data (SPC-4 6.6.2) and the vital product data pages (SPC-4 7.8, SBC-3 6.6).
// Every page is the same through every port of every gateway except the target port
// designators of page 83h, which name the port the command came through.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/provisioning.h"

namespace portico::scsi {
namespace {

constexpr uint8_t kDeviceTypeDisk = 0x00;
// SPC-4 6.6.2 version descriptors: SAM-5, SPC-4, SBC-3, iSCSI (no version claimed).
constexpr std::array<uint16_t, 4> kVersionDescriptors{0x00a0, 0x0460, 0x04c0, 0x0960};

void put_padded(std::vector<uint8_t>& out, size_t at, const std::string& text, size_t width) {
  for (size_t i = 0; i < width; ++i) out[at + i] = i < text.size() ? static_cast<uint8_t>(text[i]) : ' ';
}

std::vector<uint8_t> standard_inquiry(const LogicalUnit& unit) {
  std::vector<uint8_t> out(96, 0);
  out[0] = kDeviceTypeDisk;
  out[2] = 0x06;  // SPC-4
  out[3] = 0x12;  // HISUP, response data format 2
  out[4] = static_cast<uint8_t>(out.size() - 5);
  out[5] = 0x10 | 0x08;  // TPGS = 01b: implicit asymmetric access (ALUA); 3PC: EXTENDED COPY
  out[6] = 0x10;  // MULTIP: reachable through several ports
  out[7] = 0x02;  // CMDQUE
  put_padded(out, 8, unit.config().vendor, 8);
  put_padded(out, 16, unit.config().product, 16);
  put_padded(out, 32, unit.config().revision, 4);
  for (size_t i = 0; i < kVersionDescriptors.size(); ++i) store_be16(out.data() + 58 + 2 * i, kVersionDescriptors[i]);
  return out;
}

// SPC-4 7.8.6.1: designation descriptor header + designator.
void add_designator(std::vector<uint8_t>& out, uint8_t code_set, uint8_t association, uint8_t type,
                    std::span<const uint8_t> designator, uint8_t protocol_identifier = 0) {
  const bool piv = association == 1 || association == 2;  // protocol identifier valid for port/target
  out.push_back(static_cast<uint8_t>((piv ? protocol_identifier << 4 : 0) | code_set));
  out.push_back(static_cast<uint8_t>((piv ? 0x80 : 0x00) | (association << 4) | type));
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(designator.size()));
  out.insert(out.end(), designator.begin(), designator.end());
}

// SCSI name strings are null-terminated and padded to a multiple of 4 bytes (SPC-4 7.8.6.11).
std::vector<uint8_t> scsi_name_string(const std::string& name) {
  std::vector<uint8_t> bytes(name.begin(), name.end());
  bytes.push_back(0);
  while (bytes.size() % 4 != 0) bytes.push_back(0);
  if (bytes.size() > 252) bytes.resize(252);
  bytes.back() = 0;
  return bytes;
}

std::vector<uint8_t> device_identification(const LogicalUnit& unit, const ItNexus& nexus) {
  std::vector<uint8_t> out(4, 0);
  out[1] = 0x83;
  out.reserve(256);
  // Logical unit designators: NAA (binary) and T10 vendor ID (ASCII).
  std::array<uint8_t, 8> naa{};
  store_be64(naa.data(), unit.identity().naa);
  add_designator(out, 1, 0, 3, naa);
  std::string t10 = unit.config().vendor;
  t10.resize(8, ' ');
  t10 += unit.identity().serial;
  add_designator(out, 2, 0, 1, std::span(reinterpret_cast<const uint8_t*>(t10.data()), t10.size()));
  // Target port designators: relative target port, target port group, SCSI target port name.
  std::array<uint8_t, 4> relative{};
  store_be16(relative.data() + 2, nexus.relative_target_port_id);
  add_designator(out, 1, 1, 4, relative, nexus.protocol_identifier);
  std::array<uint8_t, 4> group{};
  store_be16(group.data() + 2, nexus.target_port_group_id);
  add_designator(out, 1, 1, 5, group, nexus.protocol_identifier);
  if (!nexus.target_port_name.empty()) {
    add_designator(out, 3, 1, 8, scsi_name_string(nexus.target_port_name), nexus.protocol_identifier);
  }
  if (!nexus.target_name.empty()) {
    add_designator(out, 3, 2, 8, scsi_name_string(nexus.target_name), nexus.protocol_identifier);
  }
  store_be16(out.data() + 2, static_cast<uint16_t>(out.size() - 4));
  return out;
}

std::vector<uint8_t> unit_serial_number(const LogicalUnit& unit) {
  const std::string& serial = unit.identity().serial;
  std::vector<uint8_t> out;
  out.reserve(4 + serial.size());
  out.push_back(kDeviceTypeDisk);
  out.push_back(0x80);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(serial.size()));
  for (char c : serial) out.push_back(static_cast<uint8_t>(c));
  return out;
}

// SBC-3 6.6.4: Block Limits.
std::vector<uint8_t> block_limits(const LogicalUnit& unit) {
  std::vector<uint8_t> out(64, 0);
  out[1] = 0xb0;
  store_be16(out.data() + 2, 0x3c);
  const auto& info = unit.device().info();
  const uint32_t block = unit.block_size();
  out[5] = static_cast<uint8_t>(max_compare_and_write_blocks(unit));  // MAXIMUM COMPARE AND WRITE LENGTH
  store_be16(out.data() + 6, static_cast<uint16_t>(1u << unit.physical_block_exponent()));  // optimal granularity
  store_be32(out.data() + 8, info.max_transfer_bytes / block);    // maximum transfer length
  store_be32(out.data() + 12, std::min<uint32_t>(info.max_transfer_bytes, 1u << 20) / block);  // optimal
  // WSNZ 0: WRITE SAME with zero blocks means "to the last LBA" (SBC-3 5.45), within the
  // MAXIMUM WRITE SAME LENGTH below.
  if (offers_unmap(unit)) {
    store_be32(out.data() + 20, kMaxUnmapLbaCount);
    store_be32(out.data() + 24, kMaxUnmapBlockDescriptors);
    // OPTIMAL UNMAP GRANULARITY and UGAVALID + UNMAP GRANULARITY ALIGNMENT 0: an UNMAP that does
    // not cover whole aligned units of the device's granularity zeroes (LBPRZ) but may leave
    // blocks mapped, as SBC-3 6.6.4 allows ("may result in unmap operations on fewer LBAs").
    store_be32(out.data() + 28, std::max<uint32_t>(1, info.unmap_granularity_bytes / block));
    out[32] = 0x80;
  }
  store_be64(out.data() + 36, max_write_same_blocks(unit));  // maximum write same length
  // SBC-4 6.6.4: MAXIMUM ATOMIC TRANSFER LENGTH, ATOMIC ALIGNMENT, ATOMIC TRANSFER LENGTH
  // GRANULARITY (all zero when WRITE ATOMIC is not offered); the page length covers them.
  const auto atomic = atomic_write_limits(unit);
  store_be32(out.data() + 44, atomic.max_blocks);
  store_be32(out.data() + 48, atomic.alignment_blocks);
  store_be32(out.data() + 52, atomic.granularity_blocks);
  return out;
}

// SBC-3 6.6.2: Block Device Characteristics.
std::vector<uint8_t> block_device_characteristics() {
  std::vector<uint8_t> out(64, 0);
  out[1] = 0xb1;
  store_be16(out.data() + 2, 0x3c);
  store_be16(out.data() + 4, 0x0001);  // medium rotation rate: non-rotating medium
  // SBC-3 6.6.2 WABEREQ = WACEREQ = 01b: after a BLOCK ERASE or CRYPTOGRAPHIC ERASE sanitize,
  // reads of blocks not written since complete without error (they return zeroes).
  out[7] = 0x50;
  return out;
}

// SBC-3 6.6.5: Logical Block Provisioning: a thin device offers UNMAP and WRITE SAME with
// UNMAP (LBPU, LBPWS, LBPWS10), consistent with LBPME in READ CAPACITY(16).
std::vector<uint8_t> logical_block_provisioning(const LogicalUnit& unit) {
  std::vector<uint8_t> out(8, 0);
  out[1] = 0xb2;
  store_be16(out.data() + 2, 4);
  if (offers_unmap(unit)) {
    out[5] |= 0xe0;  // LBPU, LBPWS, LBPWS10
    out[6] = 0x02;   // provisioning type: thin provisioned
  }
  if (unit.device().info().discard_zeroes) out[5] |= 0x04;  // LBPRZ
  return out;
}

constexpr std::array<uint8_t, 7> kSupportedPages{0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2};

}  // namespace

void handle_inquiry(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool evpd = (cdb[1] & 0x01) != 0;
  const uint8_t page = cdb[2];
  const uint32_t allocation_length = load_be16(cdb.data() + 3);
  if ((cdb[1] & 0x02) != 0) {  // CMDDT is obsolete (SPC-4 6.6.1)
    unit.fail(task, invalid_field_in_cdb(1, 1));
    return;
  }
  if (!evpd) {
    if (page != 0) {
      unit.fail(task, invalid_field_in_cdb(2));
      return;
    }
    respond_with_data(task, standard_inquiry(unit), allocation_length);
    unit.complete(task);
    return;
  }
  std::vector<uint8_t> data;
  switch (page) {
    case 0x00:
      data.assign(4 + kSupportedPages.size(), 0);
      data[3] = static_cast<uint8_t>(kSupportedPages.size());
      std::copy(kSupportedPages.begin(), kSupportedPages.end(), data.begin() + 4);
      break;
    case 0x80: data = unit_serial_number(unit); break;
    case 0x83: data = device_identification(unit, task.nexus->nexus()); break;
    case 0x8f: data = third_party_copy_vpd_page(); break;
    case 0xb0: data = block_limits(unit); break;
    case 0xb1: data = block_device_characteristics(); break;
    case 0xb2: data = logical_block_provisioning(unit); break;
    default:
      unit.fail(task, invalid_field_in_cdb(2));
      return;
  }
  respond_with_data(task, data, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
