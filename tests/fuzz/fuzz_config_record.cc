// Fuzzes the configuration record parser (daemon/config.h: check_config_record), which every
// gateway of a group runs on the RADOS object anyone with write access to the pool can replace:
// any input is accepted or refused with a message, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto status = portico::daemon::check_config_record(text);
  if (!status.ok() && status.message().empty()) __builtin_trap();
  return 0;
}
