// MODE SENSE(6/10) (SPC-4 6.11, 6.12) with the caching (SBC-3 6.4.5), control (SPC-4 7.5.8) and
// informational exceptions control (SPC-4 7.5.11) pages.
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/mode_pages.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {

void handle_mode_sense(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool ten = cdb[0] == op::kModeSense10;
  const bool dbd = (cdb[1] & 0x08) != 0;
  const bool llbaa = ten && (cdb[1] & 0x10) != 0;
  const auto pc = static_cast<PageControl>(cdb[2] >> 6);
  const uint8_t page_code = cdb[2] & 0x3f;
  const uint8_t subpage = cdb[3];
  const uint32_t allocation_length = ten ? load_be16(cdb.data() + 7) : cdb[4];

  if (pc == PageControl::saved) {
    unit.fail(task, illegal_request(asc::kSavingParametersNotSupported));
    return;
  }
  const ModeParameters mode = unit.mode();
  std::vector<uint8_t> pages;
  if (subpage != 0 && !(page_code == kAllPages && subpage == 0xff)) {
    unit.fail(task, invalid_field_in_cdb(3));
    return;
  }
  if (!append_mode_page(pages, page_code, pc, mode)) {
    unit.fail(task, invalid_field_in_cdb(2, 5));
    return;
  }

  // Block descriptor (SPC-4 7.5.5 short, 7.5.6 long) unless DBD.
  std::vector<uint8_t> descriptor;
  if (!dbd) {
    const uint64_t blocks = unit.block_count();
    if (llbaa) {
      descriptor.assign(16, 0);
      store_be64(descriptor.data(), blocks);
      store_be32(descriptor.data() + 12, unit.block_size());
    } else {
      descriptor.assign(8, 0);
      store_be32(descriptor.data(), blocks > 0xffffffffull ? 0xffffffffu : static_cast<uint32_t>(blocks));
      store_be24(descriptor.data() + 5, unit.block_size());
    }
  }

  // Header device-specific parameter (SBC-3 6.4.1): WP (bit 7) for a read-only unit, DPOFUA
  // (bit 4): DPO and FUA are supported.
  const bool write_protected = unit.config().read_only || unit.mode().software_write_protect;
  const uint8_t device_specific = static_cast<uint8_t>(0x10 | (write_protected ? 0x80 : 0));
  std::vector<uint8_t> out;
  if (ten) {
    out.assign(8, 0);
    out[3] = device_specific;
    if (llbaa && !descriptor.empty()) out[4] = 0x01;  // LONGLBA
    store_be16(out.data() + 6, static_cast<uint16_t>(descriptor.size()));
  } else {
    out.assign(4, 0);
    out[2] = device_specific;
    out[3] = static_cast<uint8_t>(descriptor.size());
  }
  out.insert(out.end(), descriptor.begin(), descriptor.end());
  out.insert(out.end(), pages.begin(), pages.end());
  if (ten) {
    store_be16(out.data(), static_cast<uint16_t>(out.size() - 2));
  } else {
    out[0] = static_cast<uint8_t>(out.size() - 1);
  }
  respond_with_data(task, out, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
