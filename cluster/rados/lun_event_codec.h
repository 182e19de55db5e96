// The wire format of a LunEvent carried by a RADOS notify (cluster/rados). All integers
// big-endian:
//
//   "PLEV"  magic                      4 bytes
//   u8      format version (see below)
//   u8      kind: a wire code of kWireKinds (lun_event_codec.cc), fixed forever and independent
//           of LunEvent::Kind's order; state_unknown/state_current are local-only, never sent
//   u16     notice: a wire code of kWireNotices (lun_event_codec.cc), fixed forever and
//           independent of Notice's order; 0 = none
//   str     origin_nexus
//   u16     number of addressed notices (<= kMaxListEntries), each: str initiator,
//           str target_port, u16 notice
//   u16     number of abort selectors (<= kMaxListEntries), each: str initiator, str target_port
//
// where `str` is a u16 length (<= kMaxStringBytes) followed by that many bytes. Nothing may
// follow the last field; the whole encoding is at most kMaxEncodedBytes.
//
// Versioning. The version byte names the oldest format a reader must know to apply the event,
// not the newest its writer knows: every kind and every field records the version that added it,
// and the encoder writes the lowest version that carries the event. So when a release adds a
// kind (or a field) in version N+1, its gateways still send the kinds of version N as version N,
// byte for byte, and gateways of the older release keep applying them during a rolling upgrade.
// A reader never guesses at what it does not know: a version above kLunEventFormatVersion, or a
// kind or notice code it does not know, is refused with ErrorCode::unsupported and a message naming both
// ("format version 2 ... this gateway reads up to version 1"); anything malformed is refused
// with ErrorCode::invalid_argument. A refused event is never silently dropped: the refusing
// gateway stops serving the unit until it has re-read the state, and the publisher fences it as
// it fences a gateway that did not answer (event_channel.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/cluster_state.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

// The newest format this release reads and writes. Version 1: the kinds logical_unit_reset ..
// clear_task_set, the notices reset_occurred .. access_state_changed and the fields above.
inline constexpr uint8_t kLunEventFormatVersion = 1;
inline constexpr size_t kMaxStringBytes = 1024;   // iSCSI names are <= 223 bytes; nexus keys a few of them
inline constexpr size_t kMaxListEntries = 4096;
inline constexpr size_t kMaxEncodedBytes = 1 << 20;

// Fails (invalid_argument / out_of_range) for a local-only kind or a field beyond the limits.
Result<std::string> encode_lun_event(const LunEvent& event);
// Fails with unsupported for a newer version or an unknown kind (the message names them and this
// gateway's version), with invalid_argument and a message saying what is wrong and at which
// offset for anything malformed.
Result<LunEvent> decode_lun_event(std::span<const uint8_t> bytes);
// The wire code of a published kind, and the format version that added it (for tests and logs);
// std::nullopt for a local-only kind.
struct WireKind {
  LunEvent::Kind kind;
  uint8_t code;
  uint8_t since_version;
};
std::optional<WireKind> wire_kind_of(LunEvent::Kind kind);

}  // namespace portico::cluster::rados
