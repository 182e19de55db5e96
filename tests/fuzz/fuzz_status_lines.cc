// Fuzzes the two small decoders of what other gateways write for the portico command
// (cluster/rados): a gateway's session lines (session_status.h), read from the status object's
// omap, and a gateway's answer to a configuration notify (config_watch.h). Neither may crash;
// what the session decoder accepts must survive an encode / decode round trip, and an answer
// the watch itself encodes must decode to the same answer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cluster/rados/config_watch.h"
#include "cluster/rados/session_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::cluster::rados;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto lines = decode_session_lines(text);
  for (const auto& line : lines) {
    if (line.protocol.empty()) __builtin_trap();
  }
  if (decode_session_lines(encode_session_lines(lines)) != lines) __builtin_trap();

  const ConfigAnswer answer = ConfigAnswer::decode(text);
  if (answer.applied && !answer.why.empty()) __builtin_trap();
  // A well-formed answer round-trips (the version's digits may overflow in a hostile one).
  if (text.rfind("applied ", 0) == 0 || text.rfind("refused ", 0) == 0) {
    const ConfigAnswer again = ConfigAnswer::decode(answer.encode());
    if (again.applied != answer.applied || again.version != answer.version) __builtin_trap();
    if (!answer.applied && again.why != answer.why) __builtin_trap();
  }
  return 0;
}
