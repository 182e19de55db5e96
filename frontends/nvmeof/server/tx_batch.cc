#include "frontends/nvmeof/server/tx_batch.h"

#include <cstring>

namespace portico::nvmeof {

void TxBatch::close_arena_piece() {
  if (arena_.size() > arena_mark_) pieces_.push_back({nullptr, arena_mark_, arena_.size() - arena_mark_});
  arena_mark_ = arena_.size();
}

void TxBatch::add_data(IoBuffer buffer, const uint8_t* data, size_t length) {
  close_arena_piece();
  pieces_.push_back({data, 0, length});
  external_bytes_ += length;
  if (!buffer.empty()) buffers_.push_back(std::move(buffer));  // its heap bytes stay where they are
}

void TxBatch::clear() {
  arena_.clear();
  arena_mark_ = 0;
  pieces_.clear();
  buffers_.clear();
  external_bytes_ = 0;
}

bool TxBatch::prepare(size_t sent, msghdr& message) {
  close_arena_piece();
  size_t n = 0;
  size_t skip = sent;
  for (const Piece& piece : pieces_) {
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    if (n == iov_.size()) break;
    const uint8_t* base = piece.external != nullptr ? piece.external : arena_.data() + piece.offset;
    iov_[n].iov_base = const_cast<uint8_t*>(base + skip);  // NOLINT: sendmsg does not write
    iov_[n].iov_len = piece.length - skip;
    skip = 0;
    ++n;
  }
  std::memset(&message, 0, sizeof(message));
  message.msg_iov = iov_.data();
  message.msg_iovlen = n;
  return n > 0;
}

}  // namespace portico::nvmeof
