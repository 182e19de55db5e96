// Records for in-flight io_uring operations: allocated in slabs and recycled through a free list,
// so that submitting an operation does not allocate. An SQE's user_data is the record's address.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace portico::runtime {

template <typename Callback>
class OpPool {
 public:
  struct Op {
    Callback callback;
    Op* next_free = nullptr;
  };

  Op* acquire() {
    if (free_ == nullptr) grow();
    Op* op = free_;
    free_ = op->next_free;
    op->next_free = nullptr;
    ++in_use_;
    return op;
  }

  // The callback must already have been moved out or reset.
  void release(Op* op) {
    op->next_free = free_;
    free_ = op;
    --in_use_;
  }

  [[nodiscard]] size_t in_use() const { return in_use_; }

 private:
  static constexpr size_t kSlabSize = 256;

  void grow() {
    auto slab = std::make_unique<Op[]>(kSlabSize);
    for (size_t i = 0; i < kSlabSize; ++i) {
      slab[i].next_free = free_;
      free_ = &slab[i];
    }
    slabs_.push_back(std::move(slab));
  }

  std::vector<std::unique_ptr<Op[]>> slabs_;
  Op* free_ = nullptr;
  size_t in_use_ = 0;
};

}  // namespace portico::runtime
