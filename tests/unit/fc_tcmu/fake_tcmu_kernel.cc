#include "tests/unit/fc_tcmu/fake_tcmu_kernel.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace portico::tcmu::testing {

using namespace layout;

namespace {

size_t round_up8(size_t n) { return (n + kEntryAlign - 1) / kEntryAlign * kEntryAlign; }

}  // namespace

FakeTcmuKernel::FakeTcmuKernel(uint32_t ring_size, size_t data_size, uint16_t flags)
    : bytes_(kMailboxSize + ring_size + data_size), ring_size_(ring_size) {
  store<uint16_t>(bytes_, kMailboxVersion, kMailboxVersionSupported);
  store<uint16_t>(bytes_, kMailboxFlags, flags);
  store<uint32_t>(bytes_, kMailboxCmdrOff, static_cast<uint32_t>(kMailboxSize));
  store<uint32_t>(bytes_, kMailboxCmdrSize, ring_size);
}

uint32_t FakeTcmuKernel::head() const { return load<uint32_t>(bytes_, kMailboxCmdHead); }
uint32_t FakeTcmuKernel::tail() const { return load<uint32_t>(bytes_, kMailboxCmdTail); }
void FakeTcmuKernel::set_head(uint32_t head) { store<uint32_t>(bytes_, kMailboxCmdHead, head); }

void FakeTcmuKernel::start_at(uint32_t offset) {
  set_head(offset);
  store<uint32_t>(bytes_, kMailboxCmdTail, offset);
  last_cleaned_ = offset;
}

uint32_t FakeTcmuKernel::place_entry(size_t size) {
  uint32_t head = this->head();
  // is_ring_space_avail: an entry that does not fit before the end also needs the PAD's space,
  // and one byte always stays free so that a full ring differs from an empty one.
  const size_t to_end = ring_size_ - head;
  const size_t needed = to_end >= size ? size : size + to_end;
  const size_t used = head >= last_cleaned_ ? head - last_cleaned_ : ring_size_ - last_cleaned_ + head;
  if (needed + 1 > ring_size_ - used) throw std::runtime_error("fake kernel: ring full");
  if (to_end < size) {  // ring_insert_padding
    store<uint32_t>(entry(head), kHdrLenOp, static_cast<uint32_t>(to_end) | static_cast<uint32_t>(EntryOp::pad));
    store<uint32_t>(entry(head), kHdrCmdId, 0);  // cmd_id, kflags, uflags
    head = 0;
  }
  std::fill_n(entry(head).begin(), size, uint8_t{0});
  last_entry_ = head;
  return head;
}

uint64_t FakeTcmuKernel::allocate_data(size_t length, uint8_t fill) {
  const size_t data_size = bytes_.size() - data_offset();
  if (data_used_ + length > data_size) data_used_ = 0;  // blocks freed long ago
  if (length > data_size) throw std::runtime_error("fake kernel: data area too small");
  const size_t at = data_offset() + data_used_;
  std::fill_n(bytes_.begin() + static_cast<std::ptrdiff_t>(at), length, fill);
  data_used_ += round_up8(length);
  return at;
}

uint16_t FakeTcmuKernel::queue_command(std::vector<uint8_t> cdb, const std::vector<size_t>& data_lengths,
                                       const std::vector<size_t>& bidi_lengths, uint8_t fill) {
  const size_t iovecs = data_lengths.size() + bidi_lengths.size();
  // tcmu_cmd_get_base_cmd_size and tcmu_cmd_get_cmd_size.
  const size_t base = std::max(kReqIov + iovecs * kIovecSize, kCmdEntrySize);
  const size_t size = base + round_up8(cdb.size());
  const uint32_t at = place_entry(size);
  const std::span<uint8_t> e = entry(at);
  const uint16_t cmd_id = next_cmd_id_++;
  store<uint32_t>(e, kHdrLenOp, static_cast<uint32_t>(size) | static_cast<uint32_t>(EntryOp::cmd));
  store<uint16_t>(e, kHdrCmdId, cmd_id);
  store<uint32_t>(e, kReqIovCnt, static_cast<uint32_t>(data_lengths.size()));
  store<uint32_t>(e, kReqIovBidiCnt, static_cast<uint32_t>(bidi_lengths.size()));
  size_t iov = kReqIov;
  for (const auto* lengths : {&data_lengths, &bidi_lengths}) {
    for (size_t length : *lengths) {
      store<uint64_t>(e, iov + kIovecBase, allocate_data(length, fill));
      store<uint64_t>(e, iov + kIovecLen, length);
      iov += kIovecSize;
    }
  }
  const uint64_t cdb_off = ring_offset() + at + base;  // "All offsets relative to mb_addr"
  store<uint64_t>(e, kReqCdbOff, cdb_off);
  std::copy(cdb.begin(), cdb.end(), e.begin() + static_cast<std::ptrdiff_t>(base));
  set_head(static_cast<uint32_t>((at + size) % ring_size_));
  return cmd_id;
}

void FakeTcmuKernel::queue_tmr(uint8_t type, const std::vector<uint16_t>& cmd_ids) {
  const size_t size = round_up8(kTmrEntrySize + cmd_ids.size() * sizeof(uint16_t));
  const uint32_t at = place_entry(size);
  const std::span<uint8_t> e = entry(at);
  store<uint32_t>(e, kHdrLenOp, static_cast<uint32_t>(size) | static_cast<uint32_t>(EntryOp::tmr));
  e[kTmrType] = type;
  store<uint32_t>(e, kTmrCmdCnt, static_cast<uint32_t>(cmd_ids.size()));
  for (size_t i = 0; i < cmd_ids.size(); ++i) store<uint16_t>(e, kTmrCmdIds + 2 * i, cmd_ids[i]);
  set_head(static_cast<uint32_t>((at + size) % ring_size_));
}

std::vector<KernelCompletion> FakeTcmuKernel::collect_completions() {
  std::vector<KernelCompletion> completions;
  const uint32_t tail = this->tail();
  while (last_cleaned_ != tail) {
    const std::span<uint8_t> e = entry(last_cleaned_);
    const uint32_t len_op = load<uint32_t>(e, kHdrLenOp);
    const auto op = static_cast<EntryOp>(len_op & kOpMask);
    if (op == EntryOp::cmd) {
      KernelCompletion c;
      c.cmd_id = load<uint16_t>(e, kHdrCmdId);
      c.uflags = e[kHdrUflags];
      c.scsi_status = e[kRspScsiStatus];
      c.read_len = load<uint32_t>(e, kRspReadLen);
      std::copy_n(e.begin() + kRspSense, kSenseBufferSize, c.sense.begin());
      completions.push_back(c);
    }
    last_cleaned_ = (last_cleaned_ + (len_op & ~kOpMask)) % ring_size_;
  }
  return completions;
}

}  // namespace portico::tcmu::testing
