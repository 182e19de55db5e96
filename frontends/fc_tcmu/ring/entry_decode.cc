#include "frontends/fc_tcmu/ring/entry_decode.h"

#include "frontends/fc_tcmu/ring/cdb_length.h"
#include "frontends/fc_tcmu/ring/ring_layout.h"

namespace portico::tcmu {

namespace {

using namespace layout;

// [offset, offset + length) lies within [low, high), without overflowing on hostile values.
bool within(uint64_t offset, uint64_t length, uint64_t low, uint64_t high) {
  return offset >= low && offset <= high && length <= high - offset;
}

std::string entry_name(uint16_t cmd_id, const EntryPlace& place) {
  return "tcmu ring: cmd " + std::to_string(cmd_id) + " at region offset " + std::to_string(place.offset);
}

// The kernel writes the CDB inside the entry, after the iovecs (queue_cmd_ring: cdb_off =
// CMDR_OFF + cmd_head + base_command_size); anything else is not a CDB it wrote. Returns why the
// CDB cannot be read, or an empty string.
std::string copy_cdb(std::span<const uint8_t> region, const EntryPlace& place, std::vector<uint8_t>& cdb) {
  const uint64_t cdb_off = load<uint64_t>(region, place.offset + kReqCdbOff);
  const uint64_t entry_end = uint64_t{place.offset} + place.length;
  if (!within(cdb_off, 1, place.offset, entry_end)) {
    return "cdb_off " + std::to_string(cdb_off) + " is outside the entry";
  }
  const uint8_t opcode = region[cdb_off];
  size_t length = fixed_cdb_length(opcode);
  if (length == 0) {
    if (!within(cdb_off, kVariableLengthHeader, place.offset, entry_end)) {
      return "variable-length CDB header at " + std::to_string(cdb_off) + " runs past the entry";
    }
    length = variable_cdb_length(region[cdb_off + kVariableLengthHeader - 1]);
  }
  if (!within(cdb_off, length, place.offset, entry_end)) {
    return "CDB of " + std::to_string(length) + " bytes at " + std::to_string(cdb_off) + " runs past the entry";
  }
  const auto first = region.begin() + static_cast<std::ptrdiff_t>(cdb_off);
  cdb.assign(first, first + static_cast<std::ptrdiff_t>(length));
  return {};
}

// The kernel's iovecs point into the data area (new_block_to_iov: iov_base = data_off + block
// offset), never at the mailbox or the ring. Fills `data` then `bidi`, or returns why not.
std::string map_iovecs(std::span<uint8_t> region, const EntryPlace& place, RingCommand& command) {
  const uint32_t iov_cnt = load<uint32_t>(region, place.offset + kReqIovCnt);
  const uint32_t bidi_cnt = load<uint32_t>(region, place.offset + kReqIovBidiCnt);
  const uint64_t count = uint64_t{iov_cnt} + bidi_cnt;
  const uint64_t room = (place.length - kReqIov) / kIovecSize;
  if (count > room) {
    return "iov_cnt " + std::to_string(iov_cnt) + " + iov_bidi_cnt " + std::to_string(bidi_cnt) +
           " exceed the " + std::to_string(room) + " iovecs the entry holds";
  }
  command.data.reserve(iov_cnt);
  command.bidi.reserve(bidi_cnt);
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = place.offset + kReqIov + static_cast<size_t>(i) * kIovecSize;
    const uint64_t base = load<uint64_t>(region, at + kIovecBase);
    const uint64_t length = load<uint64_t>(region, at + kIovecLen);
    if (!within(base, length, place.data_offset, region.size())) {
      return "iovec " + std::to_string(i) + " [" + std::to_string(base) + ", +" + std::to_string(length) +
             ") is outside the data area [" + std::to_string(place.data_offset) + ", " +
             std::to_string(region.size()) + ")";
    }
    auto& buffers = i < iov_cnt ? command.data : command.bidi;
    buffers.push_back(region.subspan(static_cast<size_t>(base), static_cast<size_t>(length)));
  }
  return {};
}

}  // namespace

RingCommand decode_command(std::span<uint8_t> region, const EntryPlace& place) {
  RingCommand command;
  command.cmd_id = load<uint16_t>(region, place.offset + kHdrCmdId);
  std::string problem = map_iovecs(region, place, command);
  std::string cdb_problem = copy_cdb(region, place, command.cdb);
  if (problem.empty()) problem = std::move(cdb_problem);
  if (!problem.empty()) {
    // Not to be run: hand out no buffer at all rather than some of them.
    command.data.clear();
    command.bidi.clear();
    command.malformed = entry_name(command.cmd_id, place) + ": " + problem;
  }
  return command;
}

std::variant<RingTmr, std::string> decode_tmr(std::span<const uint8_t> region, const EntryPlace& place) {
  RingTmr tmr;
  tmr.type = region[place.offset + kTmrType];
  const uint32_t count = load<uint32_t>(region, place.offset + kTmrCmdCnt);
  const size_t room = (place.length - kTmrCmdIds) / sizeof(uint16_t);
  if (count > room) {
    return "TMR at region offset " + std::to_string(place.offset) + " names " + std::to_string(count) +
           " commands but holds " + std::to_string(room);
  }
  tmr.cmd_ids.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    tmr.cmd_ids.push_back(load<uint16_t>(region, place.offset + kTmrCmdIds + i * sizeof(uint16_t)));
  }
  return tmr;
}

}  // namespace portico::tcmu
