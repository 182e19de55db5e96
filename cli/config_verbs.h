// `portico config ...`: the group's configuration record (cluster/rados/config_record.h).
//   check FILE        validate a record file, offline
//   import FILE       validate it and store it as the next version (guarded: refused when the
//                     record changed since it was read, or is not --expect-version)
//   export            print the record as stored
//   show              its version and what it serves
// Each returns the process exit status and prints one line on error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/cluster_view.h"

namespace portico::cli {

int config_check(const std::string& file);
int config_import(const ClusterView& view, const std::string& file, std::optional<uint64_t> expect_version);
int config_export(const ClusterView& view);
int config_show(const ClusterView& view, bool json);

}  // namespace portico::cli
