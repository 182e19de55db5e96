// How a logical unit's identity (NAA designator, unit serial number and the extension that the
// NVMe identifiers add) is derived from its cluster key. Every ClusterState implementation uses
// this one function, so that every gateway, clustered or not, reports the same identity for the
// same LUN — hosts remember it.
#pragma once

#include <cstdint>
#include <string>

#include "core/cluster_state.h"
#include "core/common/stable_hash.h"
#include "core/common/result.h"

namespace portico::cluster {

// NAA 3h (locally assigned), a 16-hex-digit serial and the extension, derived from `lun_key`.
Result<LunIdentity> derive_lun_identity(const std::string& lun_key);

}  // namespace portico::cluster
