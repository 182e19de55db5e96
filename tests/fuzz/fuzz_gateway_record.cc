// Fuzzes the parser of gateway membership records (cluster/rados/membership.h), which every
// gateway and the portico command read from the omap other gateways wrote: a record must be
// refused with a message naming the gateway, or accepted and survive an encode / parse round
// trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cluster/rados/membership.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::cluster::rados;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto record = parse_gateway_record("gw-fuzz", text);
  if (!record.ok()) {
    if (record.status().message().find("gw-fuzz") == std::string::npos) __builtin_trap();
    return 0;
  }
  if (record->target_port_group == 0 || record->relative_port_id == 0) __builtin_trap();
  auto again = parse_gateway_record("gw-fuzz", encode_gateway_record(*record));
  if (!again.ok()) __builtin_trap();
  // Portal lists and addresses with spaces cannot come from a gateway's own encoding; what the
  // parser accepted must round-trip exactly.
  if (!(*again == *record)) __builtin_trap();
  return 0;
}
