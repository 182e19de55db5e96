#include "tools/nvme_tcp/io_commands.h"

#include <cassert>

namespace portico::nvme_host {
namespace {

constexpr uint32_t kFua = 1u << 30;

Sqe block_sqe(uint8_t opcode, const LbaRange& range, bool fua) {
  assert(range.blocks >= 1 && range.blocks <= kMaxBlocksPerCommand);
  Sqe sqe = make_sqe(opcode, range.nsid);
  set_cdw(sqe, 10, static_cast<uint32_t>(range.slba));
  set_cdw(sqe, 11, static_cast<uint32_t>(range.slba >> 32));
  set_cdw(sqe, 12, ((range.blocks - 1) & 0xffffu) | (fua ? kFua : 0u));
  return sqe;
}

}  // namespace

Command read_command(const LbaRange& range, std::span<uint8_t> buffer, bool fua) {
  Command c;
  c.sqe = block_sqe(io_opcode::kRead, range, fua);
  c.data_in = buffer;
  return c;
}

Command write_command(const LbaRange& range, std::span<const uint8_t> data, bool fua) {
  Command c;
  c.sqe = block_sqe(io_opcode::kWrite, range, fua);
  c.data_out = data;
  return c;
}

Command compare_command(const LbaRange& range, std::span<const uint8_t> data) {
  Command c;
  c.sqe = block_sqe(io_opcode::kCompare, range, false);
  c.data_out = data;
  return c;
}

Command flush_command(uint32_t nsid) {
  Command c;
  c.sqe = make_sqe(io_opcode::kFlush, nsid);
  return c;
}

Result<Completion> read(Queue& queue, const LbaRange& range, std::span<uint8_t> buffer, bool fua) {
  return queue.execute(read_command(range, buffer, fua));
}

Result<Completion> write(Queue& queue, const LbaRange& range, std::span<const uint8_t> data, bool fua) {
  return queue.execute(write_command(range, data, fua));
}

Result<Completion> compare(Queue& queue, const LbaRange& range, std::span<const uint8_t> data) {
  return queue.execute(compare_command(range, data));
}

Result<Completion> flush(Queue& queue, uint32_t nsid) { return queue.execute(flush_command(nsid)); }

Result<FusedCompletion> compare_and_write(Queue& queue, const LbaRange& range, std::span<const uint8_t> expected,
                                          std::span<const uint8_t> data) {
  auto cids = queue.submit_fused(compare_command(range, expected), write_command(range, data));
  if (!cids.ok()) return cids.status();
  auto first = queue.wait((*cids)[0]);
  if (!first.ok()) return first.status();
  auto second = queue.wait((*cids)[1]);
  if (!second.ok()) return second.status();
  return FusedCompletion{*first, *second};
}

}  // namespace portico::nvme_host
