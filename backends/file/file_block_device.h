// A LUN backed by a regular file or a block device. Nothing it does blocks an event loop:
//
// - When the executor of a call is a runtime::EventLoop, reads, writes, SYNCHRONIZE CACHE
//   (fdatasync) and hole punching (fallocate) are io_uring operations on that loop's ring, issued
//   from its thread (a call from another thread is posted there first); a short read or write is
//   continued from its completion.
// - What io_uring cannot do on Linux 6.1 (the BLKDISCARD / BLKZEROOUT ioctls) and lseek
//   SEEK_DATA / SEEK_HOLE for GET LBA STATUS run on the device's worker threads, which post the
//   completion back to the executor. With an executor that is not an event loop (tests, tools)
//   every system call is made there.
// - `done` runs on the executor, never inside the call except for a range rejected up front.
// - Regular files are sparse: discard and write_zeroes punch holes (reads of a hole return
//   zeroes, LBPRZ), GET LBA STATUS comes from SEEK_DATA/SEEK_HOLE; on a file system that cannot
//   punch holes zeroes are written instead. Block devices use BLKDISCARD / BLKZEROOUT.
// - The page cache is the device's volatile cache: FUA writes use RWF_DSYNC, SYNCHRONIZE CACHE
//   is fdatasync.
// - COMPARE AND WRITE and WRITE ATOMIC are atomic against every other read and write of this
//   device through the RangeLock (reads and writes share their range, compare-and-write and
//   atomic writes hold it exclusively, and so do discard and write_zeroes).
//   Another process writing the same file is not excluded: a file LUN belongs to one porticod.
// - The device must outlive every call in flight (until its `done` has run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backends/file/range_lock.h"
#include "core/block_device.h"
#include "core/common/result.h"
#include "runtime/worker_pool.h"

namespace portico::runtime {
class EventLoop;
}

namespace portico::backends {

class FileBlockDevice final : public BlockDevice {
 public:
  // size_bytes: the LUN size; 0 = the existing file's (or device's) size. A regular file shorter
  // than size_bytes is extended (sparsely); `create` allows creating a missing file.
  static Result<std::unique_ptr<FileBlockDevice>> open(const std::string& path, uint64_t size_bytes,
                                                       uint32_t block_size, bool create,
                                                       std::string identity_seed);
  ~FileBlockDevice() override;
  FileBlockDevice(const FileBlockDevice&) = delete;
  FileBlockDevice& operator=(const FileBlockDevice&) = delete;

  [[nodiscard]] const BlockDeviceInfo& info() const override { return info_; }
  [[nodiscard]] uint64_t capacity_bytes() const override { return size_; }

  void read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override;
  void write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override;
  // preadv / pwritev straight to and from the segments (on the ring when there is one).
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
  // is_allocated() on a worker thread: lseek may wait for the file system.
  void allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                  AllocationCallback done) override;

  // Fault injection for tests: a disk that is slow, fails or transfers less than asked, without
  // one. Set before the first call.
  enum class Call { read, write, fsync, punch_hole, discard_ioctl, zeroout_ioctl, seek };
  struct Faults {
    // Consulted before each system call or io_uring operation, on the thread that makes it: a
    // worker's (where it may sleep, as a slow disk would) or the loop's for an io_uring operation
    // (where it must not). A non-zero errno fails that call with it instead.
    std::function<int(Call)> before_call;
    // Each read or write submission moves at most this many bytes (0: no limit), as a short
    // transfer would.
    size_t max_transfer_bytes = 0;
  };
  void inject_faults(Faults faults) { faults_ = std::move(faults); }

 private:
  struct Transfer;
  using Completion = UniqueFunction<void(int)>;  // an io_uring result: >= 0, or -errno
  using RingSubmit = UniqueFunction<void(runtime::EventLoop&, Completion)>;
  FileBlockDevice(int fd, bool block_device, uint64_t size, uint32_t block_size, std::string path,
                  std::string identity_seed);

  [[nodiscard]] int check_range(uint64_t offset, uint64_t length) const;
  [[nodiscard]] int injected(Call call) const { return faults_.before_call ? faults_.before_call(call) : 0; }

  // Runs `work` where this call's I/O is issued: on the thread of the loop `executor` is (with
  // that loop), or on a worker thread (with nullptr) when `executor` is no event loop.
  void issue(Executor& executor, UniqueFunction<void(runtime::EventLoop*)> work);
  // Submits one io_uring operation, or (a fault injected) completes it with that errno, later.
  template <typename Submit>
  void on_ring(runtime::EventLoop& loop, Call call, Completion done, Submit submit);
  // One system call: `submit` on the loop's ring, or, when there is no loop or no `submit`,
  // `syscall` (0, or -1 with errno) on a worker thread. `done` gets 0 or an errno on `executor`.
  void one_call(Executor& executor, Call call, RingSubmit submit, UniqueFunction<int()> syscall,
                UniqueFunction<void(int)> done);
  // Runs `body` with [offset, offset + length) held exclusively, so that no compare-and-write sees
  // it half done; `body` reports 0 or an errno to what it is given, which releases and runs `done`.
  void with_exclusive_range(Executor& executor, uint64_t offset, uint64_t length,
                            UniqueFunction<void(UniqueFunction<void(int)>)> body, IoCallback done);

  // Reads or writes all of [offset, offset + length), continuing after short transfers.
  void transfer(Executor& executor, Transfer* t);
  void submit_transfer(runtime::EventLoop& loop, Transfer* t);
  int transfer_blocking(Transfer& t);  // on a worker thread
  [[nodiscard]] size_t next_chunk(const Transfer& t) const;
  // Run `t` under the range lock (reads shared; writes shared, or exclusive for atomic ones).
  void locked_read(Executor& executor, Transfer* t, IoCallback done);
  void locked_write(Executor& executor, Transfer* t, bool fua, bool exclusive, IoCallback done);
  void deallocate(Executor& executor, uint64_t offset, uint64_t length, IoCallback done);
  void write_zero_blocks(Executor& executor, uint64_t offset, uint64_t length, UniqueFunction<void(int)> done);
  void block_device_ioctl(Executor& executor, Call call, uint64_t offset, uint64_t length, IoCallback done);

  int fd_;
  bool block_device_;
  uint64_t size_;
  std::string path_;
  BlockDeviceInfo info_;
  RangeLock range_lock_;
  Faults faults_;
  runtime::WorkerPool workers_{"portico-file", 2};
};

}  // namespace portico::backends
