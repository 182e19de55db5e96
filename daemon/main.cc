// porticod: the Portico gateway daemon.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "daemon/config.h"
#include "daemon/gateway.h"
#include "daemon/shared_config.h"

namespace {

constexpr const char* kVersion = "0.1.0";
// sysexits.h EX_CONFIG: the service manager does not restart a gateway whose configuration is
// wrong (packaging/systemd/porticod@.service); 1 (cannot start now) and 75 (fenced) it does.
constexpr int kInvalidConfigExitStatus = 78;

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("porticod", sink);
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

// SIGTERM, SIGINT and the fenced signal are blocked in every thread and taken synchronously by
// the main thread, which then drives an orderly shutdown (no work inside a signal handler).
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, portico::daemon::kFencedSignal);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-send is an ordinary error, not a death
  return set;
}

// Stops and destroys the gateway; returns `status`, or ends the process at once when the
// gateway left its images to the exit (Gateway::leaves_images_to_exit).
int stop_and_exit(std::unique_ptr<portico::daemon::Gateway> gateway, int status) {
  gateway->stop();
  const bool images_left_open = gateway->leaves_images_to_exit();
  gateway.reset();
  spdlog::info("stopped");
  if (images_left_open) {
    spdlog::shutdown();
    std::fflush(nullptr);
    ::_exit(status);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"porticod - Portico clustered storage gateway (iSCSI)"};
  std::string config_path;
  std::string check_path;
  std::string log_level;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "Serve the targets described in this YAML file");
  app.add_option("--check-config", check_path, "Validate this YAML file and exit (0 if valid)");
  app.add_option("--log-level", log_level, "Override log.level: trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("-V,--version", show_version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (show_version) {
    std::printf("porticod %s\n", kVersion);
    return 0;
  }
  if (!check_path.empty()) {
    auto config = portico::daemon::load_config_file(check_path);
    if (config.ok() && config->cluster && config->cluster->shared_config) {
      // The targets are the cluster's record: it is read and checked with this file.
      spdlog::set_level(spdlog::level::warn);
      config = portico::daemon::load_shared_config(check_path, *config);
    }
    if (!config.ok()) {
      std::fprintf(stderr, "porticod: invalid configuration: %s\n", config.status().message().c_str());
      return 1;
    }
    auto plan = portico::daemon::check_gateway(*config);
    if (!plan.ok()) {
      std::fprintf(stderr, "porticod: invalid configuration: %s: %s\n", check_path.c_str(), plan.message().c_str());
      return 1;
    }
    std::printf("%s: configuration is valid (%zu target(s))\n", check_path.c_str(), config->targets.size());
    return 0;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "porticod: --config FILE is required (see --help)\n");
    return 2;
  }

  auto config = portico::daemon::load_config_file(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "porticod: invalid configuration: %s\n", config.status().message().c_str());
    return kInvalidConfigExitStatus;
  }
  setup_logging(log_level.empty() ? config->log_level : log_level);
  if (config->cluster && config->cluster->shared_config) {
    auto shared = portico::daemon::load_shared_config(config_path, *config);
    if (!shared.ok()) {
      // Not EX_CONFIG: the record is the group's, fixed with the portico command while this
      // gateway is retried.
      spdlog::critical("cannot start: {}", shared.status().message());
      std::fprintf(stderr, "porticod: cannot start: %s\n", shared.status().message().c_str());
      return 1;
    }
    config = std::move(shared);
  }
  if (auto plan = portico::daemon::check_gateway(*config); !plan.ok()) {
    std::fprintf(stderr, "porticod: invalid configuration: %s: %s\n", config_path.c_str(), plan.message().c_str());
    return kInvalidConfigExitStatus;
  }
  const sigset_t signals = block_shutdown_signals();

  portico::daemon::RecordMerger merge_record;
  if (config->cluster && config->cluster->shared_config) merge_record = portico::daemon::record_merger(config_path);
  auto gateway = portico::daemon::Gateway::start(*config, std::move(merge_record));
  if (!gateway.ok()) {
    spdlog::critical("cannot start: {}", gateway.status().message());
    std::fprintf(stderr, "porticod: cannot start: %s\n", gateway.status().message().c_str());
    return 1;
  }
  spdlog::info("porticod {} serving {} target(s); SIGTERM or SIGINT to stop", kVersion, config->targets.size());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  if (signal_number == portico::daemon::kFencedSignal) {
    // Fenced: its sessions could only be refused from now on. Closing them sends the hosts to
    // their other paths at once, and a new incarnation (started by the service manager) joins
    // with a new RADOS client. The stop must not hang on a cluster that refuses this client.
    spdlog::critical("fenced by another gateway: stopping, exit status {}", portico::daemon::kFencedExitStatus);
    std::thread([]() {
      std::this_thread::sleep_for(std::chrono::seconds(30));
      std::fprintf(stderr, "porticod: stopping after fencing took over 30 s; exiting now\n");
      ::_exit(portico::daemon::kFencedExitStatus);
    }).detach();
    return stop_and_exit(std::move(*gateway), portico::daemon::kFencedExitStatus);
  }
  spdlog::info("received {}, shutting down", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  return stop_and_exit(std::move(*gateway), 0);
}
