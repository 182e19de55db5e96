// The subcommands of portico-nvme, grouped by what they touch. Each adds itself to `app` and,
// when chosen, sets `action` to what runs after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/nvme_tcp/cli_common.h"

namespace portico::nvme_host::cli {

void add_admin_commands(CLI::App& app, Action& action);        // identify, get-log
void add_io_commands(CLI::App& app, Action& action);           // read, write, compare-write
void add_reservation_commands(CLI::App& app, Action& action);  // resv-register/-acquire/-release/-report
void add_perf_command(CLI::App& app, Action& action);          // perf

}  // namespace portico::nvme_host::cli
