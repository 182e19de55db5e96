// An owned, 4 KiB-aligned byte buffer: the unit of data passed between front-ends, the core and
// backends. Aligned so that a file backend can use O_DIRECT without copying.
//
// Buffers come from a per-thread cache of power-of-two size classes (io_buffer.cc): a 128 KiB
// read would otherwise be a fresh mmap, page faults on first touch and a munmap with a TLB
// shootdown per command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace portico {

class IoBuffer {
 public:
  static constexpr std::size_t kAlignment = 4096;

  IoBuffer() = default;
  explicit IoBuffer(std::size_t size);
  IoBuffer(IoBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  IoBuffer& operator=(IoBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;
  ~IoBuffer() { release(); }

  [[nodiscard]] uint8_t* data() { return data_; }
  [[nodiscard]] const uint8_t* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  std::span<uint8_t> span() { return {data_, size_}; }
  [[nodiscard]] std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  void release();

  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // the allocation's size class
};

}  // namespace portico
