// Mode pages (SPC-4 7.5, SBC-3 6.4): built in one place for MODE SENSE and checked against the
// changeable mask by MODE SELECT.
#pragma once

#include <cstdint>
#include <vector>

#include "core/scsi/logical_unit.h"

namespace portico::scsi {

enum class PageControl : uint8_t { current = 0, changeable = 1, defaults = 2, saved = 3 };

inline constexpr uint8_t kCachingPage = 0x08;
inline constexpr uint8_t kControlPage = 0x0a;
inline constexpr uint8_t kInformationalExceptionsPage = 0x1c;
inline constexpr uint8_t kAllPages = 0x3f;

// Appends one page (subpage 0); false for a page this unit does not have.
bool append_mode_page(std::vector<uint8_t>& out, uint8_t page_code, PageControl pc, const ModeParameters& mode);

}  // namespace portico::scsi
