// SAM-5 5.3.1 status codes.
#pragma once

#include <cstdint>

namespace portico::scsi {

enum class ScsiStatus : uint8_t {
  good = 0x00,
  check_condition = 0x02,
  condition_met = 0x04,
  busy = 0x08,
  reservation_conflict = 0x18,
  task_set_full = 0x28,
  aca_active = 0x30,
  task_aborted = 0x40,
};

}  // namespace portico::scsi
