// Fuzzes the EXTENDED COPY (LID1) parameter-list decoder on its own: the command path fuzzer
// rarely builds a header consistent enough to reach the target and segment descriptors.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/scsi/extended_copy_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;  // the handler never passes an empty list
  // Any answer (parameters or sense) is fine; reading out of bounds or UB is the finding.
  (void)portico::scsi::parse_extended_copy_parameters(std::span<const uint8_t>(data, size));
  return 0;
}
