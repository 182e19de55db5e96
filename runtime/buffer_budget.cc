#include "runtime/buffer_budget.h"

namespace portico::runtime {

bool BufferPool::try_take(uint64_t bytes) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_acq_rel, std::memory_order_relaxed));
  return true;
}

void BufferCharge::release() {
  if (account_ != nullptr) std::exchange(account_, nullptr)->give_back(std::exchange(bytes_, 0));
}

std::optional<BufferCharge> BufferAccount::try_charge(uint64_t bytes) {
  if (used_ > 0 && (bytes > limit_ || used_ > limit_ - bytes)) return std::nullopt;
  if (!pool_.try_take(bytes)) return std::nullopt;
  used_ += bytes;
  return BufferCharge(this, bytes);
}

void BufferAccount::give_back(uint64_t bytes) {
  used_ -= bytes;
  ++releases_;
  pool_.give_back(bytes);
}

}  // namespace portico::runtime
