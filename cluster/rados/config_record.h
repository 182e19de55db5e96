// The gateway group's configuration record: one RADOS object (portico.config, or the name the
// gateways' cluster.config_object gives) in the cluster pool. Its data is the YAML of the shared
// part of the configuration (targets, LUNs, initiators, NVMe subsystems), its version the decimal
// xattr portico.version, as for the reservation records (absent = version 0, never written).
// A write is one guarded OSD operation — compare the version, set the next one, replace the data —
// so of two writers that read the same version exactly one succeeds; the other gets
// ErrorCode::busy and must read again: a change made on a stale version is refused, never lost,
// and no reader ever sees a torn record. Blocking calls: the portico command and start-up.
#pragma once

#include <cstdint>
#include <string>

#include "cluster/rados/pool.h"
#include "cluster/rados/versioned_object.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

inline constexpr const char* kConfigObject = "portico.config";

// Its data is the record's YAML.
Result<VersionedObject> read_config_record(Pool& pool, const std::string& object);
// Replaces the record if it is still at `expected_version` (0: it must not exist or never have
// been written); the new version is expected_version + 1.
Status write_config_record(Pool& pool, const std::string& object, uint64_t expected_version, const std::string& yaml);

}  // namespace portico::cluster::rados
