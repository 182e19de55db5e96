// READ DEFECT DATA (10/12) (SBC-3 5.17, 5.18): a virtual medium has no defects, so the list is
// empty in whatever format was asked for.
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {

void handle_read_defect_data(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool twelve = cdb[0] == op::kReadDefectData12;
  const uint8_t request = cdb[twelve ? 1 : 2];
  const uint8_t lists = request & 0x18;  // REQ_PLIST, REQ_GLIST
  const uint8_t format = request & 0x07;
  const uint32_t allocation_length = twelve ? load_be32(cdb.data() + 6) : load_be16(cdb.data() + 7);
  std::vector<uint8_t> out(twelve ? 8 : 4, 0);
  // PLISTV/GLISTV say which lists are reported (both empty), in the requested format.
  out[1] = static_cast<uint8_t>(lists | format);
  respond_with_data(task, out, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
