// portico: the administrator's command for a Portico gateway group. It reads the group's state
// from RADOS, where the gateways keep it, so it works from any host with a Ceph client key and
// whether or not a given gateway is up.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/cluster_view.h"
#include "cli/config_verbs.h"
#include "cli/object_verbs.h"
#include "cli/render.h"

int main(int argc, char** argv) {
  CLI::App app{"portico - inspect and configure a Portico gateway group through its RADOS objects"};
  app.require_subcommand(1);
  portico::cli::ClusterOptions options;
  bool json = false;
  app.add_option("-c,--ceph-conf", options.ceph_conf, "ceph.conf of the cluster")->capture_default_str();
  app.add_option("--client", options.client, "Ceph client to connect as")->capture_default_str();
  app.add_option("--keyring", options.keyring, "keyring of that client (default: as ceph.conf says)");
  app.add_option("-p,--pool", options.pool, "pool of the gateways' shared objects (cluster.pool)")->capture_default_str();
  app.add_option("--gateways-object", options.gateways_object, "membership object (cluster.gateways_object)")
      ->capture_default_str();
  app.add_option("--config-object", options.config_object, "configuration record (cluster.config_object)")
      ->capture_default_str();
  app.add_flag("--json", json, "print JSON instead of text");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log what it does (to stderr)");

  auto* gateway = app.add_subcommand("gateway", "the gateways of the group");
  gateway->require_subcommand(1);
  int64_t default_lease_ms = 10000;
  auto* gateway_list = gateway->add_subcommand("list", "every registered gateway: ids, state, last heartbeat, portals");
  gateway_list->add_option("--lease-ms", default_lease_ms, "lease of gateways whose record does not carry one")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));

  std::string image;
  auto* reservations = app.add_subcommand("reservations", "a LUN's registrants and holder, from its RADOS record");
  reservations->add_option("image", image, "the LUN's RBD image, POOL/NAME or NAME (in --pool)")->required();

  auto* config = app.add_subcommand("config", "the group's configuration record in RADOS");
  config->require_subcommand(1);
  std::string config_file;
  auto* config_check = config->add_subcommand("check", "validate a record file (targets, discovery), offline");
  config_check->add_option("file", config_file, "YAML with the record's targets")->required()->check(CLI::ExistingFile);
  auto* config_import = config->add_subcommand("import", "validate a record file and store it as the next version");
  config_import->add_option("file", config_file, "YAML with the record's targets")->required()->check(CLI::ExistingFile);
  std::optional<uint64_t> expect_version;
  config_import->add_option("--expect-version", expect_version,
                            "store only if the record is still this version (default: the version just read)");
  auto* config_export = config->add_subcommand("export", "print the record as stored");
  auto* config_show = config->add_subcommand("show", "the record's version and what it serves");

  auto* target = app.add_subcommand("target", "targets of the configuration record (each change a new version)");
  target->require_subcommand(1);
  portico::cli::TargetCreate create;
  auto* target_create = target->add_subcommand("create", "a new target, with no LUN yet");
  target_create->add_option("iqn", create.iqn, "its iSCSI name, iqn.YYYY-MM.domain:name")->required();
  target_create->add_option("--nvme", create.nqn, "also export it over NVMe as this subsystem NQN");
  target_create->add_option("--alias", create.alias, "its TargetAlias");
  std::string iqn;
  auto* target_delete = target->add_subcommand("delete", "remove a target: its sessions end on every gateway");
  target_delete->add_option("iqn", iqn, "the target")->required();

  auto* lun_verbs = app.add_subcommand("lun", "LUNs (RBD images) of a target");
  lun_verbs->require_subcommand(1);
  portico::cli::LunAdd add;
  auto* lun_add = lun_verbs->add_subcommand("add", "export an RBD image as a LUN (and namespace) of a target");
  lun_add->add_option("iqn", add.iqn, "the target")->required();
  lun_add->add_option("image", add.image, "the RBD image, POOL/NAME or NAME (in --pool)")->required();
  lun_add->add_option("--lun", add.lun, "its LUN number (default: the smallest free one)");
  lun_add->add_option("--nsid", add.nsid, "its NVMe namespace id (default: LUN + 1)");
  lun_add->add_flag("--read-only", add.read_only, "write protected");
  uint64_t lun_number = 0;
  auto* lun_remove = lun_verbs->add_subcommand("remove", "stop exporting a LUN (the image is kept)");
  lun_remove->add_option("iqn", iqn, "the target")->required();
  lun_remove->add_option("lun", lun_number, "the LUN number")->required();
  std::string size;
  auto* lun_resize = lun_verbs->add_subcommand("resize", "grow a LUN's image; every gateway tells its hosts");
  lun_resize->add_option("image", image, "the RBD image, POOL/NAME or NAME (in --pool)")->required();
  lun_resize->add_option("size", size, "its new size: 20GiB, 1TiB, ...")->required();

  auto* host = app.add_subcommand("host", "initiators (IQN) and NVMe hosts (NQN) a target admits");
  host->require_subcommand(1);
  std::string host_name;
  auto* host_add = host->add_subcommand("add", "admit an initiator or host (the target stops admitting any other)");
  host_add->add_option("iqn", iqn, "the target")->required();
  host_add->add_option("name", host_name, "the initiator's iSCSI name, or the host's NQN")->required();
  auto* host_remove = host->add_subcommand("remove", "stop admitting it: its sessions end on every gateway");
  host_remove->add_option("iqn", iqn, "the target")->required();
  host_remove->add_option("name", host_name, "the initiator's iSCSI name, or the host's NQN")->required();

  auto* auth = app.add_subcommand("auth", "CHAP of a target or of one initiator (secrets in the monitors' config-key store)");
  auth->require_subcommand(1);
  portico::cli::AuthSet auth_request;
  auto* auth_set = auth->add_subcommand("set", "set CHAP (and mutual CHAP): new secrets, a new version of the record");
  auth_set->add_option("iqn", auth_request.iqn, "the target")->required();
  auth_set->add_option("--initiator", auth_request.initiator, "this initiator's own credentials (added to the ACL)");
  auth_set->add_option("--username", auth_request.username, "the CHAP name the initiator gives")->required();
  auth_set->add_option("--secret-file", auth_request.secret_file, "a file holding the secret (12 to 255 characters)")
      ->required()
      ->check(CLI::ExistingFile);
  auth_set->add_option("--mutual-username", auth_request.mutual_username, "mutual CHAP: the target's name");
  auth_set->add_option("--mutual-secret-file", auth_request.mutual_secret_file, "mutual CHAP: the target's secret")
      ->check(CLI::ExistingFile);
  auto* auth_clear = auth->add_subcommand("clear", "remove CHAP (its secrets are removed from the store)");
  auth_clear->add_option("iqn", iqn, "the target")->required();
  std::string auth_initiator;
  auth_clear->add_option("--initiator", auth_initiator, "this initiator's own credentials");

  auto* show = app.add_subcommand("show", "the whole configuration tree: targets, LUNs, hosts (as config show)");

  auto* status = app.add_subcommand("status", "every gateway: alive, lease, ALUA/ANA group, configuration version served or refused, sessions");
  status->add_option("--lease-ms", default_lease_ms, "lease of gateways whose record does not carry one")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));

  CLI11_PARSE(app, argc, argv);
  if (*config_check) return portico::cli::config_check(config_file);
  // Output is stdout's alone: the libraries' log lines go to stderr, warnings and worse unless -v.
  spdlog::set_default_logger(spdlog::stderr_color_mt("portico"));
  spdlog::set_level(verbose ? spdlog::level::info : spdlog::level::warn);

  auto view = portico::cli::ClusterView::connect(options);
  if (!view.ok()) {
    std::fprintf(stderr, "portico: %s\n", view.status().message().c_str());
    return 1;
  }
  if (*config_import) return portico::cli::config_import(**view, config_file, expect_version);
  if (*config_export) return portico::cli::config_export(**view);
  if (*config_show) return portico::cli::config_show(**view, json);
  if (*auth_set) {
    if (auth_request.mutual_username.empty() != auth_request.mutual_secret_file.empty()) {
      std::fprintf(stderr, "portico: auth set: --mutual-username and --mutual-secret-file go together\n");
      return 1;
    }
    return portico::cli::auth_set(**view, auth_request);
  }
  if (*auth_clear) return portico::cli::auth_clear(**view, iqn, auth_initiator);
  if (*show) return portico::cli::config_show(**view, json);
  if (*target_create) return portico::cli::target_create(**view, create);
  if (*target_delete) return portico::cli::target_delete(**view, iqn);
  if (*lun_add) return portico::cli::lun_add(**view, add);
  if (*lun_remove) return portico::cli::lun_remove(**view, iqn, lun_number);
  if (*lun_resize) return portico::cli::lun_resize(**view, image, size);
  if (*host_add) return portico::cli::host_add(**view, iqn, host_name);
  if (*host_remove) return portico::cli::host_remove(**view, iqn, host_name);
  if (*status) {
    auto gateways = (*view)->gateways(default_lease_ms, true);
    if (!gateways.ok()) {
      std::fprintf(stderr, "portico: status: %s\n", gateways.status().message().c_str());
      return 1;
    }
    std::cout << (json ? portico::cli::gateways_json(*gateways) : portico::cli::status_text(*gateways));
    return 0;
  }
  if (*gateway_list) {
    auto gateways = (*view)->gateways(default_lease_ms);
    if (!gateways.ok()) {
      std::fprintf(stderr, "portico: gateway list: %s\n", gateways.status().message().c_str());
      return 1;
    }
    std::cout << (json ? portico::cli::gateways_json(*gateways) : portico::cli::gateways_text(*gateways));
    return 0;
  }
  if (*reservations) {
    auto lun = (*view)->reservations(image);
    if (!lun.ok()) {
      std::fprintf(stderr, "portico: reservations %s: %s\n", image.c_str(), lun.status().message().c_str());
      return 1;
    }
    std::cout << (json ? portico::cli::reservations_json(*lun) : portico::cli::reservations_text(*lun));
    return 0;
  }
  return 2;
}
