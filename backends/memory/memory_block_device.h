// A thin-provisioned RAM disk: the benchmark fast path and the honest fake for tests.
//
// Storage is a table of 1 MiB chunks allocated on the first non-zero write; discard and
// write_zeroes free whole chunks and zero partial ones, so an unallocated chunk reads as zeroes
// (LBPRZ, SBC-4 4.7.4.5). Every call completes inline.
//
// Concurrency: several loop threads call in at once. A striped table of reader-writer locks (a
// chunk maps to one stripe) gives:
//   - read and write take their stripes shared (a read torn by a concurrent write is allowed,
//     SBC-4 4.28: ordinary commands are not atomic against each other);
//   - compare_and_write takes its stripes exclusively, so no write lands between its compare and
//     its write (SBC-4 5.3: COMPARE AND WRITE is atomic);
//   - write_atomic takes its stripes exclusively under one lock set, so no reader or writer sees
//     part of it (SBC-4 4.29);
//   - discard and write_zeroes take them exclusively too, because they free chunks a reader
//     could be copying from.
// Stripes are always locked in ascending order, so requests spanning chunks cannot deadlock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>

#include "core/block_device.h"
#include "core/common/result.h"

namespace portico::backends {

class MemoryBlockDevice final : public BlockDevice {
 public:
  static constexpr uint64_t kChunkSize = 1u << 20;
  static constexpr uint64_t kMaxSize = 16ull << 40;  // 16 TiB

  static Result<std::unique_ptr<MemoryBlockDevice>> create(uint64_t size_bytes, uint32_t block_size,
                                                           std::string identity_seed);
  ~MemoryBlockDevice() override;
  MemoryBlockDevice(const MemoryBlockDevice&) = delete;
  MemoryBlockDevice& operator=(const MemoryBlockDevice&) = delete;

  [[nodiscard]] const BlockDeviceInfo& info() const override { return info_; }
  [[nodiscard]] uint64_t capacity_bytes() const override { return size_; }

  void read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override;
  void write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override;
  // Straight to and from the segments, no bounce buffer.
  void readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) override;
  void writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done) override;
  void flush(Executor& executor, IoCallback done) override;
  void discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                         std::span<const uint8_t> replacement, IoCallback done) override;
  void write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                    IoCallback done) override;
  bool is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const override;

  // Bytes of chunks currently allocated (thin-provisioning accounting).
  [[nodiscard]] uint64_t allocated_bytes() const { return allocated_chunks_.load() * kChunkSize; }

 private:
  struct alignas(64) Stripe {
    mutable std::shared_mutex mutex;
  };
  class StripeLocks;
  static constexpr size_t kStripes = 256;
  // Requests are processed in pieces of at most this many chunks, each under one lock set.
  static constexpr uint64_t kChunksPerPiece = 16;

  MemoryBlockDevice(uint64_t size, uint32_t block_size, std::string identity_seed);

  [[nodiscard]] int check_range(uint64_t offset, uint64_t length) const;  // 0 or EINVAL
  [[nodiscard]] uint64_t chunk_bytes(uint64_t chunk) const;
  [[nodiscard]] Stripe& stripe_of(uint64_t chunk) const { return stripes_[chunk % kStripes]; }

  // The chunk's storage, allocating it; nullptr when out of memory.
  uint8_t* allocate_chunk(uint64_t chunk);
  // A read or write of one buffer under its stripes, a piece at a time (write: 0 or an errno).
  void read_range(uint64_t offset, std::span<uint8_t> dst) const;
  int write_range(uint64_t offset, std::span<const uint8_t> src);
  // Copy helpers: the caller holds the stripes of [offset, offset + length).
  void copy_out(uint64_t offset, std::span<uint8_t> dst) const;
  int copy_in(uint64_t offset, std::span<const uint8_t> src);
  void zero_range(uint64_t offset, uint64_t length);
  // First byte of [offset, offset + expected.size()) that differs from expected, or size.
  uint64_t first_difference(uint64_t offset, std::span<const uint8_t> expected) const;

  BlockDeviceInfo info_;
  uint64_t size_;
  uint64_t chunk_count_;
  std::unique_ptr<std::atomic<uint8_t*>[]> chunks_;
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<uint64_t> allocated_chunks_{0};
};

}  // namespace portico::backends
