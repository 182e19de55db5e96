// Fuzzes the parser of the reservation record every gateway reads from the cluster (the
// reservations, the SPC-2 holder, the unit's mode parameters and sanitize state): it must reject
// malformed text with a message naming the line and never crash; what it accepts must keep its
// value through a serialize/parse round trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/reservations/reservation_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico;
  auto state = parse_reservation_state(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!state.ok()) {
    if (state.status().message().find("line ") == std::string::npos) __builtin_trap();
    return 0;
  }
  auto again = parse_reservation_state(serialize(*state));
  if (!again.ok() || !(*again == *state)) __builtin_trap();
  return 0;
}
