// Memory budgets for the buffers that peers make a gateway allocate (data-out they send, data-in
// they ask for), so that overload becomes back-pressure and never an allocation failure.
//
// A BufferPool is the gateway-wide limit, shared by every loop. A BufferAccount is one
// connection's share of it, used only on that connection's loop. A BufferCharge is what one
// command holds: it returns its bytes to both when destroyed, which is when the command's last
// PDU has been sent (the charge travels with the buffer) or the command ended without one.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace portico::runtime {

class BufferPool {
 public:
  explicit BufferPool(uint64_t limit_bytes) : limit_(limit_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Takes `bytes` if they fit under the limit.
  bool try_take(uint64_t bytes);
  void give_back(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_acq_rel); }
  [[nodiscard]] uint64_t used() const { return used_.load(std::memory_order_acquire); }
  [[nodiscard]] uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

class BufferAccount;

class BufferCharge {
 public:
  BufferCharge() = default;
  BufferCharge(BufferCharge&& o) noexcept
      : account_(std::exchange(o.account_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  BufferCharge& operator=(BufferCharge&& o) noexcept {
    if (this != &o) {
      release();
      account_ = std::exchange(o.account_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  BufferCharge(const BufferCharge&) = delete;
  BufferCharge& operator=(const BufferCharge&) = delete;
  ~BufferCharge() { release(); }

  [[nodiscard]] uint64_t bytes() const { return bytes_; }
  [[nodiscard]] bool held() const { return account_ != nullptr; }
  void release();

 private:
  friend class BufferAccount;
  BufferCharge(BufferAccount* account, uint64_t bytes) : account_(account), bytes_(bytes) {}

  BufferAccount* account_ = nullptr;
  uint64_t bytes_ = 0;
};

class BufferAccount {
 public:
  BufferAccount(BufferPool& pool, uint64_t limit_bytes) : pool_(pool), limit_(limit_bytes) {}
  BufferAccount(const BufferAccount&) = delete;
  BufferAccount& operator=(const BufferAccount&) = delete;
  // Every charge must be gone first: the owner declares the account before what holds charges.
  ~BufferAccount() = default;

  // A charge of `bytes`, or nullopt when the account or the pool has no room for it. An account
  // that holds nothing may go over its own limit with one charge (a command larger than the
  // limit still runs, alone), never over the pool's.
  std::optional<BufferCharge> try_charge(uint64_t bytes);

  [[nodiscard]] uint64_t used() const { return used_; }
  [[nodiscard]] uint64_t limit() const { return limit_; }
  // Bumped whenever bytes come back, so that a waiter can tell whether retrying may help.
  [[nodiscard]] uint64_t releases() const { return releases_; }

 private:
  friend class BufferCharge;
  void give_back(uint64_t bytes);

  BufferPool& pool_;
  const uint64_t limit_;
  uint64_t used_ = 0;
  uint64_t releases_ = 0;
};

}  // namespace portico::runtime
