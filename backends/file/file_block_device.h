// A LUN backed by a regular file or a block device, with I/O through the calling loop's io_uring.
//
// - Regular files are sparse: discard and write_zeroes punch holes (reads of a hole return
//   zeroes, LBPRZ), GET LBA STATUS comes from SEEK_DATA/SEEK_HOLE. Block devices use
//   BLKDISCARD / BLKZEROOUT.
// - The page cache is the device's volatile cache: FUA writes use RWF_DSYNC, SYNCHRONIZE CACHE
//   is fdatasync.
// - When the executor of a call is the runtime::EventLoop running on the calling thread the I/O
//   goes through its ring; from any other executor (tests, tools) it is done synchronously and
//   `done` runs before the call returns.
// - COMPARE AND WRITE and WRITE ATOMIC are atomic against every other read and write of this
//   device through the RangeLock (reads and writes share their range, compare-and-write and
//   atomic writes hold it exclusively).
//   Another process writing the same file is not excluded: a file LUN belongs to one porticod.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backends/file/range_lock.h"
#include "core/block_device.h"
#include "core/common/result.h"

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
  void flush(Executor& executor, IoCallback done) override;
  void discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                         std::span<const uint8_t> replacement, IoCallback done) override;
  void write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                    IoCallback done) override;
  bool is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const override;

 private:
  struct Transfer;
  FileBlockDevice(int fd, bool block_device, uint64_t size, uint32_t block_size, std::string path,
                  std::string identity_seed);

  [[nodiscard]] int check_range(uint64_t offset, uint64_t length) const;
  // Reads or writes all of [offset, offset + length), resubmitting after short transfers.
  void transfer(Executor& executor, Transfer* t);
  void locked_write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua, bool exclusive,
                    IoCallback done);
  void deallocate(Executor& executor, uint64_t offset, uint64_t length, IoCallback done);

  int fd_;
  bool block_device_;
  uint64_t size_;
  std::string path_;
  BlockDeviceInfo info_;
  RangeLock range_lock_;
};

}  // namespace portico::backends
