// Fuzzes the TCMU command ring walker. Input: the bytes of a whole shared region (mailbox,
// command ring, data area), zero-padded to kMinRegion and cut at kMaxRegion. Every entry is read
// until there is none or the ring faults, and every command read is completed with a status,
// sense and read length that vary, some while reading goes on and in an order that byte
// kPolicyByte of the mailbox's unused padding picks (oldest, newest or middle first).
// Checked: buffers lie in the data area, a malformed command has none, the outstanding count
// and cmd_tail stay consistent, every read command completes exactly once, and afterwards the
// ring has nothing left (or the same fault).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <variant>
#include <vector>

#include "frontends/fc_tcmu/ring/command_ring.h"
#include "frontends/fc_tcmu/ring/ring_layout.h"

namespace {

using namespace portico::tcmu;

constexpr size_t kMinRegion = 4096;
constexpr size_t kMaxRegion = 1 << 20;
constexpr size_t kPolicyByte = 32;  // between cmd_head and cmd_tail: no field of the mailbox
constexpr int kMaxEntries = 1 << 16;  // more than a 1 MiB ring can hold (an entry is >= 32 bytes)

void check(bool condition) {
  if (!condition) __builtin_trap();
}

struct RegionView {
  std::span<uint8_t> bytes;
  size_t data_offset = 0;
  uint32_t ring_size = 0;

  [[nodiscard]] bool in_data_area(std::span<uint8_t> buffer) const {
    const uint8_t* start = bytes.data() + data_offset;
    const uint8_t* end = bytes.data() + bytes.size();
    return buffer.data() >= start && buffer.data() <= end && buffer.size() <= static_cast<size_t>(end - buffer.data());
  }
  [[nodiscard]] uint32_t tail() const { return layout::load<uint32_t>(bytes, layout::kMailboxCmdTail); }
};

void check_command(const RegionView& region, const RingCommand& command) {
  check(command.cdb.size() <= 8 + 255);
  if (!command.malformed.empty()) {
    check(command.data.empty() && command.bidi.empty());
    return;
  }
  check(!command.cdb.empty());
  for (const auto& buffer : command.data) check(region.in_data_area(buffer));
  for (const auto& buffer : command.bidi) check(region.in_data_area(buffer));
}

// Completes one of `pending` (which one: `policy`), with a response derived from `salt`.
void complete_one(CommandRing& ring, const RegionView& region, std::vector<uint16_t>& pending, uint8_t policy,
                  size_t salt) {
  size_t index = 0;
  switch (policy % 3) {
    case 0: index = 0; break;
    case 1: index = pending.size() - 1; break;
    default: index = pending.size() / 2; break;
  }
  const uint16_t cmd_id = pending[index];
  pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(index));
  std::vector<uint8_t> sense((salt * 37) % 130, static_cast<uint8_t>(salt));
  std::optional<uint32_t> read_len;
  if (salt % 3 == 0) read_len = static_cast<uint32_t>(salt * 512);
  const size_t before = ring.outstanding();
  check(ring.complete(cmd_id, static_cast<uint8_t>(salt % 2 == 0 ? 0 : 2), sense, read_len));
  check(ring.outstanding() == before - 1);
  const uint32_t tail = region.tail();
  check(tail < region.ring_size && tail % layout::kEntryAlign == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t used = std::min(size, kMaxRegion);
  std::vector<uint8_t> bytes(std::max(used, kMinRegion), 0);  // operator new: 8-byte aligned
  if (used > 0) std::memcpy(bytes.data(), data, used);
  auto attached = CommandRing::attach(bytes);
  if (!attached.ok()) return 0;
  CommandRing& ring = *attached;
  RegionView region{bytes, 0, layout::load<uint32_t>(bytes, layout::kMailboxCmdrSize)};
  region.data_offset = size_t{layout::load<uint32_t>(bytes, layout::kMailboxCmdrOff)} + region.ring_size;
  const uint8_t policy = bytes[kPolicyByte];

  std::vector<uint16_t> pending;
  bool faulted = false;
  size_t salt = 0;
  for (int i = 0; i < kMaxEntries; ++i) {
    auto entry = ring.next();
    if (!entry) break;
    if (const auto* fault = std::get_if<RingFault>(&*entry)) {
      check(!fault->reason.empty() && ring.faulted());
      faulted = true;
      break;
    }
    if (const auto* command = std::get_if<RingCommand>(&*entry)) {
      check_command(region, *command);
      pending.push_back(command->cmd_id);
    } else {
      check(std::get<RingTmr>(*entry).cmd_ids.size() <= region.ring_size / sizeof(uint16_t));
      if ((policy & 0x10) != 0) ring.release_consumed();
    }
    check(ring.outstanding() == pending.size());
    // Complete some while reading goes on, so that cmd_tail chases the read position.
    if ((policy & 0x08) != 0 && pending.size() > 1) {
      complete_one(ring, region, pending, static_cast<uint8_t>(policy / 32), ++salt);
    }
  }
  while (!pending.empty()) {
    const auto order = static_cast<uint8_t>(policy / 32 + salt);  // mixes oldest, newest and middle
    complete_one(ring, region, pending, order, ++salt);
  }
  check(ring.outstanding() == 0);
  check(!ring.complete(0, 0, {}));
  ring.release_consumed();

  const auto again = ring.next();
  check(faulted ? again && std::holds_alternative<RingFault>(*again) : !again.has_value());
  return 0;
}
