#include "backends/memory/delayed_block_device.h"

#include <pthread.h>
#include <sys/prctl.h>

#include <utility>

namespace portico::backends {

DelayedBlockDevice::DelayedBlockDevice(std::shared_ptr<BlockDevice> inner, std::chrono::microseconds delay)
    : inner_(std::move(inner)), delay_(delay), thread_([this] { run(); }) {}

DelayedBlockDevice::~DelayedBlockDevice() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

IoCallback DelayedBlockDevice::later(Executor& executor, IoCallback done) {
  return [this, &executor, done = std::move(done)](IoStatus status) mutable {
    {
      std::lock_guard lock(mutex_);
      waiting_.push_back(Waiting{Clock::now() + delay_, &executor, std::move(done), status});
    }
    changed_.notify_one();
  };
}

void DelayedBlockDevice::run() {
  pthread_setname_np(pthread_self(), "portico-delay");
  // The default timer slack (50 µs) would add up to that much to every delay.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
    if (waiting_.empty()) return;  // stopping, nothing left
    if (!stopping_ && Clock::now() < waiting_.front().due) {
      changed_.wait_until(lock, waiting_.front().due);
      continue;
    }
    Waiting next = std::move(waiting_.front());
    waiting_.pop_front();
    lock.unlock();
    next.executor->post([done = std::move(next.done), status = next.status]() mutable { done(status); });
    lock.lock();
  }
}

void DelayedBlockDevice::read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) {
  inner_->read(executor, offset, dst, later(executor, std::move(done)));
}

void DelayedBlockDevice::write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                               IoCallback done) {
  inner_->write(executor, offset, src, fua, later(executor, std::move(done)));
}

void DelayedBlockDevice::readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) {
  inner_->readv(executor, offset, dst, later(executor, std::move(done)));
}

void DelayedBlockDevice::writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done) {
  inner_->writev(executor, offset, src, fua, later(executor, std::move(done)));
}

void DelayedBlockDevice::flush(Executor& executor, IoCallback done) {
  inner_->flush(executor, later(executor, std::move(done)));
}

void DelayedBlockDevice::discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  inner_->discard(executor, offset, length, later(executor, std::move(done)));
}

void DelayedBlockDevice::write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  inner_->write_zeroes(executor, offset, length, later(executor, std::move(done)));
}

void DelayedBlockDevice::compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                                           std::span<const uint8_t> replacement, IoCallback done) {
  inner_->compare_and_write(executor, offset, expected, replacement, later(executor, std::move(done)));
}

void DelayedBlockDevice::write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                                      IoCallback done) {
  inner_->write_atomic(executor, offset, src, fua, later(executor, std::move(done)));
}

}  // namespace portico::backends
