#include "frontends/fc_tcmu/ring/command_ring.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "frontends/fc_tcmu/ring/entry_decode.h"
#include "frontends/fc_tcmu/ring/ring_layout.h"

namespace portico::tcmu {

namespace {

using namespace layout;

// A mailbox word shared with the kernel; attach() checked that the region is 8-byte aligned.
std::atomic_ref<uint32_t> shared_word(std::span<uint8_t> region, size_t offset) {
  return std::atomic_ref<uint32_t>(*static_cast<uint32_t*>(static_cast<void*>(region.data() + offset)));
}

Status bad_mailbox(ErrorCode code, const std::string& what) { return {code, "tcmu mailbox: " + what}; }

}  // namespace

Result<CommandRing> CommandRing::attach(std::span<uint8_t> region) {
  if (region.size() < kMailboxSize) {
    return bad_mailbox(ErrorCode::out_of_range,
                       "region of " + std::to_string(region.size()) + " bytes is smaller than the mailbox");
  }
  if (reinterpret_cast<uintptr_t>(region.data()) % kEntryAlign != 0) {
    return bad_mailbox(ErrorCode::invalid_argument, "region is not 8-byte aligned");
  }
  const auto version = load<uint16_t>(region, kMailboxVersion);
  if (version != kMailboxVersionSupported) {
    return bad_mailbox(ErrorCode::unsupported, "version " + std::to_string(version) + ", expected " +
                                                   std::to_string(kMailboxVersionSupported));
  }
  const auto ring_offset = load<uint32_t>(region, kMailboxCmdrOff);
  const auto ring_size = load<uint32_t>(region, kMailboxCmdrSize);
  const std::string ring =
      "command ring [" + std::to_string(ring_offset) + ", +" + std::to_string(ring_size) + ")";
  // Entries are multiples of 8 bytes from an 8-aligned start (TCMU_OP_ALIGN_SIZE); the kernel's
  // ring starts right after the mailbox (CMDR_OFF = sizeof(struct tcmu_mailbox)).
  if (ring_offset < kMailboxSize || ring_offset % kEntryAlign != 0 || ring_size == 0 ||
      ring_size % kEntryAlign != 0) {
    return bad_mailbox(ErrorCode::invalid_argument, ring + " is not 8-byte aligned after the mailbox");
  }
  // The data area is everything after the ring (the header's "Ring Design"); commands with data
  // cannot exist without one.
  if (uint64_t{ring_offset} + ring_size >= region.size()) {
    return bad_mailbox(ErrorCode::out_of_range, ring + " leaves no data area in a region of " +
                                                    std::to_string(region.size()) + " bytes");
  }
  const uint32_t tail = shared_word(region, kMailboxCmdTail).load(std::memory_order_acquire);
  if (tail >= ring_size || tail % kEntryAlign != 0) {
    return bad_mailbox(ErrorCode::invalid_argument,
                       "cmd_tail " + std::to_string(tail) + " is not an aligned offset in the " + ring);
  }
  return CommandRing(region, load<uint16_t>(region, kMailboxFlags), ring_offset, ring_size, tail);
}

CommandRing::CommandRing(std::span<uint8_t> region, uint16_t flags, uint32_t ring_offset, uint32_t ring_size,
                         uint32_t tail)
    : region_(region), flags_(flags), ring_offset_(ring_offset), ring_size_(ring_size), tail_(tail), next_(tail) {}

bool CommandRing::out_of_order_completion() const { return (flags_ & kCapOutOfOrderCompletion) != 0; }
bool CommandRing::read_length() const { return (flags_ & kCapReadLen) != 0; }
bool CommandRing::tmr_notifications() const { return (flags_ & kCapTmr) != 0; }

uint32_t CommandRing::load_head() const {
  return shared_word(region_, kMailboxCmdHead).load(std::memory_order_acquire);
}

void CommandRing::store_tail(uint32_t tail) {
  shared_word(region_, kMailboxCmdTail).store(tail, std::memory_order_release);
}

uint32_t CommandRing::distance(uint32_t from, uint32_t to) const {
  return to >= from ? to - from : ring_size_ - from + to;
}

RingEntry CommandRing::fail(std::string reason) {
  fault_ = RingFault{"tcmu ring: " + std::move(reason)};
  return *fault_;
}

std::optional<RingEntry> CommandRing::next() {
  if (fault_) return *fault_;
  // The kernel keeps cmd_head an aligned offset inside the ring (UPDATE_HEAD wraps it modulo
  // cmdr_size), and it never moves back over entries it queued.
  const uint32_t head = load_head();
  if (head >= ring_size_ || head % kEntryAlign != 0) {
    return fail("cmd_head " + std::to_string(head) + " is not an aligned offset in a ring of " +
                std::to_string(ring_size_) + " bytes");
  }
  if (distance(tail_, head) < distance(tail_, next_)) {
    return fail("cmd_head " + std::to_string(head) + " moved back behind entries already read (up to " +
                std::to_string(next_) + ")");
  }
  while (next_ != head) {
    auto entry = take_entry(head);
    if (entry) return entry;
  }
  return std::nullopt;
}

// Reads the entry at next_ and moves past it (std::nullopt for a PAD), or faults.
std::optional<RingEntry> CommandRing::take_entry(uint32_t head) {
  const uint32_t len_op = load<uint32_t>(region_, ring_offset_ + next_ + kHdrLenOp);
  const uint32_t length = len_op & ~kOpMask;
  const auto op = static_cast<EntryOp>(len_op & kOpMask);
  const auto where = [this] { return "entry at ring offset " + std::to_string(next_); };  // only on failure
  // queue_cmd_ring / queue_tmr_ring never let an entry wrap: they pad to the ring's end first
  // (ring_insert_padding). And an entry is complete before cmd_head moves past it.
  if (length == 0) return fail(where() + " has length 0");
  if (length > ring_size_ - next_) {
    return fail(where() + " of " + std::to_string(length) + " bytes runs past the ring's end");
  }
  if (length > distance(next_, head)) {
    return fail(where() + " of " + std::to_string(length) + " bytes runs past cmd_head " + std::to_string(head));
  }
  const EntryPlace place{ring_offset_ + size_t{next_}, length, size_t{ring_offset_} + ring_size_};
  Slot slot{next_, length, op == EntryOp::cmd};
  std::optional<RingEntry> result;
  switch (op) {
    case EntryOp::pad:
      break;
    case EntryOp::cmd: {
      // tcmu_cmd_get_base_cmd_size: never smaller than struct tcmu_cmd_entry, so the response fits.
      if (length < kCmdEntrySize) return fail(where() + " is a command of " + std::to_string(length) + " bytes");
      RingCommand command = decode_command(region_, place);
      ++outstanding_;
      ++outstanding_ids_[command.cmd_id];
      result = std::move(command);
      break;
    }
    case EntryOp::tmr: {
      if (length < kTmrEntrySize) return fail(where() + " is a TMR of " + std::to_string(length) + " bytes");
      auto tmr = decode_tmr(region_, place);
      if (auto* problem = std::get_if<std::string>(&tmr)) return fail(std::move(*problem));
      result = std::move(std::get<RingTmr>(tmr));
      break;
    }
    default:
      return fail(where() + " has unknown opcode " + std::to_string(len_op & kOpMask));
  }
  slots_.push_back(slot);
  next_ = (next_ + length) % ring_size_;
  return result;
}

bool CommandRing::complete(uint16_t cmd_id, uint8_t scsi_status, std::span<const uint8_t> sense,
                           std::optional<uint32_t> read_len) {
  const auto id = outstanding_ids_.find(cmd_id);
  if (id == outstanding_ids_.end()) return false;
  // outstanding_ > 0, so a command slot lies ahead.
  skip_answerless_slots();
  const Slot slot = slots_.front();
  slots_.pop_front();
  write_response(slot, cmd_id, scsi_status, sense, read_len);
  tail_ = (slot.offset + slot.length) % ring_size_;
  store_tail(tail_);
  if (--id->second == 0) outstanding_ids_.erase(id);
  --outstanding_;
  return true;
}

void CommandRing::write_response(const Slot& slot, uint16_t cmd_id, uint8_t scsi_status,
                                 std::span<const uint8_t> sense, std::optional<uint32_t> read_len) {
  const auto entry = region_.subspan(ring_offset_ + size_t{slot.offset}, slot.length);
  // The kernel walks the ring by this length when it collects completions; it is rewritten with
  // the value next() validated so that nothing written to the slot since can mislead it.
  store<uint32_t>(entry, kHdrLenOp, slot.length | static_cast<uint32_t>(EntryOp::cmd));
  store<uint16_t>(entry, kHdrCmdId, cmd_id);
  const bool with_length = read_len.has_value() && read_length();
  // Also clears TCMU_UFLAG_UNKNOWN_OP and TCMU_UFLAG_KEEP_BUF, which this side never asks for.
  entry[kHdrUflags] = with_length ? kUflagReadLen : 0;
  std::fill(entry.begin() + kRspScsiStatus, entry.begin() + kCmdEntrySize, uint8_t{0});
  entry[kRspScsiStatus] = scsi_status;
  if (with_length) store<uint32_t>(entry, kRspReadLen, *read_len);
  const size_t sense_length = std::min(sense.size(), kSenseBufferSize);
  std::copy_n(sense.begin(), sense_length, entry.begin() + kRspSense);
}

bool CommandRing::skip_answerless_slots() {
  bool moved = false;
  while (!slots_.empty() && !slots_.front().command) {
    tail_ = (slots_.front().offset + slots_.front().length) % ring_size_;
    slots_.pop_front();
    moved = true;
  }
  return moved;
}

void CommandRing::release_consumed() {
  if (skip_answerless_slots()) store_tail(tail_);
}

}  // namespace portico::tcmu
