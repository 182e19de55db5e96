// portico-nvme resv-register / resv-acquire / resv-release / resv-report.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/nvme_tcp/cli_commands.h"
#include "tools/nvme_tcp/reservation_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host::cli {
namespace {

struct ResvArgs {
  ConnectionArgs connection;
  uint32_t nsid = 1;
  uint64_t crkey = 0;
  bool iekey = false;
};

// Actions are words on the command line and enum values on the wire.
const std::map<std::string, RegisterAction> kRegisterActions{
    {"register", RegisterAction::register_key}, {"unregister", RegisterAction::unregister},
    {"replace", RegisterAction::replace}};
const std::map<std::string, PtplChange> kPtplChanges{
    {"keep", PtplChange::no_change}, {"set", PtplChange::set}, {"clear", PtplChange::clear}};
const std::map<std::string, AcquireAction> kAcquireActions{
    {"acquire", AcquireAction::acquire}, {"preempt", AcquireAction::preempt},
    {"preempt-abort", AcquireAction::preempt_and_abort}};
const std::map<std::string, ReleaseAction> kReleaseActions{{"release", ReleaseAction::release},
                                                           {"clear", ReleaseAction::clear}};

template <typename T>
std::vector<std::string> words(const std::map<std::string, T>& table) {
  std::vector<std::string> out;
  for (const auto& [word, value] : table) out.push_back(word);
  return out;
}

struct RegisterCli : ResvArgs {
  std::string action = "register";
  uint64_t nrkey = 0;
  std::string ptpl = "keep";
};

struct AcquireCli : ResvArgs {
  std::string action = "acquire";
  uint64_t prkey = 0;
  uint32_t rtype = 1;
};

struct ReleaseCli : ResvArgs {
  std::string action = "release";
  uint32_t rtype = 1;
};

struct ReportCli {
  ConnectionArgs connection;
  uint32_t nsid = 1;
  bool compact = false;
};

const char* kTypeHelp = "Reservation type: 1 write exclusive, 2 exclusive access, 3/4 ... registrants only, "
                        "5/6 ... all registrants";

void add_common(CLI::App& command, ResvArgs& args) {
  add_connection_options(command, args.connection);
  command.add_option("--nsid", args.nsid, "Namespace")->capture_default_str();
  command.add_option("--crkey", args.crkey, "Current reservation key");
  command.add_flag("--iekey", args.iekey, "Ignore existing key");
}

// Runs one reservation command on an I/O queue and reports its status.
template <typename Run>
int run_resv(const ResvArgs& args, const char* what, Run run) {
  return with_session(args.connection, 1, 1, [&](ControllerSession& session) {
    Status s = require_success(run(session.io(0)), std::string(what) + " nsid " + std::to_string(args.nsid));
    if (!s.ok()) return fail(s);
    std::printf("%s: done\n", what);
    return 0;
  });
}

int run_report(const ReportCli& args) {
  return with_session(args.connection, 1, 1, [&](ControllerSession& session) {
    auto report = reservation_report(session.io(0), args.nsid, !args.compact);
    if (!report.ok()) return fail(report.status());
    std::printf("generation: %u\ntype: %u\nptpl: %s\nregistrants: %zu\n", report->generation, report->type,
                report->persist_through_power_loss ? "yes" : "no", report->registrants.size());
    for (const RegisteredHost& r : report->registrants) {
      std::printf("  cntlid 0x%04x key 0x%016" PRIx64 " hostid %s%s\n", r.controller_id, r.key,
                  format_uuid(r.host_id).c_str(), r.holds_reservation ? " holder" : "");
    }
    return 0;
  });
}

}  // namespace

void add_reservation_commands(CLI::App& app, Action& action) {
  auto reg = std::make_shared<RegisterCli>();
  CLI::App* reg_cmd = app.add_subcommand("resv-register", "Reservation Register");
  add_common(*reg_cmd, *reg);
  reg_cmd->add_option("--action", reg->action, "What to do")->capture_default_str()->check(
      CLI::IsMember(words(kRegisterActions)));
  reg_cmd->add_option("--nrkey", reg->nrkey, "New reservation key");
  reg_cmd->add_option("--ptpl", reg->ptpl, "Change persist through power loss")->capture_default_str()->check(
      CLI::IsMember(words(kPtplChanges)));
  reg_cmd->callback([&action, reg] {
    action = [reg] {
      return run_resv(*reg, "resv-register", [&](Queue& q) {
        return reservation_register(q, {reg->nsid, kRegisterActions.at(reg->action), reg->crkey, reg->nrkey,
                                        reg->iekey, kPtplChanges.at(reg->ptpl)});
      });
    };
  });

  auto acq = std::make_shared<AcquireCli>();
  CLI::App* acq_cmd = app.add_subcommand("resv-acquire", "Reservation Acquire");
  add_common(*acq_cmd, *acq);
  acq_cmd->add_option("--action", acq->action, "What to do")->capture_default_str()->check(
      CLI::IsMember(words(kAcquireActions)));
  acq_cmd->add_option("--prkey", acq->prkey, "Preempt reservation key");
  acq_cmd->add_option("--rtype", acq->rtype, kTypeHelp)->capture_default_str()->check(CLI::Range(1, 6));
  acq_cmd->callback([&action, acq] {
    action = [acq] {
      return run_resv(*acq, "resv-acquire", [&](Queue& q) {
        return reservation_acquire(q, {acq->nsid, kAcquireActions.at(acq->action), static_cast<uint8_t>(acq->rtype),
                                       acq->crkey,
                                       acq->prkey, acq->iekey});
      });
    };
  });

  auto rel = std::make_shared<ReleaseCli>();
  CLI::App* rel_cmd = app.add_subcommand("resv-release", "Reservation Release");
  add_common(*rel_cmd, *rel);
  rel_cmd->add_option("--action", rel->action, "What to do")->capture_default_str()->check(
      CLI::IsMember(words(kReleaseActions)));
  rel_cmd->add_option("--rtype", rel->rtype, kTypeHelp)->capture_default_str()->check(CLI::Range(1, 6));
  rel_cmd->callback([&action, rel] {
    action = [rel] {
      return run_resv(*rel, "resv-release", [&](Queue& q) {
        return reservation_release(q, {rel->nsid, kReleaseActions.at(rel->action), static_cast<uint8_t>(rel->rtype),
                                       rel->crkey,
                                       rel->iekey});
      });
    };
  });

  auto report = std::make_shared<ReportCli>();
  CLI::App* report_cmd = app.add_subcommand("resv-report", "Reservation Report");
  add_connection_options(*report_cmd, report->connection);
  report_cmd->add_option("--nsid", report->nsid, "Namespace")->capture_default_str();
  report_cmd->add_flag("--compact", report->compact, "Ask for the compact format (EDS = 0, 64-bit host IDs)");
  report_cmd->callback([&action, report] { action = [report] { return run_report(*report); }; });
}

}  // namespace portico::nvme_host::cli
