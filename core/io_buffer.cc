#include "core/io_buffer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <new>
#include <vector>

namespace portico {
namespace {

// Size classes 4 KiB .. 16 MiB; larger buffers are allocated and freed directly.
constexpr unsigned kMinShift = 12;
constexpr unsigned kMaxShift = 24;
constexpr unsigned kClasses = kMaxShift - kMinShift + 1;
// What one thread keeps per class: enough for a deep queue of its size, bounded in bytes.
constexpr std::size_t kCachedBytesPerClass = 16u << 20;
constexpr std::size_t kMaxCachedPerClass = 256;

unsigned class_of(std::size_t size) {
  const unsigned shift = static_cast<unsigned>(std::bit_width(std::max<std::size_t>(size, 1) - 1));
  return shift < kMinShift ? 0 : shift - kMinShift;
}

// Set once the thread's cache is gone (thread exit): buffers freed later go straight to free().
thread_local bool cache_destroyed = false;

struct ThreadCache {
  std::array<std::vector<uint8_t*>, kClasses> free_lists;
  ~ThreadCache() {
    for (auto& list : free_lists) {
      for (uint8_t* p : list) std::free(p);
    }
    cache_destroyed = true;
  }
};

ThreadCache* cache() {
  if (cache_destroyed) return nullptr;
  thread_local ThreadCache instance;
  return &instance;
}

}  // namespace

IoBuffer::IoBuffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  if (size > (std::size_t{1} << kMaxShift)) {
    capacity_ = (size + kAlignment - 1) / kAlignment * kAlignment;
    data_ = static_cast<uint8_t*>(std::aligned_alloc(kAlignment, capacity_));
  } else {
    const unsigned index = class_of(size);
    capacity_ = std::size_t{1} << (index + kMinShift);
    ThreadCache* c = cache();
    if (c != nullptr && !c->free_lists[index].empty()) {
      data_ = c->free_lists[index].back();
      c->free_lists[index].pop_back();
    } else {
      data_ = static_cast<uint8_t*>(std::aligned_alloc(kAlignment, capacity_));
    }
  }
  if (data_ == nullptr) throw std::bad_alloc();  // sizes are bounded by the transfer limits
}

void IoBuffer::release() {
  if (data_ == nullptr) return;
  ThreadCache* c = capacity_ <= (std::size_t{1} << kMaxShift) ? cache() : nullptr;
  if (c != nullptr) {
    // Returned to the cache of the thread that frees it (usually the loop that allocated it).
    auto& list = c->free_lists[class_of(capacity_)];
    if (list.size() < kMaxCachedPerClass && (list.size() + 1) * capacity_ <= kCachedBytesPerClass) {
      list.push_back(data_);
      data_ = nullptr;
      return;
    }
  }
  std::free(data_);
  data_ = nullptr;
}

}  // namespace portico
