// Fuzzes the core's command path: any CDB with any data-out, through ScsiTarget, against a small
// in-memory device. Every decoder of the core (CDBs, PR OUT parameter lists and TransportIDs,
// MODE SELECT pages, UNMAP lists) sees the bytes; the target must answer every command once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/scsi/nexus_state.h"
#include "core/reservations/reservation_state.h"
#include "tests/unit/core/test_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico;
  static auto* fixture = new testing::TargetFixture(64);
  static auto nexus_a = fixture->target.attach(testing::make_nexus("iqn.fuzz-a"));
  static auto nexus_b = fixture->target.attach(testing::make_nexus("iqn.fuzz-b"));
  if (size < 17) {
    (void)parse_reservation_state(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
  }
  auto& nexus = (data[0] & 1) != 0 ? *nexus_b : *nexus_a;
  const uint64_t lun = (data[0] & 2) != 0 ? 1 : 0;
  scsi::ScsiTask task;
  for (size_t i = 0; i < 16; ++i) task.cdb_bytes[i] = data[1 + i];
  task.lun = lun;
  task.tag = 1;
  std::vector<uint8_t> data_out(data + 17, data + size);
  task.data_out = data_out;
  task.expected_transfer_length = static_cast<uint32_t>(data_out.size());
  bool finished = false;
  fixture->target.execute(nexus, task, fixture->executor, [&finished]() { finished = true; });
  if (!finished) std::abort();  // the synchronous device must have completed it
  if (task.data_in_length > task.data_in.size()) std::abort();
  return 0;
}
