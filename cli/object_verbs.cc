#include "cli/object_verbs.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

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

// A scalar's text; "" for anything else, a missing key included.
std::string scalar(const YAML::Node& node) { return node && node.IsScalar() ? node.as<std::string>() : std::string(); }

// A list entry: a plain name or {name: ...}.
std::string entry_name(const YAML::Node& entry) { return entry.IsMap() ? scalar(entry["name"]) : scalar(entry); }

bool is_nqn(const std::string& name) { return name.rfind("nqn.", 0) == 0; }

int fail(const std::string& line) {
  std::fprintf(stderr, "portico: %s\n", line.c_str());
  return 1;
}

// The secret in `file`, without its final newline.
Result<std::string> read_secret(const std::string& file, const std::string& option) {
  std::ifstream in(file);
  if (!in) return error(ErrorCode::not_found, option + " " + file + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  // RFC 7143 12.1.3: secrets shorter than 12 bytes are refused by interoperable initiators.
  if (secret.size() < 12 || secret.size() > 255) {
    return error(ErrorCode::invalid_argument, option + " " + file + ": the secret must be 12 to 255 characters long");
  }
  return secret;
}

// The config-keys a chap section refers to.
std::vector<std::string> referenced_keys(const YAML::Node& chap) {
  std::vector<std::string> keys;
  if (!chap || !chap.IsMap()) return keys;
  const std::string prefix = daemon::kSecretReferencePrefix;
  for (const char* field : {"secret", "mutual_secret"}) {
    const std::string value = scalar(chap[field]);
    if (value.rfind(prefix, 0) == 0) keys.push_back(value.substr(prefix.size()));
  }
  return keys;
}

// The node that holds the chap section: the target, or the initiator's entry in its ACL (made
// a {name: ...} map, and added to the ACL when `create`).
std::optional<YAML::Node> chap_holder(YAML::Node& target, const std::string& initiator, bool create, Status& why) {
  if (initiator.empty()) return target;
  if (!target["allowed_initiators"] || target["allowed_initiators"].IsScalar()) {
    if (!create) {
      why = error(ErrorCode::not_found, initiator + " is not in the ACL of " + scalar(target["iqn"]));
      return std::nullopt;
    }
    target["allowed_initiators"] = YAML::Node(YAML::NodeType::Sequence);
  }
  YAML::Node list = target["allowed_initiators"];
  for (size_t i = 0; i < list.size(); ++i) {
    if (entry_name(list[i]) != initiator) continue;
    if (!list[i].IsMap()) {
      YAML::Node entry(YAML::NodeType::Map);
      entry["name"] = initiator;
      list[i] = entry;
    }
    return list[i];
  }
  if (!create) {
    why = error(ErrorCode::not_found, initiator + " is not in the ACL of " + scalar(target["iqn"]));
    return std::nullopt;
  }
  YAML::Node entry(YAML::NodeType::Map);
  entry["name"] = initiator;
  list.push_back(entry);
  return list[list.size() - 1];
}

// Removes keys no record version names any more (best effort: a key left behind is unused).
void remove_keys(const ClusterView& view, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    if (auto removed = view.config_key_remove(key); !removed.ok() && removed.code() != ErrorCode::not_found) {
      std::fprintf(stderr, "portico: %s (left unused)\n", removed.message().c_str());
    }
  }
}

}  // namespace

int auth_set(const ClusterView& view, const AuthSet& request) {
  auto secret = read_secret(request.secret_file, "--secret-file");
  if (!secret.ok()) return fail("auth set: " + secret.status().message());
  std::string mutual;
  if (!request.mutual_username.empty()) {
    auto read = read_secret(request.mutual_secret_file, "--mutual-secret-file");
    if (!read.ok()) return fail("auth set: " + read.status().message());
    if (*read == *secret) return fail("auth set: the mutual secret must differ from the secret (RFC 7143 12.1.3)");
    mutual = *read;
  }
  const auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const std::string base = view.config_key_prefix() + request.iqn + "/" +
                           (request.initiator.empty() ? std::string("target") : request.initiator) + "/";
  std::vector<std::string> written;
  const std::string secret_key = fmt::format("{}secret.{}", base, stamp);
  if (auto stored = view.config_key_set(secret_key, *secret); !stored.ok()) return fail("auth set: " + stored.message());
  written.push_back(secret_key);
  const std::string mutual_key = fmt::format("{}mutual_secret.{}", base, stamp);
  if (!mutual.empty()) {
    if (auto stored = view.config_key_set(mutual_key, mutual); !stored.ok()) {
      remove_keys(view, written);
      return fail("auth set: " + stored.message());
    }
    written.push_back(mutual_key);
  }
  std::vector<std::string> replaced;
  const int status = change_record(view, "auth set", [&](YAML::Node& record) -> Status {
    auto target = find_target(record, request.iqn);
    if (!target) return no_target(request.iqn);
    Status why;
    auto holder = chap_holder(*target, request.initiator, true, why);
    if (!holder) return why;
    replaced = referenced_keys((*holder)["chap"]);
    YAML::Node chap(YAML::NodeType::Map);
    chap["username"] = request.username;
    chap["secret"] = std::string(daemon::kSecretReferencePrefix) + secret_key;
    if (!mutual.empty()) {
      chap["mutual_username"] = request.mutual_username;
      chap["mutual_secret"] = std::string(daemon::kSecretReferencePrefix) + mutual_key;
    }
    (*holder)["chap"] = chap;
    return {};
  });
  if (status == 1) {
    remove_keys(view, written);  // nothing names them
    return status;
  }
  remove_keys(view, replaced);
  return status;
}

int auth_clear(const ClusterView& view, const std::string& iqn, const std::string& initiator) {
  std::vector<std::string> replaced;
  const int status = change_record(view, "auth clear", [&](YAML::Node& record) -> Status {
    auto target = find_target(record, iqn);
    if (!target) return no_target(iqn);
    Status why;
    auto holder = chap_holder(*target, initiator, false, why);
    if (!holder) return why;
    if (!(*holder)["chap"]) return error(ErrorCode::not_found, "no CHAP is set there");
    replaced = referenced_keys((*holder)["chap"]);
    holder->remove("chap");
    return {};
  });
  if (status != 1) remove_keys(view, replaced);
  return status;
}

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
  uint64_t chosen = 0;
  // The number is said first: the gateways' answers follow.
  const auto announce = [&]() {
    std::printf("lun add: %s is LUN %llu of %s\n", request.image.c_str(), static_cast<unsigned long long>(chosen),
                request.iqn.c_str());
  };
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
    chosen = number;
    return {};
  }, announce);
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
