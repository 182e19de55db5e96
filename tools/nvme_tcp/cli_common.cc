#include "tools/nvme_tcp/cli_common.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <random>

#include "tools/nvme_tcp/admin_commands.h"

namespace portico::nvme_host::cli {
namespace {

// The form Linux's nvme-cli gives a host NQN made from a UUID (nvme gen-hostnqn).
constexpr std::string_view kUuidNqnPrefix = "nqn.2014-08.org.nvmexpress:uuid:";

HostId random_uuid() {
  std::random_device device;
  HostId id{};
  for (auto& b : id) b = static_cast<uint8_t>(device());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);  // RFC 9562 version 4 (random)
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // variant 10b
  return id;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void add_connection_options(CLI::App& command, ConnectionArgs& args) {
  command.add_option("--addr", args.address, "Controller address (name or IP)")->capture_default_str();
  command.add_option("--port", args.port, "Controller TCP port")->capture_default_str();
  command.add_option("--nqn", args.subsystem_nqn, "Subsystem NQN")->required();
  command.add_option("--hostnqn", args.host_nqn,
                     "Host NQN (default: nqn.2014-08.org.nvmexpress:uuid:<host ID>)");
  command.add_option("--hostid", args.host_id,
                     "Host identifier, a UUID (default: the UUID in --hostnqn, else a random one; reservations "
                     "belong to the host ID, so give the same one to every call)");
  command.add_flag("--hdgst", args.header_digest, "Ask for header digests");
  command.add_flag("--ddgst", args.data_digest, "Ask for data digests");
  command.add_option("--kato", args.keep_alive_ms, "Keep alive timeout in ms (0: none)")->capture_default_str();
  command.add_option("--timeout", args.timeout_ms, "Longest wait for the controller in ms")->capture_default_str();
}

Result<SessionOptions> session_options(const ConnectionArgs& args, uint16_t io_queues, uint16_t depth) {
  SessionOptions o;
  o.address = args.address;
  o.port = args.port;
  o.subsystem_nqn = args.subsystem_nqn;
  if (!args.host_id.empty()) {
    auto id = parse_uuid(args.host_id);
    if (!id) return error(ErrorCode::invalid_argument, "--hostid '" + args.host_id + "' is not a UUID");
    o.host_id = *id;
  } else if (args.host_nqn.starts_with(kUuidNqnPrefix)) {
    auto id = parse_uuid(args.host_nqn.substr(kUuidNqnPrefix.size()));
    o.host_id = id ? *id : random_uuid();
  } else {
    o.host_id = random_uuid();
  }
  o.host_nqn = args.host_nqn.empty() ? std::string(kUuidNqnPrefix) + format_uuid(o.host_id) : args.host_nqn;
  o.transport.header_digest = args.header_digest;
  o.transport.data_digest = args.data_digest;
  o.io_queues = io_queues;
  o.io_queue_depth = depth;
  o.keep_alive_ms = args.keep_alive_ms;
  o.timeout = std::chrono::milliseconds(args.timeout_ms);
  return o;
}

Result<std::unique_ptr<ControllerSession>> open_session(const ConnectionArgs& args, uint16_t io_queues,
                                                        uint16_t depth) {
  auto options = session_options(args, io_queues, depth);
  if (!options.ok()) return options.status();
  return ControllerSession::open(*options);
}

int with_session(const ConnectionArgs& args, uint16_t io_queues, uint16_t depth,
                 const std::function<int(ControllerSession&)>& body) {
  auto session = open_session(args, io_queues, depth);
  if (!session.ok()) return fail(session.status());
  const int rc = body(**session);
  // A failed goodbye does not undo what the command did: a warning, not a failure.
  if (Status s = (*session)->close(); !s.ok()) std::fprintf(stderr, "portico-nvme: warning: %s\n", s.message().c_str());
  return rc;
}

Result<NamespaceIdentity> namespace_of(ControllerSession& session, uint32_t nsid) {
  auto ns = identify_namespace(session.admin(), nsid);
  if (!ns.ok()) return ns.status();
  if (ns->block_size == 0) {
    return error(ErrorCode::unsupported, "namespace " + std::to_string(nsid) + " reports no usable block size");
  }
  return ns;
}

std::optional<HostId> parse_uuid(const std::string& text) {
  if (text.size() != 36) return std::nullopt;
  HostId id{};
  size_t at = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[at++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return id;
}

std::string format_uuid(const HostId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += kDigits[id[i] >> 4];
    text += kDigits[id[i] & 0xf];
  }
  return text;
}

std::optional<uint64_t> parse_size(const std::string& text) {
  if (text.empty() || text[0] == '-') return std::nullopt;  // stoull would wrap a negative
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(text, &used, 10);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = text.substr(used);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && (unit.ends_with("ib") || unit.ends_with('b'))) unit.resize(1);
  unsigned shift = 0;
  if (unit == "k") shift = 10;
  else if (unit == "m") shift = 20;
  else if (unit == "g") shift = 30;
  else if (!unit.empty()) return std::nullopt;
  if (value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return error(ErrorCode::not_found, "cannot open " + path + ": " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return error(ErrorCode::io_error, "cannot read " + path);
  return bytes;
}

Status write_file(const std::string& path, std::span<const uint8_t> bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return error(ErrorCode::io_error, "cannot create " + path + ": " + std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) return error(ErrorCode::io_error, "cannot write " + path);
  return {};
}

int fail(const Status& status) { return fail(status.message()); }

int fail(const std::string& message) {
  std::fprintf(stderr, "portico-nvme: %s\n", message.c_str());
  return 1;
}

void hex_dump(std::span<const uint8_t> bytes, std::FILE* out) {
  for (size_t line = 0; line < bytes.size(); line += 16) {
    std::fprintf(out, "%08zx ", line);
    std::string text;
    for (size_t i = line; i < line + 16; ++i) {
      if (i < bytes.size()) {
        std::fprintf(out, " %02x", bytes[i]);
        text += std::isprint(bytes[i]) != 0 ? static_cast<char>(bytes[i]) : '.';
      } else {
        std::fprintf(out, "   ");
      }
    }
    std::fprintf(out, "  %s\n", text.c_str());
  }
}

}  // namespace portico::nvme_host::cli
