// The wire format of a LunEvent carried by a RADOS notify (cluster/rados). Version 1, all
// integers big-endian:
//
//   "PLEV"  magic                      4 bytes
//   u8      format version (1)
//   u8      kind (LunEvent::Kind; state_unknown/state_current are local-only and rejected)
//   u8      asc_code, u8 asc_qualifier
//   str     origin_nexus
//   u16     number of unit attentions (<= kMaxListEntries), each: str initiator,
//           str target_port, u8 asc_code, u8 asc_qualifier
//   u16     number of abort selectors (<= kMaxListEntries), each: str initiator, str target_port
//
// where `str` is a u16 length (<= kMaxStringBytes) followed by that many bytes. Nothing may
// follow the last field; the whole encoding is at most kMaxEncodedBytes. A decoder that meets a
// newer version rejects it (the message names the version) rather than guess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/cluster_state.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

inline constexpr uint8_t kLunEventFormatVersion = 1;
inline constexpr size_t kMaxStringBytes = 1024;   // iSCSI names are <= 223 bytes; nexus keys a few of them
inline constexpr size_t kMaxListEntries = 4096;
inline constexpr size_t kMaxEncodedBytes = 1 << 20;

// Fails (invalid_argument / out_of_range) for a local-only kind or a field beyond the limits.
Result<std::string> encode_lun_event(const LunEvent& event);
// Fails with invalid_argument and a message saying what is wrong and at which offset.
Result<LunEvent> decode_lun_event(std::span<const uint8_t> bytes);

}  // namespace portico::cluster::rados
