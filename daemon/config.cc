#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "frontends/fc_tcmu/handler/fabric_nexus.h"

namespace portico::daemon {
namespace {

// Thrown only inside this file and turned into a Status at the boundary: keeps the many
// validation paths readable. Configuration is never on the data path.
struct ConfigError {
  std::string message;
};

[[noreturn]] void fail(const std::string& key, const std::string& reason) {
  throw ConfigError{key + ": " + reason};
}

void reject_unknown_keys(const YAML::Node& node, const std::string& where,
                         std::initializer_list<const char*> known) {
  for (const auto& item : node) {
    auto key = item.first.as<std::string>();
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      fail(where.empty() ? key : where + "." + key, "unknown key");
    }
  }
}

YAML::Node require_map(const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) fail(key, "must be a mapping");
  return node;
}

std::string get_string(const YAML::Node& parent, const char* name, const std::string& where) {
  const auto node = parent[name];
  const std::string key = where + "." + name;
  if (!node || node.IsNull()) fail(key, "is required");
  if (!node.IsScalar()) fail(key, "must be a string");
  auto value = node.as<std::string>();
  if (value.empty()) fail(key, "must not be empty");
  return value;
}

bool get_bool(const YAML::Node& parent, const char* name, const std::string& where) {
  const std::string value = get_string(parent, name, where);
  if (value != "true" && value != "false") fail(where + "." + name, "must be true or false");
  return value == "true";
}

uint64_t get_unsigned(const YAML::Node& node, const std::string& key, uint64_t max) {
  if (!node.IsScalar()) fail(key, "must be a number");
  const auto text = node.as<std::string>();
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    fail(key, "must be a non-negative whole number, got '" + text + "'");
  }
  if (text.size() > 19) fail(key, "is too large");
  const uint64_t value = std::stoull(text);
  if (value > max) fail(key, "must be at most " + std::to_string(max) + ", got " + text);
  return value;
}

// RFC 3720 §3.2.6 / RFC 7143 §4.2.7.2: iqn.yyyy-mm.reversed-domain[:anything], eui. or naa.
bool is_valid_iscsi_name(const std::string& name) {
  if (name.size() > 223) return false;
  auto allowed = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
           c == '-' || c == '.' || c == ':';
  };
  if (name.rfind("iqn.", 0) == 0) {
    if (name.size() < 12 || !std::all_of(name.begin(), name.end(), allowed)) return false;
    // "iqn.YYYY-MM." followed by a naming authority.
    for (size_t i : {4u, 5u, 6u, 7u, 9u, 10u}) {
      if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    }
    return name[8] == '-' && name[11] == '.' && name.size() > 12;
  }
  auto hex_tail = [&](size_t from, std::initializer_list<size_t> lengths) {
    const auto tail = name.substr(from);
    return std::find(lengths.begin(), lengths.end(), tail.size()) != lengths.end() &&
           std::all_of(tail.begin(), tail.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  };
  if (name.rfind("eui.", 0) == 0) return hex_tail(4, {16});
  if (name.rfind("naa.", 0) == 0) return hex_tail(4, {16, 32});
  return false;
}

std::string get_iscsi_name(const YAML::Node& parent, const char* name, const std::string& where) {
  auto value = get_string(parent, name, where);
  if (!is_valid_iscsi_name(value)) {
    fail(where + "." + name, "'" + value + "' is not a valid iSCSI name (iqn.YYYY-MM.domain[:id], lower case)");
  }
  return value;
}

// NVMe Base 2.0, "NVMe Qualified Names": nqn.yyyy-mm.reversed-domain:anything, or the UUID form
// nqn.2014-08.org.nvmexpress:uuid:<uuid>; at most 223 bytes.
bool is_valid_nqn(const std::string& name) {
  if (name.size() > 223 || name.rfind("nqn.", 0) != 0 || name.size() < 13) return false;
  for (size_t i : {4u, 5u, 6u, 7u, 9u, 10u}) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  if (name[8] != '-' || name[11] != '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return std::isprint(static_cast<unsigned char>(c)) && c != ' '; });
}

std::string get_nqn(const YAML::Node& parent, const char* name, const std::string& where) {
  auto value = get_string(parent, name, where);
  if (!is_valid_nqn(value)) {
    fail(where + "." + name, "'" + value + "' is not a valid NQN (nqn.YYYY-MM.domain:name, at most 223 bytes)");
  }
  return value;
}

NvmeExportConfig parse_nvme_export(const YAML::Node& node, const std::string& where) {
  require_map(node, where);
  reject_unknown_keys(node, where, {"nqn", "allowed_hosts"});
  NvmeExportConfig nvme;
  nvme.nqn = get_nqn(node, "nqn", where);
  const auto hosts = node["allowed_hosts"];
  const std::string key = where + ".allowed_hosts";
  if (!hosts || (hosts.IsScalar() && hosts.as<std::string>() == "any")) return nvme;
  if (!hosts.IsSequence() || hosts.size() == 0) fail(key, "must be 'any' or a non-empty list of host NQNs");
  nvme.any_host = false;
  for (size_t i = 0; i < hosts.size(); ++i) {
    YAML::Node holder;
    holder["name"] = hosts[i];
    nvme.allowed_hosts.push_back(get_nqn(holder, "name", key + "[" + std::to_string(i) + "]"));
  }
  return nvme;
}

ChapConfig parse_chap(const YAML::Node& node, const std::string& where) {
  require_map(node, where);
  reject_unknown_keys(node, where, {"username", "secret", "mutual_username", "mutual_secret"});
  ChapConfig chap;
  chap.username = get_string(node, "username", where);
  chap.secret = get_string(node, "secret", where);
  // RFC 7143 §12.1.3: secrets shorter than 12 bytes are refused by interoperable initiators.
  if (chap.secret.size() < 12 || chap.secret.size() > 255) {
    fail(where + ".secret", "must be 12 to 255 characters long");
  }
  const bool has_mutual_user = static_cast<bool>(node["mutual_username"]);
  const bool has_mutual_secret = static_cast<bool>(node["mutual_secret"]);
  if (has_mutual_user != has_mutual_secret) {
    fail(where + (has_mutual_user ? ".mutual_secret" : ".mutual_username"),
         "is required when the other mutual CHAP key is set");
  }
  if (has_mutual_user) {
    chap.mutual_username = get_string(node, "mutual_username", where);
    chap.mutual_secret = get_string(node, "mutual_secret", where);
    if (chap.mutual_secret.size() < 12 || chap.mutual_secret.size() > 255) {
      fail(where + ".mutual_secret", "must be 12 to 255 characters long");
    }
    if (chap.mutual_secret == chap.secret) {
      fail(where + ".mutual_secret", "must differ from secret (RFC 7143 12.1.3)");
    }
  }
  return chap;
}

// An optional unsigned key `name` of `node` in [min, max], stored in `field` when present.
template <typename Field>
void read_number(const YAML::Node& node, const std::string& where, const char* name, Field& field, uint64_t min,
                 uint64_t max) {
  if (!node[name]) return;
  const auto key = where + "." + name;
  const auto value = get_unsigned(node[name], key, max);
  if (value < min) fail(key, "must be at least " + std::to_string(min));
  field = static_cast<Field>(value);
}

// An optional size key `name` of `node` ("64MiB", with the units of `size`) of at least
// `min_bytes`, stored in `field` when present.
void read_size(const YAML::Node& node, const std::string& where, const char* name, uint64_t& field,
               uint64_t min_bytes = 0) {
  if (!node[name]) return;
  const auto key = where + "." + name;
  auto value = parse_size(node[name].as<std::string>());
  if (!value.ok()) fail(key, value.status().message());
  if (*value < min_bytes) fail(key, "must be at least " + std::to_string(min_bytes >> 20) + "MiB");
  field = *value;
}

TcmuExportConfig parse_tcmu_export(const YAML::Node& node, const std::string& where) {
  require_map(node, where);
  reject_unknown_keys(node, where, {"name", "fabric", "initiator", "target_port", "relative_port_id"});
  TcmuExportConfig e;
  e.name = get_string(node, "name", where);
  // A configfs folder name: no path separator, nothing hidden.
  const bool name_ok = !e.name.empty() && e.name.size() <= 64 && e.name.front() != '.' &&
                       std::all_of(e.name.begin(), e.name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
                       });
  if (!name_ok) fail(where + ".name", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  if (node["fabric"]) e.fabric = get_string(node, "fabric", where);
  auto fabric = tcmu::parse_fabric(e.fabric);
  if (!fabric.ok()) fail(where + ".fabric", fabric.status().message());
  e.initiator = get_string(node, "initiator", where);
  e.target_port = get_string(node, "target_port", where);
  read_number(node, where, "relative_port_id", e.relative_port_id, 1, 0xffff);
  tcmu::FabricPort port;
  port.fabric = *fabric;
  port.initiator = e.initiator;
  port.target_port = e.target_port;
  auto nexus = tcmu::fabric_nexus(port);
  if (!nexus.ok()) fail(where, nexus.status().message());
  return e;
}

LunConfig parse_lun(const YAML::Node& node, const std::string& where) {
  require_map(node, where);
  reject_unknown_keys(node, where, {"lun", "backend", "size", "block_size", "path", "image", "serial", "product",
                                     "read_only", "physical_block_size", "sanitize_rate", "completion_delay_us",
                                     "nsid", "tcmu"});
  LunConfig lun;
  if (!node["lun"]) fail(where + ".lun", "is required");
  lun.lun = get_unsigned(node["lun"], where + ".lun", 16383);  // SAM-5 flat space addressing
  const auto backend = get_string(node, "backend", where);
  if (backend == "memory") {
    lun.backend = BackendKind::memory;
  } else if (backend == "file") {
    lun.backend = BackendKind::file;
  } else if (backend == "rbd") {
    lun.backend = BackendKind::rbd;
  } else {
    fail(where + ".backend", "must be 'memory', 'file' or 'rbd', got '" + backend + "'");
  }
  if (node["block_size"]) {
    lun.block_size = static_cast<uint32_t>(get_unsigned(node["block_size"], where + ".block_size", 4096));
    if (lun.block_size != 512 && lun.block_size != 4096) fail(where + ".block_size", "must be 512 or 4096");
  }
  if (node["physical_block_size"]) {
    const std::string key = where + ".physical_block_size";
    lun.physical_block_size = static_cast<uint32_t>(get_unsigned(node["physical_block_size"], key, 1u << 24));
    const uint32_t p = lun.physical_block_size;
    if (p < lun.block_size || (p & (p - 1)) != 0) {
      fail(key, "must be a power of two no smaller than the block size (" + std::to_string(lun.block_size) + ")");
    }
  }
  read_size(node, where, "sanitize_rate", lun.sanitize_rate);  // bytes per second: "64MiB" = 64 MiB/s
  if (node["nsid"]) {
    // NVMe Base 2.0: 0 and FFFFFFFFh (every namespace) are not namespace IDs.
    lun.nsid = static_cast<uint32_t>(get_unsigned(node["nsid"], where + ".nsid", 0xfffffffeu));
    if (lun.nsid == 0) fail(where + ".nsid", "must be at least 1");
  }
  if (const auto exports = node["tcmu"]) {
    if (!exports.IsSequence() || exports.size() == 0) fail(where + ".tcmu", "must be a non-empty list of exports");
    for (size_t i = 0; i < exports.size(); ++i) {
      lun.tcmu.push_back(parse_tcmu_export(exports[i], where + ".tcmu[" + std::to_string(i) + "]"));
    }
  }
  if (node["completion_delay_us"]) {
    // A memory LUN standing in for a networked backend (bench/bench_rbd.sh); at most 1 s.
    if (lun.backend != BackendKind::memory) fail(where + ".completion_delay_us", "is only valid for the memory backend");
    lun.completion_delay_us =
        static_cast<uint32_t>(get_unsigned(node["completion_delay_us"], where + ".completion_delay_us", 1000000));
  }
  if (lun.backend == BackendKind::file) {
    lun.path = get_string(node, "path", where);
    if (lun.path.front() != '/') fail(where + ".path", "must be an absolute path");
  } else if (node["path"]) {
    fail(where + ".path", "is only valid for the file backend");
  }
  if (lun.backend == BackendKind::rbd) {
    // "pool/image" or "image" (in cluster.pool).
    const std::string image = get_string(node, "image", where);
    const auto slash = image.find('/');
    if (slash == std::string::npos) {
      lun.rbd_image = image;
    } else {
      lun.rbd_pool = image.substr(0, slash);
      lun.rbd_image = image.substr(slash + 1);
    }
    if (lun.rbd_image.empty() || lun.rbd_image.find('/') != std::string::npos ||
        (slash != std::string::npos && lun.rbd_pool.empty())) {
      fail(where + ".image", "must be 'pool/image' or 'image', got '" + image + "'");
    }
    if (node["size"]) fail(where + ".size", "is the image's own size for an rbd LUN (resize the image instead)");
  } else if (node["image"]) {
    fail(where + ".image", "is only valid for the rbd backend");
  }
  if (node["size"]) {
    const auto text = node["size"].as<std::string>();
    auto size = parse_size(text);
    if (!size.ok()) fail(where + ".size", size.status().message());
    lun.size_bytes = *size;
    if (lun.size_bytes == 0 || lun.size_bytes % lun.block_size != 0) {
      fail(where + ".size", "must be a non-zero multiple of the block size (" + std::to_string(lun.block_size) + ")");
    }
  } else if (lun.backend == BackendKind::memory) {
    fail(where + ".size", "is required for a memory LUN");
  }
  if (node["serial"]) {
    lun.serial = get_string(node, "serial", where);
    if (lun.serial.size() > 64) fail(where + ".serial", "must be at most 64 characters");
  }
  if (node["product"]) {
    lun.product = get_string(node, "product", where);
    if (lun.product.size() > 16) fail(where + ".product", "must be at most 16 characters (SPC-4 INQUIRY)");
  }
  if (node["read_only"]) {
    const std::string value = get_string(node, "read_only", where);
    if (value != "true" && value != "false") fail(where + ".read_only", "must be true or false");
    lun.read_only = value == "true";
  }
  return lun;
}

// A target in the configuration record may have no LUN yet (`portico target create`, then
// `portico lun add`); in a gateway's own file it would export nothing, so that is an error.
TargetConfig parse_target(const YAML::Node& node, const std::string& where, bool from_record) {
  require_map(node, where);
  reject_unknown_keys(node, where, {"iqn", "alias", "allowed_initiators", "chap", "luns", "nvme"});
  TargetConfig target;
  target.iqn = get_iscsi_name(node, "iqn", where);
  if (node["alias"]) target.alias = get_string(node, "alias", where);
  const auto acl = node["allowed_initiators"];
  const std::string acl_key = where + ".allowed_initiators";
  if (!acl || (acl.IsScalar() && acl.as<std::string>() == "any")) {
    target.any_initiator = true;
  } else if (acl.IsSequence()) {
    target.any_initiator = false;
    if (acl.size() == 0) fail(acl_key, "must list at least one initiator, or be 'any'");
    for (size_t i = 0; i < acl.size(); ++i) {
      const std::string entry_key = acl_key + "[" + std::to_string(i) + "]";
      if (acl[i].IsMap()) {
        // {name: <iqn>, chap: {...}}: an initiator with credentials of its own.
        reject_unknown_keys(acl[i], entry_key, {"name", "chap"});
        const std::string name = get_iscsi_name(acl[i], "name", entry_key);
        target.allowed_initiators.push_back(name);
        if (acl[i]["chap"]) target.initiator_chap[name] = parse_chap(acl[i]["chap"], entry_key + ".chap");
        continue;
      }
      YAML::Node holder;
      holder["name"] = acl[i];
      target.allowed_initiators.push_back(get_iscsi_name(holder, "name", entry_key));
    }
  } else {
    fail(acl_key, "must be 'any' or a list of initiator names");
  }
  if (node["chap"]) target.chap = parse_chap(node["chap"], where + ".chap");
  // An initiator's own secret is its identity: shared with another initiator, or with the
  // target's secret that every other initiator knows, it would prove nothing.
  std::map<std::string, std::string> secret_owner;
  if (target.chap) secret_owner[target.chap->secret] = "the target's chap.secret";
  for (const auto& [name, chap] : target.initiator_chap) {
    const auto [it, inserted] = secret_owner.emplace(chap.secret, name);
    if (!inserted) fail(acl_key, "the CHAP secret of " + name + " is also " + it->second + "'s: each must be its own");
  }
  const auto luns = from_record && !node["luns"] ? YAML::Node(YAML::NodeType::Sequence) : node["luns"];
  if (!luns || !luns.IsSequence() || (luns.size() == 0 && !from_record)) fail(where + ".luns", "must be a non-empty list");
  std::set<uint64_t> seen;
  for (size_t i = 0; i < luns.size(); ++i) {
    const auto key = where + ".luns[" + std::to_string(i) + "]";
    auto lun = parse_lun(luns[i], key);
    if (!seen.insert(lun.lun).second) fail(key + ".lun", "LUN " + std::to_string(lun.lun) + " is defined twice");
    target.luns.push_back(std::move(lun));
  }
  if (node["nvme"]) {
    target.nvme = parse_nvme_export(node["nvme"], where + ".nvme");
    std::set<uint64_t> nsids;
    for (size_t i = 0; i < target.luns.size(); ++i) {
      auto& lun = target.luns[i];
      if (lun.nsid == 0) {
        if (lun.lun + 1 > 0xfffffffeu) fail(where + ".luns[" + std::to_string(i) + "].nsid", "is required for this LUN number");
        lun.nsid = static_cast<uint32_t>(lun.lun + 1);
      }
      if (!nsids.insert(lun.nsid).second) {
        fail(where + ".luns[" + std::to_string(i) + "].nsid", "namespace " + std::to_string(lun.nsid) + " is defined twice");
      }
    }
  }
  return target;
}

// An optional list of "address:port" under gateway.<name>.
std::vector<std::string> address_list(const YAML::Node& gateway, const char* name) {
  std::vector<std::string> addresses;
  const auto list = gateway[name];
  if (!list) return addresses;
  const std::string key = std::string("gateway.") + name;
  if (!list.IsSequence()) fail(key, "must be a list of \"address:port\"");
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].IsScalar()) fail(key + "[" + std::to_string(i) + "]", "must be \"address:port\"");
    addresses.push_back(list[i].as<std::string>());
  }
  return addresses;
}

GatewayConfig parse_gateway(const YAML::Node& node) {
  const std::string where = "gateway";
  require_map(node, where);
  reject_unknown_keys(node, where,
                      {"name", "io_threads", "portals", "nop_in_interval_s", "nop_in_timeout_s", "max_sessions",
                       "max_recv_data_segment_length", "max_burst_length", "first_burst_length",
                       "max_queued_commands", "max_session_buffer", "max_buffer", "login_timeout_s",
                       "max_connections", "max_connections_per_address", "max_discovery_sessions",
                       "nvme_listeners", "nvme_rdma_listeners", "nvme_discovery_listeners", "nvme_io_queues", "nvme_queue_size", "nvme_in_capsule_data",
                       "nvme_max_data_transfer", "metrics_listener"});
  GatewayConfig gw;
  if (node["name"]) gw.name = get_string(node, "name", where);
  if (node["io_threads"]) {
    gw.io_threads = static_cast<unsigned>(get_unsigned(node["io_threads"], "gateway.io_threads", 64));
    if (gw.io_threads == 0) fail("gateway.io_threads", "must be at least 1");
  }
  const auto portals = node["portals"];
  if (!portals || !portals.IsSequence() || portals.size() == 0) fail("gateway.portals", "must be a non-empty list");
  for (size_t i = 0; i < portals.size(); ++i) {
    const auto key = "gateway.portals[" + std::to_string(i) + "]";
    if (!portals[i].IsScalar()) fail(key, "must be \"address:port\"");
    gw.portals.push_back(portals[i].as<std::string>());
  }
  auto number = [&](const char* name, auto& field, uint64_t min, uint64_t max) {
    read_number(node, where, name, field, min, max);
  };
  number("nop_in_interval_s", gw.nop_in_interval_s, 0, 3600);
  number("nop_in_timeout_s", gw.nop_in_timeout_s, 1, 3600);
  number("max_sessions", gw.max_sessions, 1, 65535);
  // RFC 7143 §13.12-14: 512 to 2^24-1.
  number("max_recv_data_segment_length", gw.max_recv_data_segment_length, 512, 16777215);
  number("max_burst_length", gw.max_burst_length, 512, 16777215);
  number("first_burst_length", gw.first_burst_length, 512, 16777215);
  number("max_queued_commands", gw.max_queued_commands, 1, 4096);
  number("login_timeout_s", gw.login_timeout_s, 1, 3600);
  number("max_connections", gw.max_connections, 1, 65535);
  number("max_connections_per_address", gw.max_connections_per_address, 1, 65535);
  number("max_discovery_sessions", gw.max_discovery_sessions, 1, 65535);
  if (node["metrics_listener"]) gw.metrics_listener = get_string(node, "metrics_listener", where);
  gw.nvme_listeners = address_list(node, "nvme_listeners");
  gw.nvme_rdma_listeners = address_list(node, "nvme_rdma_listeners");
  gw.nvme_discovery_listeners = address_list(node, "nvme_discovery_listeners");
  number("nvme_io_queues", gw.nvme_io_queues, 1, 128);
  number("nvme_queue_size", gw.nvme_queue_size, 2, 1024);
  uint64_t in_capsule = gw.nvme_in_capsule_data;
  uint64_t max_transfer = gw.nvme_max_data_transfer;
  read_size(node, where, "nvme_in_capsule_data", in_capsule);
  read_size(node, where, "nvme_max_data_transfer", max_transfer);
  if (in_capsule > (1u << 20) || in_capsule % 16 != 0) {
    fail("gateway.nvme_in_capsule_data", "must be a multiple of 16 bytes, at most 1MiB");
  }
  // MDTS is a power of two of 4 KiB pages.
  if (max_transfer < 4096 || max_transfer > (8u << 20) || (max_transfer & (max_transfer - 1)) != 0) {
    fail("gateway.nvme_max_data_transfer", "must be a power of two from 4KiB to 8MiB");
  }
  gw.nvme_in_capsule_data = static_cast<uint32_t>(in_capsule);
  gw.nvme_max_data_transfer = static_cast<uint32_t>(max_transfer);
  if (gw.first_burst_length > gw.max_burst_length) {
    fail("gateway.first_burst_length", "must not exceed gateway.max_burst_length");
  }
  // Buffer budgets, with the units of `size`. The gateway's must hold the largest single command
  // (16 MiB of data-out and the core's 8 MiB transfer limit) or that command could never run.
  read_size(node, where, "max_session_buffer", gw.max_session_buffer, 1u << 20);
  read_size(node, where, "max_buffer", gw.max_buffer, 32u << 20);
  return gw;
}

ClusterConfig parse_cluster(const YAML::Node& node) {
  const std::string where = "cluster";
  require_map(node, where);
  reject_unknown_keys(node, where,
                      {"ceph_conf", "client", "keyring", "pool", "gateways_object", "heartbeat_interval_ms", "lease_ms",
                       "notify_timeout_ms", "shared_config", "config_object"});
  ClusterConfig cluster;
  if (node["ceph_conf"]) {
    cluster.ceph_conf = get_string(node, "ceph_conf", where);
    if (cluster.ceph_conf.front() != '/') fail("cluster.ceph_conf", "must be an absolute path");
  }
  if (node["client"]) cluster.client = get_string(node, "client", where);
  if (node["keyring"]) cluster.keyring = get_string(node, "keyring", where);
  if (node["pool"]) cluster.pool = get_string(node, "pool", where);
  if (node["gateways_object"]) {
    cluster.gateways_object = get_string(node, "gateways_object", where);
    if (cluster.gateways_object.empty()) fail("cluster.gateways_object", "must not be empty");
  }
  auto number = [&](const char* name, unsigned& field, uint64_t min, uint64_t max) {
    read_number(node, where, name, field, min, max);
  };
  number("heartbeat_interval_ms", cluster.heartbeat_interval_ms, 100, 60000);
  number("lease_ms", cluster.lease_ms, 500, 600000);
  number("notify_timeout_ms", cluster.notify_timeout_ms, 100, 600000);
  if (node["shared_config"]) cluster.shared_config = get_bool(node, "shared_config", where);
  if (node["config_object"]) {
    cluster.config_object = get_string(node, "config_object", where);
    if (cluster.config_object.empty()) fail("cluster.config_object", "must not be empty");
  }
  // A lease shorter than a few heartbeats would report live gateways as unavailable.
  if (cluster.lease_ms < 3 * cluster.heartbeat_interval_ms) {
    fail("cluster.lease_ms", "must be at least three heartbeat intervals (" +
                                 std::to_string(3 * cluster.heartbeat_interval_ms) + " ms)");
  }
  return cluster;
}

// Shared and local storage do not mix: with a cluster, every LUN is an RBD image (a memory or
// file LUN would have one reservation state in RADOS but different data on each gateway), and
// each gateway needs its own name (its membership record).
void check_cluster_luns(const Config& config, const YAML::Node& root) {
  for (size_t t = 0; t < config.targets.size(); ++t) {
    for (size_t l = 0; l < config.targets[t].luns.size(); ++l) {
      const auto key = "targets[" + std::to_string(t) + "].luns[" + std::to_string(l) + "].backend";
      const bool rbd = config.targets[t].luns[l].backend == BackendKind::rbd;
      if (config.cluster && !rbd) {
        fail(key, "must be 'rbd' when a cluster is configured (a memory or file LUN is not shared between gateways)");
      }
      if (!config.cluster && rbd) fail(key, "'rbd' needs the top-level 'cluster' section (ceph_conf, client, pool)");
    }
  }
  if (config.cluster && !root["gateway"]["name"]) {
    fail("gateway.name", "is required with a cluster: each gateway registers under its own name");
  }
}

Config parse_root(const YAML::Node& root, bool from_record = false) {
  if (!root.IsMap()) throw ConfigError{"configuration: the top level must be a mapping"};
  reject_unknown_keys(root, "", {"log", "gateway", "cluster", "discovery", "targets"});
  Config config;
  if (root["log"]) {
    require_map(root["log"], "log");
    reject_unknown_keys(root["log"], "log", {"level"});
    if (root["log"]["level"]) {
      config.log_level = get_string(root["log"], "level", "log");
      static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.count(config.log_level)) fail("log.level", "must be one of trace, debug, info, warn, error, critical, off");
    }
  }
  if (!root["gateway"]) fail("gateway", "is required");
  config.gateway = parse_gateway(root["gateway"]);
  if (root["cluster"]) config.cluster = parse_cluster(root["cluster"]);
  if (root["discovery"]) {
    require_map(root["discovery"], "discovery");
    reject_unknown_keys(root["discovery"], "discovery", {"chap"});
    if (root["discovery"]["chap"]) config.discovery_chap = parse_chap(root["discovery"]["chap"], "discovery.chap");
  }
  const auto targets = root["targets"];
  if (config.cluster && config.cluster->shared_config && !from_record) {
    // The record's targets are merged in at start-up (merge_config_record).
    if (targets) fail("targets", "come from the configuration record (cluster.shared_config): remove them here");
    if (root["discovery"]) fail("discovery", "comes from the configuration record (cluster.shared_config): remove it here");
    check_cluster_luns(config, root);
    return config;
  }
  // A record may hold no target yet (the group is being set up through the portico command).
  if (from_record && (!targets || targets.IsNull())) return config;
  if (!targets || !targets.IsSequence() || (targets.size() == 0 && !from_record)) {
    fail("targets", "must be a non-empty list");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto key = "targets[" + std::to_string(i) + "]";
    auto target = parse_target(targets[i], key, from_record);
    if (!names.insert(target.iqn).second) fail(key + ".iqn", "target " + target.iqn + " is defined twice");
    if (target.nvme) {
      if (!names.insert(target.nvme->nqn).second) fail(key + ".nvme.nqn", target.nvme->nqn + " is defined twice");
      if (config.gateway.nvme_listeners.empty() && config.gateway.nvme_rdma_listeners.empty()) {
        fail(key + ".nvme", "needs gateway.nvme_listeners or gateway.nvme_rdma_listeners");
      }
    }
    config.targets.push_back(std::move(target));
  }
  // One backstore per export, and one export per nexus: two would merge or split an initiator.
  std::set<std::string> backstores;
  std::set<std::pair<std::string, std::string>> nexuses;
  for (size_t t = 0; t < config.targets.size(); ++t) {
    for (size_t l = 0; l < config.targets[t].luns.size(); ++l) {
      const auto& lun = config.targets[t].luns[l];
      for (size_t e = 0; e < lun.tcmu.size(); ++e) {
        const auto key = "targets[" + std::to_string(t) + "].luns[" + std::to_string(l) + "].tcmu[" +
                         std::to_string(e) + "]";
        if (!backstores.insert(lun.tcmu[e].name).second) fail(key + ".name", lun.tcmu[e].name + " is used twice");
        if (!nexuses.insert({lun.tcmu[e].initiator + "|" + lun.tcmu[e].target_port, std::to_string(t) + "/" +
                                                                                     std::to_string(lun.lun)})
                 .second) {
          fail(key, "this LUN is exported twice to initiator " + lun.tcmu[e].initiator + " through " +
                        lun.tcmu[e].target_port);
        }
      }
    }
  }
  check_cluster_luns(config, root);
  return config;
}

}  // namespace

Result<uint64_t> parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 19) return error(ErrorCode::invalid_argument, "'" + text + "' is not a size (e.g. 1GiB, 512MiB, 4096)");
  const uint64_t number = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  uint64_t multiplier = 0;
  static const std::pair<const char*, uint64_t> units[] = {
      {"", 1}, {"B", 1}, {"K", 1ull << 10}, {"KiB", 1ull << 10}, {"M", 1ull << 20}, {"MiB", 1ull << 20},
      {"G", 1ull << 30}, {"GiB", 1ull << 30}, {"T", 1ull << 40}, {"TiB", 1ull << 40}};
  for (const auto& [name, value] : units) {
    if (unit == name) multiplier = value;
  }
  if (multiplier == 0) return error(ErrorCode::invalid_argument, "unknown size unit '" + unit + "' (use B, KiB, MiB, GiB, TiB)");
  if (number > UINT64_MAX / multiplier) return error(ErrorCode::out_of_range, "'" + text + "' is too large");
  return number * multiplier;
}

namespace {

// Every `chap` section's secrets, in the record, are references to the monitors' config-key
// store ("config-key:<key>"): the pool's objects are readable by every client of the pool, the
// config-key store only by clients with the monitor capability for it. With `fetch`, each
// reference is replaced by the secret it names (a gateway); without, it stays as a stand-in
// (the record's checks: unique per key, long enough). A secret in the clear is refused.
void resolve_chap_secrets(YAML::Node node, const std::string& path, const SecretFetcher* fetch) {
  if (node.IsMap()) {
    for (auto item : node) {
      const std::string key = item.first.IsScalar() ? item.first.as<std::string>() : std::string("?");
      const std::string below = path.empty() ? key : path + "." + key;
      if (key != "chap") {
        resolve_chap_secrets(item.second, below, fetch);
        continue;
      }
      if (!item.second.IsMap()) continue;  // parse_chap says what is wrong
      for (const char* field : {"secret", "mutual_secret"}) {
        YAML::Node value = item.second[field];
        if (!value) continue;
        const std::string text = value.IsScalar() ? value.as<std::string>() : std::string();
        if (text.rfind(kSecretReferencePrefix, 0) != 0) {
          fail(below + "." + field, "CHAP secrets are not kept in the configuration record, which every client of "
                                    "the pool can read: store them with portico auth set (the monitors' config-key "
                                    "store)");
        }
        if (fetch == nullptr) continue;
        auto secret = (*fetch)(text.substr(std::string(kSecretReferencePrefix).size()));
        if (!secret.ok()) fail(below + "." + field, secret.status().message());
        item.second[field] = *secret;
      }
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) resolve_chap_secrets(node[i], path + "[" + std::to_string(i) + "]", fetch);
  }
}

YAML::Node load_record(const std::string& record_yaml, const SecretFetcher* fetch) {
  YAML::Node record = YAML::Load(record_yaml);
  if (!record.IsMap()) throw ConfigError{"configuration record: the top level must be a mapping"};
  reject_unknown_keys(record, "", {"targets", "discovery"});
  resolve_chap_secrets(record, "", fetch);
  return record;
}

template <typename Fn>
auto config_result(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const ConfigError& e) {
    return error(ErrorCode::invalid_argument, e.message);
  } catch (const YAML::Exception& e) {
    return error(ErrorCode::invalid_argument, "YAML syntax error at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

// What a gateway of the group needs for any record to be checked on its own: NVMe listeners
// (a target may have an `nvme` section) and a cluster (LUNs are RBD images).
constexpr const char* kRecordCheckGateway = R"(
gateway:
  name: record-check
  portals: ["127.0.0.1:3260"]
  nvme_listeners: ["127.0.0.1:4420"]
cluster:
  ceph_conf: /etc/ceph/ceph.conf
  shared_config: true
)";

Config merge_record(const std::string& local_yaml, const std::string& record_yaml, const SecretFetcher* fetch) {
  YAML::Node root = YAML::Load(local_yaml);
  const YAML::Node record = load_record(record_yaml, fetch);
  if (!root.IsMap()) throw ConfigError{"configuration: the top level must be a mapping"};
  if (root["targets"] || root["discovery"]) {
    fail("targets", "come from the configuration record (cluster.shared_config): remove them from the file");
  }
  root["targets"] = record["targets"];
  if (record["discovery"]) root["discovery"] = record["discovery"];
  return parse_root(root, true);
}

}  // namespace

Result<Config> parse_config(const std::string& yaml_text) {
  return config_result([&]() -> Result<Config> { return parse_root(YAML::Load(yaml_text)); });
}


Status check_config_record(const std::string& record_yaml) {
  auto merged = parse_config_record(record_yaml);
  return merged.ok() ? Status{} : merged.status();
}

Result<Config> parse_config_record(const std::string& record_yaml) {
  return config_result([&]() -> Result<Config> { return merge_record(kRecordCheckGateway, record_yaml, nullptr); });
}

Result<Config> merge_config_record(const std::string& local_yaml, const std::string& record_yaml,
                                   const SecretFetcher& fetch) {
  return config_result([&]() -> Result<Config> { return merge_record(local_yaml, record_yaml, &fetch); });
}


Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::not_found, path + ": cannot open configuration file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto config = parse_config(buffer.str());
  if (!config.ok()) return error(config.status().code(), path + ": " + config.status().message());
  return config;
}

}  // namespace portico::daemon
