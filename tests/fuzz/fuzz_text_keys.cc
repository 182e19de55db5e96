// Fuzzes the key=value parser; what it accepts must survive an encode/parse round trip.
#include <cstddef>
#include <cstdint>
#include <span>

#include "frontends/iscsi/protocol/text_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::iscsi;
  auto keys = parse_text_keys(std::span<const uint8_t>(data, size));
  if (!keys.ok()) return 0;
  const std::string wire = encode_text_keys(*keys);
  auto again = parse_text_keys(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()));
  if (!again.ok() || *again != *keys) __builtin_trap();
  return 0;
}
