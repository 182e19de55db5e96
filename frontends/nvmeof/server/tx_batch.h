// What a queue sends next, as one scatter-gather send: small PDUs (responses, R2Ts, the framing
// of data PDUs) written into a byte arena, and command data passed as it is -- the buffer a read
// filled is handed over here and freed once its bytes are on the wire, never copied.
//
// A queue keeps two batches: the one whose send is in flight (its arena must not move) and the
// next, which collects what completes meanwhile.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/io_buffer.h"

namespace portico::nvmeof {

class TxBatch {
 public:
  // Where encoders append small PDUs.
  std::vector<uint8_t>& bytes() { return arena_; }
  // `length` bytes of `buffer` from `offset` go out after what is in the arena now; the batch
  // keeps the buffer until it is sent. Call with the same buffer again (moved from) for another
  // part of it: pass an empty IoBuffer and the data pointer of the first call.
  void add_data(IoBuffer buffer, const uint8_t* data, size_t length);
  [[nodiscard]] size_t size() const { return arena_.size() + external_bytes_; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  void clear();

  // The iovecs of the bytes after the first `sent` bytes (at most kMaxIov); false when none.
  bool prepare(size_t sent, msghdr& message);

  static constexpr size_t kMaxIov = 64;

 private:
  struct Piece {
    const uint8_t* external = nullptr;  // command data, or nullptr: arena bytes from `offset`
    size_t offset = 0;
    size_t length = 0;
  };
  void close_arena_piece();

  std::vector<uint8_t> arena_;
  size_t arena_mark_ = 0;  // arena bytes already covered by pieces
  std::vector<Piece> pieces_;
  std::vector<IoBuffer> buffers_;
  size_t external_bytes_ = 0;
  std::array<iovec, kMaxIov> iov_{};
};

}  // namespace portico::nvmeof
