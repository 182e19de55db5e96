// Fuzzes the decoder of cluster events carried by RADOS notifies: it must reject malformed
// input (invalid_argument) or input of a newer release (unsupported: a newer format version, an
// unknown kind or an unknown notice) with a message and never crash; what it accepts must survive an encode/decode
// round trip.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "cluster/rados/lun_event_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::cluster::rados;
  auto event = decode_lun_event(std::span<const uint8_t>(data, size));
  if (!event.ok()) {
    if (event.status().message().empty()) __builtin_trap();
    // Refused as malformed, or as newer than this gateway (a version or kind it does not know).
    const auto code = event.status().code();
    if (code != portico::ErrorCode::invalid_argument && code != portico::ErrorCode::unsupported) __builtin_trap();
    if (code == portico::ErrorCode::unsupported && size > 4 && data[4] <= kLunEventFormatVersion &&
        (size < 6 || data[5] <= 7) && event.status().message().find("notice code") == std::string::npos) {
      __builtin_trap();  // neither a newer version, nor a kind beyond the known and reserved ones, nor a notice
    }
    return 0;
  }
  auto wire = encode_lun_event(*event);
  if (!wire.ok()) __builtin_trap();
  // The encoding is canonical: re-encoding what was decoded gives the input back.
  if (wire->size() != size || (size != 0 && __builtin_memcmp(wire->data(), data, size) != 0)) __builtin_trap();
  return 0;
}
