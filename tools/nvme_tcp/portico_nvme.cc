// portico-nvme: Portico's NVMe/TCP initiator on the command line, for integration tests and
// benchmarks against Portico's NVMe/TCP target. Errors are one line on stderr with the NVMe
// status (SCT/SC and its name) and exit code 1; a bad command line exits with CLI11's code.
#include <CLI/CLI.hpp>

#include "tools/nvme_tcp/cli_commands.h"

int main(int argc, char** argv) {
  namespace cli = portico::nvme_host::cli;
  CLI::App app{"portico-nvme - NVMe/TCP initiator for Portico"};
  app.require_subcommand(1);
  cli::Action action;
  cli::add_admin_commands(app, action);
  cli::add_io_commands(app, action);
  cli::add_reservation_commands(app, action);
  cli::add_perf_command(app, action);
  CLI11_PARSE(app, argc, argv);
  return action ? action() : 1;
}
