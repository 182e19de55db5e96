#include "frontends/iscsi/server/tx_queue.h"

#include <cstring>

namespace portico::iscsi {
namespace {

// Appends the part of [base, base+len) that lies after `skip` bytes; returns bytes skipped.
size_t add_piece(std::array<iovec, TxQueue::kMaxIov>& iov, size_t& n, const uint8_t* base, size_t len, size_t skip) {
  if (skip >= len) return len;
  if (n < iov.size()) {
    iov[n].iov_base = const_cast<uint8_t*>(base + skip);  // NOLINT: sendmsg does not write
    iov[n].iov_len = len - skip;
    ++n;
  }
  return skip;
}

}  // namespace

bool TxQueue::prepare(msghdr& msg) {
  if (pdus_.empty()) return false;
  size_t n = 0;
  size_t skip = front_offset_;
  for (const auto& pdu : pdus_) {
    if (n + 3 > iov_.size()) break;
    skip -= add_piece(iov_, n, pdu.header.data(), pdu.header_length, skip);
    skip -= add_piece(iov_, n, pdu.data.data(), pdu.data.size(), skip);
    skip -= add_piece(iov_, n, pdu.trailer.data(), pdu.trailer_length, skip);
  }
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = iov_.data();
  msg.msg_iovlen = n;
  return n > 0;
}

void TxQueue::consume(size_t sent) {
  queued_bytes_ -= sent;
  size_t remaining = sent + front_offset_;
  while (!pdus_.empty() && remaining >= pdus_.front().wire_size()) {
    remaining -= pdus_.front().wire_size();
    pdus_.pop_front();
  }
  front_offset_ = remaining;
}

}  // namespace portico::iscsi
