// A gateway with cluster.shared_config takes its targets from the group's configuration record
// in RADOS (cluster/rados/config_record.h) and the rest from its own file.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/common/result.h"
#include "ceph/rados_connection.h"
#include "daemon/config.h"
#include "daemon/gateway.h"

namespace portico::daemon {

// Reads the record named by `local`'s cluster section and merges it into the file at `path`.
// Fails, naming the record and its version, when it is missing, unreadable or invalid.
Result<Config> load_shared_config(const std::string& path, const Config& local);
// Merges later versions of the record with the file at `path` as it is now (read once here),
// reading the record's secrets through the fetcher given.
RecordMerger record_merger(const std::string& path);
// Reads a record's secret references from the monitors' config-key store through `connection`.
SecretFetcher config_key_fetcher(std::shared_ptr<ceph::RadosConnection> connection);

}  // namespace portico::daemon
