// MODE SENSE(6/10) (SPC-4 6.11, 6.12) with the caching (SBC-3 6.4.5), control (SPC-4 7.5.8) and
// informational exceptions control (SPC-4 7.5.11) pages.
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

enum class PageControl : uint8_t { current = 0, changeable = 1, defaults = 2, saved = 3 };

constexpr uint8_t kCachingPage = 0x08;
constexpr uint8_t kControlPage = 0x0a;
constexpr uint8_t kInformationalExceptionsPage = 0x1c;
constexpr uint8_t kAllPages = 0x3f;

void append_caching_page(std::vector<uint8_t>& out, PageControl pc, const ModeParameters& mode) {
  std::vector<uint8_t> page(20, 0);
  page[0] = kCachingPage;
  page[1] = 0x12;
  // Nothing here is changeable until MODE SELECT is offered.
  if (pc == PageControl::current && mode.write_cache_enabled) page[2] |= 0x04;  // WCE
  out.insert(out.end(), page.begin(), page.end());
}

void append_control_page(std::vector<uint8_t>& out, PageControl pc, const ModeParameters& mode) {
  std::vector<uint8_t> page(12, 0);
  page[0] = kControlPage;
  page[1] = 0x0a;
  if (pc != PageControl::changeable) {
    // TST=000b (one task set), D_SENSE per the unit, QERR=00b, queue algorithm modifier 1
    // (unrestricted reordering), TAS per the unit, busy timeout unlimited.
    if (pc == PageControl::current && mode.descriptor_sense) page[2] |= 0x04;
    page[3] = 0x10;
    if (pc == PageControl::defaults || mode.task_aborted_status) page[5] |= 0x40;
    store_be16(page.data() + 8, 0xffff);
  }
  out.insert(out.end(), page.begin(), page.end());
}

void append_informational_exceptions_page(std::vector<uint8_t>& out) {
  std::vector<uint8_t> page(12, 0);
  page[0] = kInformationalExceptionsPage;
  page[1] = 0x0a;  // MRIE 0: no reporting of informational exceptions
  out.insert(out.end(), page.begin(), page.end());
}

}  // namespace

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
  switch (page_code) {
    case kCachingPage: append_caching_page(pages, pc, mode); break;
    case kControlPage: append_control_page(pages, pc, mode); break;
    case kInformationalExceptionsPage: append_informational_exceptions_page(pages); break;
    case kAllPages:
      append_caching_page(pages, pc, mode);
      append_control_page(pages, pc, mode);
      append_informational_exceptions_page(pages);
      break;
    default:
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

  // Header: DPOFUA (device-specific parameter bit 4): DPO and FUA are supported.
  std::vector<uint8_t> out;
  if (ten) {
    out.assign(8, 0);
    out[3] = 0x10;
    if (llbaa && !descriptor.empty()) out[4] = 0x01;  // LONGLBA
    store_be16(out.data() + 6, static_cast<uint16_t>(descriptor.size()));
  } else {
    out.assign(4, 0);
    out[2] = 0x10;
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
