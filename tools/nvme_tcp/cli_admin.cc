// portico-nvme identify / get-log.
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "tools/nvme_tcp/admin_commands.h"
#include "tools/nvme_tcp/cli_commands.h"

namespace portico::nvme_host::cli {
namespace {

struct IdentifyArgs {
  ConnectionArgs connection;
  uint32_t nsid = 1;
};

struct GetLogArgs {
  ConnectionArgs connection;
  uint32_t lid = 0;
  uint32_t nsid = nvme::kBroadcastNsid;
  uint32_t length = 512;
  uint64_t offset = 0;
  uint32_t lsp = 0;
  uint32_t lsi = 0;
  bool rae = false;
  std::string output;
};

std::string hex_bytes(std::span<const uint8_t> bytes) {
  std::string text;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    text += buf;
  }
  return text;
}

void print_controller(const ControllerSession& session) {
  const ControllerIdentity& c = session.identity();
  std::printf("controller:\n");
  std::printf("  cntlid: 0x%04x\n  serial: %s\n  model: %s\n  firmware: %s\n", c.controller_id, c.serial.c_str(),
              c.model.c_str(), c.firmware.c_str());
  std::printf("  version: %u.%u.%u\n", c.version >> 16, (c.version >> 8) & 0xff, c.version & 0xff);
  std::printf("  subnqn: %s\n  namespaces: %u\n  maxcmd: %u\n  mdts: %u\n", c.subsystem_nqn.c_str(),
              c.namespace_count, c.max_commands, c.mdts);
  std::printf("  oncs: 0x%04x (compare %s, reservations %s)\n  fuses: 0x%04x (compare and write %s)\n", c.oncs,
              (c.oncs & 0x1) != 0 ? "yes" : "no", (c.oncs & 0x20) != 0 ? "yes" : "no", c.fuses,
              (c.fuses & 0x1) != 0 ? "yes" : "no");
  std::printf("  vwc: %s\n  ioccsz: %u (in-capsule data %u bytes)\n", c.volatile_write_cache ? "yes" : "no",
              c.ioccsz, c.in_capsule_data_bytes());
}

int run_identify(const IdentifyArgs& args) {
  return with_session(args.connection, 0, 1, [&](ControllerSession& session) {
    print_controller(session);
    if (args.nsid == 0) return 0;
    auto ns = identify_namespace(session.admin(), args.nsid);
    if (!ns.ok()) return fail(ns.status());
    std::printf("namespace %u:\n", args.nsid);
    std::printf("  size: %" PRIu64 " blocks\n  capacity: %" PRIu64 " blocks\n  used: %" PRIu64 " blocks\n",
                ns->size_blocks, ns->capacity_blocks, ns->used_blocks);
    std::printf("  block size: %u\n  nmic: 0x%02x\n  rescap: 0x%02x\n  anagrpid: %u\n", ns->block_size, ns->nmic,
                ns->rescap, ns->ana_group_id);
    std::printf("  nguid: %s\n  eui64: %s\n", hex_bytes(ns->nguid).c_str(), hex_bytes(ns->eui64).c_str());
    return 0;
  });
}

int run_get_log(const GetLogArgs& args) {
  return with_session(args.connection, 0, 1, [&](ControllerSession& session) {
    LogPageArgs log;
    log.lid = static_cast<uint8_t>(args.lid);
    log.nsid = args.nsid;
    log.length = args.length;
    log.offset = args.offset;
    log.lsp = static_cast<uint8_t>(args.lsp);
    log.lsi = static_cast<uint16_t>(args.lsi);
    log.retain_async_event = args.rae;
    auto data = get_log_page(session.admin(), log);
    if (!data.ok()) return fail(data.status());
    if (args.output.empty()) {
      hex_dump(*data, stdout);
      return 0;
    }
    Status written = write_file(args.output, *data);
    return written.ok() ? 0 : fail(written);
  });
}

}  // namespace

void add_admin_commands(CLI::App& app, Action& action) {
  auto identify_args = std::make_shared<IdentifyArgs>();
  CLI::App* identify = app.add_subcommand("identify", "Identify Controller, and Identify Namespace of --nsid");
  add_connection_options(*identify, identify_args->connection);
  identify->add_option("--nsid", identify_args->nsid, "Namespace to identify (0: controller only)")
      ->capture_default_str();
  identify->callback([&action, identify_args] { action = [identify_args] { return run_identify(*identify_args); }; });

  auto log_args = std::make_shared<GetLogArgs>();
  CLI::App* get_log = app.add_subcommand("get-log", "Get Log Page: hex dump, or raw bytes to --output");
  add_connection_options(*get_log, log_args->connection);
  get_log->add_option("--lid", log_args->lid, "Log page identifier (2: SMART, 0x0c: ANA, 0x80: reservation)")
      ->required()
      ->check(CLI::Range(0, 255));
  get_log->add_option("--log-nsid", log_args->nsid, "NSID of the request")->capture_default_str();
  get_log->add_option("--length", log_args->length, "Bytes to read, a multiple of 4")->capture_default_str();
  get_log->add_option("--offset", log_args->offset, "Byte offset into the page (LPO)");
  get_log->add_option("--lsp", log_args->lsp, "Log specific field")->check(CLI::Range(0, 127));
  get_log->add_option("--lsi", log_args->lsi, "Log specific identifier")->check(CLI::Range(0, 65535));
  get_log->add_flag("--rae", log_args->rae, "Retain asynchronous event");
  get_log->add_option("--output", log_args->output, "Write the page to this file");
  get_log->callback([&action, log_args] { action = [log_args] { return run_get_log(*log_args); }; });
}

}  // namespace portico::nvme_host::cli
