// The backend interface: an asynchronous block device. Implementations: backends/memory,
// backends/file (io_uring), backends/rbd (librbd, completions on librbd's threads).
//
// Contract for every asynchronous call:
//  - offsets and lengths are in bytes and multiples of info().block_size; the caller (the core)
//    has already checked them against capacity_bytes();
//  - buffers stay valid and untouched until `done` has run;
//  - `done` runs on `executor`'s thread (a backend completing elsewhere posts it there); a
//    synchronous backend may run it before the call returns;
//  - `done` runs exactly once.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/common/unique_function.h"
#include "core/executor.h"

namespace portico {

struct IoStatus {
  int error = 0;                    // 0, or a positive errno value
  bool miscompare = false;          // compare_and_write: the compare failed, nothing was written
  uint64_t miscompare_offset = 0;   // byte offset of the first difference within the compare range

  [[nodiscard]] bool ok() const { return error == 0 && !miscompare; }
};

using IoCallback = UniqueFunction<void(IoStatus)>;

// Scatter-gather lists: buffers a front-end owns (a TCMU data area's iovecs), in device order.
using ReadSegments = std::span<const std::span<uint8_t>>;
using WriteSegments = std::span<const std::span<const uint8_t>>;

template <typename Byte>
[[nodiscard]] uint64_t segments_bytes(std::span<const std::span<Byte>> segments) {
  uint64_t total = 0;
  for (const auto& s : segments) total += s.size();
  return total;
}

// The first `bytes` of a list (the last segment cut short), for a transfer shorter than the
// buffers a front-end offers.
template <typename Byte>
[[nodiscard]] std::vector<std::span<Byte>> first_bytes(std::span<const std::span<Byte>> segments, uint64_t bytes) {
  std::vector<std::span<Byte>> out;
  for (const auto& s : segments) {
    if (bytes == 0) break;
    const auto n = static_cast<size_t>(std::min<uint64_t>(s.size(), bytes));
    out.push_back(s.first(n));
    bytes -= n;
  }
  return out;
}

// One run of blocks with the same provisioning state (GET LBA STATUS).
struct AllocationExtent {
  uint64_t length = 0;  // bytes
  bool mapped = true;
};
// error: 0 or a positive errno; extents: consecutive from the queried offset, at least one when
// error is 0.
using AllocationCallback = UniqueFunction<void(int error, std::vector<AllocationExtent> extents)>;

struct BlockDeviceInfo {
  uint32_t block_size = 512;                 // logical block size in bytes
  uint32_t physical_block_exponent = 3;      // 2^n logical blocks per physical block
  bool thin_provisioned = true;              // discard deallocates
  bool discard_zeroes = true;                // a deallocated block reads back as zeroes (LBPRZ)
  uint32_t unmap_granularity_bytes = 0;      // discard deallocates only whole aligned units of this; 0 = a block
  bool volatile_cache = false;               // writes need a flush to be durable
  uint32_t max_compare_and_write_bytes = 0;  // largest atomic compare-and-write, 0 = none
  uint32_t max_atomic_write_bytes = 0;       // largest write_atomic(), 0 = none (SBC-4 4.29)
  uint32_t atomic_alignment_bytes = 0;       // write_atomic() offsets are multiples of this; 0 = any
  uint32_t atomic_granularity_bytes = 0;     // write_atomic() lengths are multiples of this; 0 = any
  uint32_t atomic_boundary_bytes = 0;  // compare_and_write/write_atomic ranges must not cross a multiple of this; 0 = none
  uint32_t max_transfer_bytes = 8u << 20;    // largest single read or write
  std::string kind;                          // "memory", "file", "rbd"
  std::string identity_seed;                 // stable name to derive NAA/serial from
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  [[nodiscard]] virtual const BlockDeviceInfo& info() const = 0;
  // May change at run time (resize); the core raises CAPACITY DATA HAS CHANGED.
  [[nodiscard]] virtual uint64_t capacity_bytes() const = 0;

  virtual void read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) = 0;
  // fua: durable before done.
  virtual void write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                     IoCallback done) = 0;
  // The same as read() / write() into / from several buffers, in order, as one transfer. The
  // default gathers through one bounce buffer (a copy); backends that can move the data in
  // place override them (memory: copies straight to the segments; file: preadv / pwritev; rbd:
  // librbd's readv / writev). The list and its buffers stay valid until `done` has run.
  virtual void readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done);
  virtual void writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done);
  virtual void flush(Executor& executor, IoCallback done) = 0;
  // Deallocate; reads return zeroes afterwards when info().discard_zeroes.
  virtual void discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) = 0;
  virtual void write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) = 0;
  // Atomically: if the range equals `expected`, write `replacement` over it; otherwise write
  // nothing and report miscompare with the offset of the first differing byte. Atomic in the
  // backend (across every gateway for a shared backend), never a core lock.
  virtual void compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                                 std::span<const uint8_t> replacement, IoCallback done) = 0;

  // Writes `src` so that no read or write of this device (on any gateway for a shared backend)
  // observes part of it: readers see all old or all new data. At most
  // info().max_atomic_write_bytes, respecting its alignment and granularity. Default: a device
  // that offers no atomic write (max_atomic_write_bytes = 0) and is never asked.
  virtual void write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                            IoCallback done) {
    (void)executor;
    (void)offset;
    (void)src;
    (void)fua;
    done(IoStatus{EOPNOTSUPP});
  }

  // Thin provisioning (SBC-4 5.7 GET LBA STATUS): whether the block at `offset` is mapped, and in
  // run_length how many bytes from `offset` (at most `length`, at least one block) share that
  // state. Synchronous and thread-safe. Default: a fully provisioned device, all mapped.
  virtual bool is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const {
    (void)offset;
    run_length = length;
    return true;
  }

  // The same question asked asynchronously, for backends where it costs a round trip (RBD):
  // at most `max_extents` consecutive extents from `offset`, together at most `length` bytes
  // (they may cover less; the caller asks again). `done` runs on `executor`'s thread. Default:
  // is_allocated(), synchronously.
  virtual void allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                          AllocationCallback done) {
    (void)executor;
    std::vector<AllocationExtent> extents;
    while (length > 0 && extents.size() < max_extents) {
      uint64_t run = 0;
      const bool mapped = is_allocated(offset, length, run);
      run = run == 0 ? info().block_size : std::min(run, length);
      extents.push_back({run, mapped});
      offset += run;
      length -= run;
    }
    done(0, std::move(extents));
  }
};

}  // namespace portico
