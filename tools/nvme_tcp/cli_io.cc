// portico-nvme read / write / compare-write.
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "tools/nvme_tcp/cli_commands.h"
#include "tools/nvme_tcp/io_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host::cli {
namespace {

struct BlockArgs {
  ConnectionArgs connection;
  uint32_t nsid = 1;
  uint64_t lba = 0;
  uint32_t blocks = 1;
};

// Data to send: a file's bytes (zero padded to the length) or one byte repeated.
struct Payload {
  std::string file;
  uint32_t pattern = 0;
};

struct ReadArgs : BlockArgs {
  std::string output;
};

struct WriteArgs : BlockArgs {
  Payload data;
  bool fua = false;
};

struct CompareWriteArgs : BlockArgs {
  Payload expected;
  Payload data;
};

Result<std::vector<uint8_t>> make_payload(const Payload& p, size_t length, const char* option) {
  if (p.file.empty()) return std::vector<uint8_t>(length, static_cast<uint8_t>(p.pattern));
  auto bytes = read_file(p.file);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > length) {
    return error(ErrorCode::invalid_argument, std::string(option) + " " + p.file + " has " +
                                                  std::to_string(bytes->size()) + " bytes, more than the " +
                                                  std::to_string(length) + " the blocks hold");
  }
  bytes->resize(length, 0);
  return bytes;
}

void add_block_options(CLI::App& command, BlockArgs& args) {
  add_connection_options(command, args.connection);
  command.add_option("--nsid", args.nsid, "Namespace")->capture_default_str();
  command.add_option("--lba", args.lba, "First logical block")->capture_default_str();
  command.add_option("--blocks", args.blocks, "Number of blocks")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxBlocksPerCommand));
}

void add_payload_options(CLI::App& command, Payload& p, const std::string& file_option,
                         const std::string& pattern_option, const std::string& what) {
  auto* file = command.add_option(file_option, p.file, "File holding the " + what);
  command.add_option(pattern_option, p.pattern, "Byte value filling the " + what)
      ->check(CLI::Range(0, 255))
      ->excludes(file);
}

// Runs `body` with the namespace's block size known and the byte count of the range.
template <typename Body>
int with_blocks(const BlockArgs& args, Body body) {
  return with_session(args.connection, 1, 2, [&](ControllerSession& session) {
    auto ns = namespace_of(session, args.nsid);
    if (!ns.ok()) return fail(ns.status());
    const size_t length = size_t{ns->block_size} * args.blocks;
    return body(session, LbaRange{args.nsid, args.lba, args.blocks}, length);
  });
}

std::string range_text(const char* verb, const LbaRange& r) {
  return std::string(verb) + " nsid " + std::to_string(r.nsid) + " lba " + std::to_string(r.slba) + " blocks " +
         std::to_string(r.blocks);
}

int run_read(const ReadArgs& args) {
  return with_blocks(args, [&](ControllerSession& session, const LbaRange& range, size_t length) {
    std::vector<uint8_t> buffer(length);
    if (Status s = require_success(read(session.io(0), range, buffer), range_text("read", range)); !s.ok()) {
      return fail(s);
    }
    if (args.output.empty()) {
      hex_dump(buffer, stdout);
      return 0;
    }
    Status written = write_file(args.output, buffer);
    return written.ok() ? 0 : fail(written);
  });
}

int run_write(const WriteArgs& args) {
  return with_blocks(args, [&](ControllerSession& session, const LbaRange& range, size_t length) {
    auto data = make_payload(args.data, length, "--input");
    if (!data.ok()) return fail(data.status());
    Status s = require_success(write(session.io(0), range, *data, args.fua), range_text("write", range));
    if (!s.ok()) return fail(s);
    std::printf("written: %zu bytes at lba %" PRIu64 "%s\n", length, range.slba, args.fua ? " (FUA)" : "");
    return 0;
  });
}

int run_compare_write(const CompareWriteArgs& args) {
  return with_blocks(args, [&](ControllerSession& session, const LbaRange& range, size_t length) {
    auto expected = make_payload(args.expected, length, "--expect-file");
    if (!expected.ok()) return fail(expected.status());
    auto data = make_payload(args.data, length, "--input");
    if (!data.ok()) return fail(data.status());
    auto done = compare_and_write(session.io(0), range, *expected, *data);
    if (!done.ok()) return fail(done.status());
    if (!done->ok()) {
      return fail(range_text("compare-write", range) + ": NVMe status " + describe_status(done->compare.cqe.status) +
                  " on the compare, " + describe_status(done->write.cqe.status) + " on the write");
    }
    std::printf("compared and written: %zu bytes at lba %" PRIu64 "\n", length, range.slba);
    return 0;
  });
}

}  // namespace

void add_io_commands(CLI::App& app, Action& action) {
  auto read_args = std::make_shared<ReadArgs>();
  CLI::App* read_cmd = app.add_subcommand("read", "Read blocks: hex dump, or raw bytes to --output");
  add_block_options(*read_cmd, *read_args);
  read_cmd->add_option("--output", read_args->output, "Write the data to this file");
  read_cmd->callback([&action, read_args] { action = [read_args] { return run_read(*read_args); }; });

  auto write_args = std::make_shared<WriteArgs>();
  CLI::App* write_cmd = app.add_subcommand("write", "Write blocks from --input or a --pattern byte");
  add_block_options(*write_cmd, *write_args);
  add_payload_options(*write_cmd, write_args->data, "--input", "--pattern", "data to write");
  write_cmd->add_flag("--fua", write_args->fua, "Force Unit Access");
  write_cmd->callback([&action, write_args] { action = [write_args] { return run_write(*write_args); }; });

  auto cw_args = std::make_shared<CompareWriteArgs>();
  CLI::App* cw = app.add_subcommand("compare-write", "Fused Compare + Write: write only if the blocks hold the "
                                                     "expected data");
  add_block_options(*cw, *cw_args);
  add_payload_options(*cw, cw_args->expected, "--expect-file", "--expect-pattern", "expected data");
  add_payload_options(*cw, cw_args->data, "--input", "--pattern", "data to write");
  cw->callback([&action, cw_args] { action = [cw_args] { return run_compare_write(*cw_args); }; });
}

}  // namespace portico::nvme_host::cli
