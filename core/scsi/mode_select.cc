// MODE SELECT (6/10) (SPC-4 6.9, 6.10): changes what the changeable mask allows (control page
// D_SENSE, SWP and TAS); any other difference from the current values is an invalid field.
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/mode_pages.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {

void handle_mode_select(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool ten = cdb[0] == op::kModeSelect10;
  const uint32_t length = ten ? load_be16(cdb.data() + 7) : cdb[4];
  task.data_out_length_needed = length;
  if ((cdb[1] & 0x10) == 0 && length > 0) {  // PF=0: vendor-specific pages are not offered
    unit.fail(task, invalid_field_in_cdb(1, 4));
    return;
  }
  if ((cdb[1] & 0x01) != 0) {  // SP: saving is not supported
    unit.fail(task, invalid_field_in_cdb(1, 0));
    return;
  }
  if (length == 0) {
    unit.complete(task);
    return;
  }
  const size_t header = ten ? 8 : 4;
  if (task.data_out.size() < length || length < header) {
    unit.fail(task, illegal_request(asc::kParameterListLengthError));
    return;
  }
  const auto list = task.data_out.first(length);
  const size_t descriptor_length = ten ? load_be16(list.data() + 6) : list[3];
  size_t at = header + descriptor_length;
  if (at > length) {
    unit.fail(task, illegal_request(asc::kParameterListLengthError));
    return;
  }
  ModeParameters mode = unit.mode();
  const ModeParameters before = mode;
  while (at < length) {
    if (length - at < 2) {
      unit.fail(task, illegal_request(asc::kParameterListLengthError));
      return;
    }
    const uint8_t page_code = list[at] & 0x3f;
    const bool subpage_format = (list[at] & 0x40) != 0;
    const size_t page_length = size_t{list[at + 1]} + 2;
    std::vector<uint8_t> current;
    std::vector<uint8_t> changeable;
    if (subpage_format || page_code == kAllPages || !append_mode_page(current, page_code, PageControl::current, mode)) {
      unit.fail(task, invalid_field_in_parameter_list(static_cast<uint16_t>(at), 5));
      return;
    }
    append_mode_page(changeable, page_code, PageControl::changeable, mode);
    if (page_length != current.size() || at + page_length > length) {
      unit.fail(task, invalid_field_in_parameter_list(static_cast<uint16_t>(at + 1)));
      return;
    }
    // Byte 0 carries PS (ignored on select); every other bit must match unless changeable.
    for (size_t i = 2; i < page_length; ++i) {
      const uint8_t differs = static_cast<uint8_t>((list[at + i] ^ current[i]) & ~changeable[i]);
      if (differs != 0) {
        uint8_t bit = 7;
        while (((differs >> bit) & 1) == 0) --bit;
        unit.fail(task, invalid_field_in_parameter_list(static_cast<uint16_t>(at + i), bit));
        return;
      }
    }
    if (page_code == kControlPage) {
      mode.descriptor_sense = (list[at + 2] & 0x04) != 0;
      mode.task_aborted_status = (list[at + 5] & 0x40) != 0;
      mode.software_write_protect = (list[at + 4] & 0x08) != 0;
    }
    at += page_length;
  }
  if (mode.descriptor_sense != before.descriptor_sense || mode.task_aborted_status != before.task_aborted_status ||
      mode.software_write_protect != before.software_write_protect) {
    // The parameters are the unit's on every gateway: stored in the cluster, then applied
    // everywhere; other nexuses learn MODE PARAMETERS CHANGED (SPC-4 7.5.1).
    unit.store_mode(task, mode);
    return;
  }
  unit.complete(task);
}

}  // namespace portico::scsi
