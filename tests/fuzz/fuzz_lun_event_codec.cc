// Fuzzes the decoder of cluster events carried by RADOS notifies: it must reject malformed
// input with a message and never crash; what it accepts must survive an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <span>

#include "cluster/rados/lun_event_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::cluster::rados;
  auto event = decode_lun_event(std::span<const uint8_t>(data, size));
  if (!event.ok()) {
    if (event.status().message().empty()) __builtin_trap();
    return 0;
  }
  auto wire = encode_lun_event(*event);
  if (!wire.ok()) __builtin_trap();
  // The encoding is canonical: re-encoding what was decoded gives the input back.
  if (wire->size() != size || (size != 0 && __builtin_memcmp(wire->data(), data, size) != 0)) __builtin_trap();
  return 0;
}
