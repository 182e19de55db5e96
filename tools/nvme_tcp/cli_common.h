// What every portico-nvme subcommand shares: the options that name the controller and the host
// (--addr --port --nqn --hostnqn --hostid, digests, KATO), opening the session, parsing sizes
// and UUIDs, and printing errors and data.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "tools/nvme_tcp/controller_session.h"

namespace portico::nvme_host::cli {

struct ConnectionArgs {
  std::string address = "127.0.0.1";
  uint16_t port = 4420;
  std::string subsystem_nqn;
  std::string host_nqn;
  std::string host_id;  // UUID text
  bool header_digest = false;
  bool data_digest = false;
  uint32_t keep_alive_ms = 5000;
  uint32_t timeout_ms = 10000;
};

// What a subcommand does once the command line parsed: its exit code.
using Action = std::function<int()>;

void add_connection_options(CLI::App& command, ConnectionArgs& args);
Result<SessionOptions> session_options(const ConnectionArgs& args, uint16_t io_queues, uint16_t depth);
Result<std::unique_ptr<ControllerSession>> open_session(const ConnectionArgs& args, uint16_t io_queues = 1,
                                                        uint16_t depth = 32);
// Opens the session, runs `body` on it, closes it: body's exit code, or 1 if it did not open.
int with_session(const ConnectionArgs& args, uint16_t io_queues, uint16_t depth,
                 const std::function<int(ControllerSession&)>& body);
// Identify Namespace, refusing a namespace without a usable block size.
Result<NamespaceIdentity> namespace_of(ControllerSession& session, uint32_t nsid);

// "0123abcd-..." (36 characters) to 16 bytes and back.
std::optional<HostId> parse_uuid(const std::string& text);
std::string format_uuid(const HostId& id);
// "4096", "4k", "1M", "2GiB": bytes.
std::optional<uint64_t> parse_size(const std::string& text);

Result<std::vector<uint8_t>> read_file(const std::string& path);
Status write_file(const std::string& path, std::span<const uint8_t> bytes);

// "portico-nvme: <message>" on stderr; returns the failure exit code, 1.
int fail(const Status& status);
int fail(const std::string& message);
// Offset, 16 bytes in hex, and their printable characters, per line.
void hex_dump(std::span<const uint8_t> bytes, std::FILE* out);

}  // namespace portico::nvme_host::cli
