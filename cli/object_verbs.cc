#include "cli/object_verbs.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <set>

#include "cli/record_change.h"
#include "daemon/config.h"

namespace portico::cli {
namespace {

YAML::Node targets_of(YAML::Node& record) {
  if (!record["targets"] || record["targets"].IsNull()) record["targets"] = YAML::Node(YAML::NodeType::Sequence);
  return record["targets"];
}

// The target's node, or an undefined node.
std::optional<YAML::Node> find_target(YAML::Node& record, const std::string& iqn) {
  auto targets = targets_of(record);
  if (!targets.IsSequence()) return std::nullopt;
  for (size_t i = 0; i < targets.size(); ++i) {
    YAML::Node target = targets[i];
    if (target.IsMap() && target["iqn"] && target["iqn"].as<std::string>() == iqn) return target;
  }
  return std::nullopt;
}

Status no_target(const std::string& iqn) {
  return error(ErrorCode::not_found, "target " + iqn + " does not exist (portico config show lists them)");
}

std::string scalar(const YAML::Node& node) { return node.IsScalar() ? node.as<std::string>() : std::string(); }

// A list entry: a plain name or {name: ...}.
std::string entry_name(const YAML::Node& entry) { return entry.IsMap() ? scalar(entry["name"]) : scalar(entry); }

bool is_nqn(const std::string& name) { return name.rfind("nqn.", 0) == 0; }

int fail(const std::string& line) {
  std::fprintf(stderr, "portico: %s\n", line.c_str());
  return 1;
}

}  // namespace

int target_create(const ClusterView& view, const TargetCreate& request) {
  return change_record(view, "target create", [&](YAML::Node& record) -> Status {
    if (find_target(record, request.iqn)) return error(ErrorCode::already_exists, "target " + request.iqn + " already exists");
    YAML::Node target(YAML::NodeType::Map);
    target["iqn"] = request.iqn;
    if (!request.alias.empty()) target["alias"] = request.alias;
    if (!request.nqn.empty()) target["nvme"]["nqn"] = request.nqn;
    target["luns"] = YAML::Node(YAML::NodeType::Sequence);
    targets_of(record).push_back(target);
    return {};
  });
}

int target_delete(const ClusterView& view, const std::string& iqn) {
  return change_record(view, "target delete", [&](YAML::Node& record) -> Status {
    auto targets = targets_of(record);
    YAML::Node kept(YAML::NodeType::Sequence);
    bool found = false;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].IsMap() && scalar(targets[i]["iqn"]) == iqn) {
        found = true;
      } else {
        kept.push_back(targets[i]);
      }
    }
    if (!found) return no_target(iqn);
    record["targets"] = kept;
    return {};
  });
}

int lun_add(const ClusterView& view, const LunAdd& request) {
  // The gateways would refuse a version whose image they cannot open: say so before storing it.
  if (auto image = view.check_image(request.image); !image.ok()) return fail("lun add: " + image.message());
  return change_record(view, "lun add", [&](YAML::Node& record) -> Status {
    auto target = find_target(record, request.iqn);
    if (!target) return no_target(request.iqn);
    if (!(*target)["luns"] || !(*target)["luns"].IsSequence()) (*target)["luns"] = YAML::Node(YAML::NodeType::Sequence);
    YAML::Node luns = (*target)["luns"];
    std::set<uint64_t> used;
    for (size_t i = 0; i < luns.size(); ++i) {
      if (!luns[i]["lun"]) continue;
      used.insert(luns[i]["lun"].as<uint64_t>());
      if (scalar(luns[i]["image"]) == request.image) {
        return error(ErrorCode::already_exists, fmt::format("image {} is already LUN {} of {}", request.image,
                                                            luns[i]["lun"].as<uint64_t>(), request.iqn));
      }
    }
    uint64_t number = 0;
    if (request.lun) {
      number = *request.lun;
      if (used.count(number) != 0) return error(ErrorCode::already_exists, fmt::format("--lun {}: {} already has it", number, request.iqn));
    } else {
      while (used.count(number) != 0) ++number;
    }
    YAML::Node lun(YAML::NodeType::Map);
    lun["lun"] = number;
    lun["backend"] = "rbd";
    lun["image"] = request.image;
    if (request.nsid) lun["nsid"] = *request.nsid;
    if (request.read_only) lun["read_only"] = true;
    luns.push_back(lun);
    std::printf("lun add: %s is LUN %llu of %s\n", request.image.c_str(), static_cast<unsigned long long>(number),
                request.iqn.c_str());
    return {};
  });
}

int lun_remove(const ClusterView& view, const std::string& iqn, uint64_t number) {
  return change_record(view, "lun remove", [&](YAML::Node& record) -> Status {
    auto target = find_target(record, iqn);
    if (!target) return no_target(iqn);
    YAML::Node luns = (*target)["luns"];
    YAML::Node kept(YAML::NodeType::Sequence);
    bool found = false;
    for (size_t i = 0; luns && luns.IsSequence() && i < luns.size(); ++i) {
      if (luns[i]["lun"] && luns[i]["lun"].as<uint64_t>() == number) {
        found = true;
      } else {
        kept.push_back(luns[i]);
      }
    }
    if (!found) return error(ErrorCode::not_found, fmt::format("{} has no LUN {}", iqn, number));
    (*target)["luns"] = kept;
    return {};
  });
}

int lun_resize(const ClusterView& view, const std::string& image, const std::string& size) {
  auto bytes = daemon::parse_size(size);
  if (!bytes.ok()) return fail("lun resize: size '" + size + "': " + bytes.status().message());
  if (auto resized = view.resize_image(image, *bytes); !resized.ok()) return fail("lun resize: " + resized.message());
  std::printf("lun resize: %s is now %llu bytes; every gateway tells its hosts (capacity data has changed)\n",
              image.c_str(), static_cast<unsigned long long>(*bytes));
  return 0;
}

int host_add(const ClusterView& view, const std::string& iqn, const std::string& name) {
  return change_record(view, "host add", [&](YAML::Node& record) -> Status {
    auto target = find_target(record, iqn);
    if (!target) return no_target(iqn);
    YAML::Node holder = *target;
    const char* key = "allowed_initiators";
    if (is_nqn(name)) {
      if (!(*target)["nvme"]) return error(ErrorCode::invalid_argument, name + ": " + iqn + " is not exported over NVMe");
      holder = (*target)["nvme"];
      key = "allowed_hosts";
    }
    if (!holder[key] || holder[key].IsScalar()) holder[key] = YAML::Node(YAML::NodeType::Sequence);  // was "any"
    YAML::Node list = holder[key];
    for (size_t i = 0; i < list.size(); ++i) {
      if (entry_name(list[i]) == name) return error(ErrorCode::already_exists, name + " is already allowed on " + iqn);
    }
    list.push_back(name);
    return {};
  });
}

int host_remove(const ClusterView& view, const std::string& iqn, const std::string& name) {
  return change_record(view, "host remove", [&](YAML::Node& record) -> Status {
    auto target = find_target(record, iqn);
    if (!target) return no_target(iqn);
    YAML::Node holder = is_nqn(name) && (*target)["nvme"] ? (*target)["nvme"] : *target;
    const char* key = is_nqn(name) ? "allowed_hosts" : "allowed_initiators";
    YAML::Node list = holder[key];
    if (!list || !list.IsSequence()) {
      return error(ErrorCode::not_found, iqn + " admits any " + (is_nqn(name) ? "host" : "initiator") +
                                             ": there is no list to remove " + name + " from");
    }
    YAML::Node kept(YAML::NodeType::Sequence);
    for (size_t i = 0; i < list.size(); ++i) {
      if (entry_name(list[i]) != name) kept.push_back(list[i]);
    }
    if (kept.size() == list.size()) return error(ErrorCode::not_found, name + " is not in the list of " + iqn);
    if (kept.size() == 0) {
      // An empty list would read as a mistake; `any` would open the target to everyone.
      return error(ErrorCode::invalid_argument, name + " is the last one allowed on " + iqn +
                                                    ": add another first, or delete the target");
    }
    holder[key] = kept;
    return {};
  });
}

}  // namespace portico::cli
