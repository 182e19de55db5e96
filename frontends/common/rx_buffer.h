// Bytes received on a connection and not yet consumed. One recv fills as much as fits, which is
// usually several PDUs at once; a PDU is parsed in place and never copied before dispatch.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace portico::frontend {

class RxBuffer {
 public:
  explicit RxBuffer(size_t initial_capacity = 64 * 1024) : bytes_(initial_capacity) {}

  [[nodiscard]] std::span<const uint8_t> readable() const { return {bytes_.data() + begin_, end_ - begin_}; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Makes room for at least `needed` readable bytes in total (a whole PDU); the caller bounds
  // `needed` by the negotiated limits before calling.
  void reserve_for(size_t needed) {
    if (begin_ > 0 && bytes_.size() - begin_ < needed) {
      std::memmove(bytes_.data(), bytes_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (bytes_.size() < needed) bytes_.resize(needed);
  }

  // Free space to receive into; never empty after reserve_for() of more than readable().size().
  std::span<uint8_t> writable() {
    if (begin_ > 0 && end_ == bytes_.size()) reserve_for(end_ - begin_ + 1);
    return {bytes_.data() + end_, bytes_.size() - end_};
  }
  void commit(size_t n) { end_ += n; }

 private:
  std::vector<uint8_t> bytes_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace portico::frontend
