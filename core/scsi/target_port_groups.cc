// REPORT TARGET PORT GROUPS (SPC-4 6.36): every gateway's group and its ports, as the cluster
// state knows them.
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"

namespace portico::scsi {

void handle_report_target_port_groups(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint8_t format = static_cast<uint8_t>(cdb[1] >> 5);
  const uint32_t allocation_length = load_be32(cdb.data() + 6);
  if (format != 0 && format != 1) {
    unit.fail(task, invalid_field_in_cdb(1, 7));
    return;
  }
  const auto groups = unit.cluster().target_port_groups();
  std::vector<uint8_t> out(format == 1 ? 8 : 4, 0);
  if (format == 1) {
    out[4] = 0x10;  // extended header: format type 1
    out[5] = 0;     // implicit transition time
  }
  for (const auto& group : groups) {
    // SPC-4 6.36.2: PREF=0, asymmetric access state, then the supported states: AO, AN, S, U, T.
    out.push_back(static_cast<uint8_t>(group.state));
    out.push_back(0x80 | 0x0f);  // T_SUP | U_SUP | S_SUP | AN_SUP | AO_SUP
    out.resize(out.size() + 2);
    store_be16(out.data() + out.size() - 2, group.id);
    out.push_back(0);
    out.push_back(0);  // status code: no status available
    out.push_back(0);  // vendor specific
    out.push_back(static_cast<uint8_t>(group.relative_port_ids.size()));
    for (uint16_t port : group.relative_port_ids) {
      out.resize(out.size() + 4, 0);
      store_be16(out.data() + out.size() - 2, port);
    }
  }
  store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
  respond_with_data(task, out, allocation_length);
  unit.complete(task);
}

}  // namespace portico::scsi
