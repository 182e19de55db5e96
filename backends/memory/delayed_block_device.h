// A block device whose completions arrive late, from a thread of its own: a memory LUN standing
// in for a networked backend. bench/bench_rbd.sh gives it the latency of a librbd read, to
// measure what the gateway itself adds when every command waits that long for its backend.
//
// Every operation runs on the wrapped device at once; its `done` is posted to the caller's
// executor `delay` after the wrapped device completed, by the delay thread, the way librbd's and
// librados's threads post theirs. One delay for every operation, so the queue is in due order.
// The wrapped device must complete before this one is destroyed (a memory device completes
// inline); what is still waiting then is posted at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/block_device.h"

namespace portico::backends {

class DelayedBlockDevice final : public BlockDevice {
 public:
  DelayedBlockDevice(std::shared_ptr<BlockDevice> inner, std::chrono::microseconds delay);
  ~DelayedBlockDevice() override;
  DelayedBlockDevice(const DelayedBlockDevice&) = delete;
  DelayedBlockDevice& operator=(const DelayedBlockDevice&) = delete;

  [[nodiscard]] const BlockDeviceInfo& info() const override { return inner_->info(); }
  [[nodiscard]] uint64_t capacity_bytes() const override { return inner_->capacity_bytes(); }

  void read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override;
  void write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override;
  void readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) override;
  void writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done) override;
  void flush(Executor& executor, IoCallback done) override;
  void discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                         std::span<const uint8_t> replacement, IoCallback done) override;
  void write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                    IoCallback done) override;
  bool is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const override {
    return inner_->is_allocated(offset, length, run_length);
  }
  void allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                  AllocationCallback done) override {
    inner_->allocation(executor, offset, length, max_extents, std::move(done));
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiting {
    Clock::time_point due;
    Executor* executor = nullptr;
    IoCallback done;
    IoStatus status;
  };

  // `done`, to be posted to `executor` once the delay has passed after the wrapped device's
  // completion.
  IoCallback later(Executor& executor, IoCallback done);
  void run();

  std::shared_ptr<BlockDevice> inner_;
  const std::chrono::microseconds delay_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Waiting> waiting_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace portico::backends
