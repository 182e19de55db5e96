#include "core/scsi/mode_pages.h"

#include "core/common/big_endian.h"

namespace portico::scsi {
namespace {

void append_caching_page(std::vector<uint8_t>& out, PageControl pc, const ModeParameters& mode) {
  std::vector<uint8_t> page(20, 0);
  page[0] = kCachingPage;
  page[1] = 0x12;
  if (pc == PageControl::current && mode.write_cache_enabled) page[2] |= 0x04;  // WCE (not changeable)
  out.insert(out.end(), page.begin(), page.end());
}

void append_control_page(std::vector<uint8_t>& out, PageControl pc, const ModeParameters& mode) {
  std::vector<uint8_t> page(12, 0);
  page[0] = kControlPage;
  page[1] = 0x0a;
  if (pc == PageControl::changeable) {
    page[2] = 0x04;  // D_SENSE
    page[4] = 0x08;  // SWP
    page[5] = 0x40;  // TAS
  } else {
    // TST=000b (one task set), QERR=00b, queue algorithm modifier 1 (unrestricted
    // reordering), busy timeout unlimited; D_SENSE and TAS per the unit (defaults 0 and 1).
    const ModeParameters defaults;
    const ModeParameters& shown = pc == PageControl::defaults ? defaults : mode;
    if (shown.descriptor_sense) page[2] |= 0x04;
    page[3] = 0x10;
    if (shown.software_write_protect) page[4] |= 0x08;
    if (shown.task_aborted_status) page[5] |= 0x40;
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

bool append_mode_page(std::vector<uint8_t>& out, uint8_t page_code, PageControl pc, const ModeParameters& mode) {
  switch (page_code) {
    case kCachingPage: append_caching_page(out, pc, mode); return true;
    case kControlPage: append_control_page(out, pc, mode); return true;
    case kInformationalExceptionsPage: append_informational_exceptions_page(out); return true;
    case kAllPages:
      append_caching_page(out, pc, mode);
      append_control_page(out, pc, mode);
      append_informational_exceptions_page(out);
      return true;
    default: return false;
  }
}

}  // namespace portico::scsi
