// Changing the group's configuration record from the portico command: every verb that changes
// it (config import, target, lun, host) stores a whole new version with one guarded write, then
// tells the gateways and reports each one's answer. A change computed from a version that
// someone else replaced meanwhile is computed again from the new one (an edit) or refused (a
// whole file, unless it was meant to replace whatever is there).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <string>

#include "cli/cluster_view.h"
#include "core/common/result.h"

namespace portico::cli {

// Edits the record's YAML tree in place; an error names the argument that is wrong. `record` is
// a mapping (with `targets`, a sequence, when the record had any).
using RecordEdit = std::function<Status(YAML::Node& record)>;

// Reads the record, applies `edit`, checks the result as a gateway would, stores it as the next
// version (retrying from a newer version, a few times, when another change landed first) and
// reports the gateways' answers. `what` names the verb in messages. Returns the exit status: 0
// stored and applied by every live gateway, 1 not stored, 3 stored but refused or not answered
// by some gateway (each named, with its reason).
// `stored` runs once the version is stored, before the answers are reported (what the edit chose,
// said once however many times the edit ran).
int change_record(const ClusterView& view, const std::string& what, const RecordEdit& edit,
                  const std::function<void()>& stored = {});

// After version `version` was stored: notifies, waits up to `timeout` for the gateways, prints
// one line per gateway. Returns 0 or 3 as above.
int report_gateways(const ClusterView& view, uint64_t version, std::chrono::milliseconds timeout);

}  // namespace portico::cli
