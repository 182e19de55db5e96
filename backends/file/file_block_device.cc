#include "backends/file/file_block_device.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/event_loop.h"

namespace portico::backends {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

// The loop to submit on, when the call comes from the loop thread that owns `executor`.
runtime::EventLoop* ring_of(Executor& executor) {
  auto* loop = dynamic_cast<runtime::EventLoop*>(&executor);
  return loop != nullptr && loop->in_executor_thread() ? loop : nullptr;
}

}  // namespace

// One read or write of a whole range, resubmitted after short transfers. `complete` runs once
// with 0 or an errno; transfer() deletes the object after it returns.
struct FileBlockDevice::Transfer {
  bool write = false;
  int rw_flags = 0;  // RWF_DSYNC for FUA
  uint8_t* dst = nullptr;
  const uint8_t* src = nullptr;
  uint64_t offset = 0;
  size_t length = 0;
  size_t moved = 0;
  iovec iov{};
  UniqueFunction<void(int)> complete;
};

Result<std::unique_ptr<FileBlockDevice>> FileBlockDevice::open(const std::string& path, uint64_t size_bytes,
                                                               uint32_t block_size, bool create,
                                                               std::string identity_seed) {
  const std::string what = "file backend " + path;
  if (block_size < 512 || block_size > 4096 || (block_size & (block_size - 1)) != 0) {
    return error(ErrorCode::invalid_argument, what + ": block size " + std::to_string(block_size) +
                                                  " is not 512, 1024, 2048 or 4096");
  }
  if (size_bytes % block_size != 0) {
    return error(ErrorCode::invalid_argument,
                 what + ": size " + std::to_string(size_bytes) + " is not a multiple of the block size");
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) return error(ErrorCode::io_error, what + ": cannot open: " + errno_text(errno));
  auto fail = [fd, &what](ErrorCode code, const std::string& message) {
    ::close(fd);
    return error(code, what + ": " + message);
  };
  // Two processes serving one file would break COMPARE AND WRITE and reservations.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return fail(ErrorCode::busy, "already in use by another process (" + errno_text(errno) + ")");
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) return fail(ErrorCode::io_error, "fstat: " + errno_text(errno));
  const bool block_device = S_ISBLK(st.st_mode);
  uint64_t size = size_bytes;
  if (block_device) {
    uint64_t device_size = 0;
    if (::ioctl(fd, BLKGETSIZE64, &device_size) != 0) {
      return fail(ErrorCode::io_error, "BLKGETSIZE64: " + errno_text(errno));
    }
    if (size == 0) size = device_size / block_size * block_size;
    if (size > device_size) {
      return fail(ErrorCode::invalid_argument, "size " + std::to_string(size) + " exceeds the device's " +
                                                   std::to_string(device_size) + " bytes");
    }
  } else if (S_ISREG(st.st_mode)) {
    const auto file_size = static_cast<uint64_t>(st.st_size);
    if (size == 0) size = file_size / block_size * block_size;
    if (file_size < size && ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      return fail(ErrorCode::io_error, "extending to " + std::to_string(size) + " bytes: " + errno_text(errno));
    }
  } else {
    return fail(ErrorCode::invalid_argument, "not a regular file or block device");
  }
  if (size == 0) return fail(ErrorCode::invalid_argument, "size is 0: give a size or use a non-empty file");
  return std::unique_ptr<FileBlockDevice>(
      new FileBlockDevice(fd, block_device, size, block_size, path, std::move(identity_seed)));
}

FileBlockDevice::FileBlockDevice(int fd, bool block_device, uint64_t size, uint32_t block_size, std::string path,
                                 std::string identity_seed)
    : fd_(fd), block_device_(block_device), size_(size), path_(std::move(path)) {
  info_.block_size = block_size;
  info_.physical_block_exponent = block_size >= 4096 ? 0 : static_cast<uint32_t>(__builtin_ctz(4096 / block_size));
  // A block device may not return zeroes after a discard; only sparse files are advertised thin.
  info_.thin_provisioned = !block_device;
  info_.discard_zeroes = !block_device;
  info_.volatile_cache = true;
  info_.max_compare_and_write_bytes = 255 * block_size;
  // One RangeLock stripe's worth: an atomic write then holds at most two stripes exclusively.
  info_.max_atomic_write_bytes = static_cast<uint32_t>(RangeLock::kStripeBytes);
  info_.kind = "file";
  info_.identity_seed = std::move(identity_seed);
}

FileBlockDevice::~FileBlockDevice() { ::close(fd_); }

int FileBlockDevice::check_range(uint64_t offset, uint64_t length) const {
  if (offset > size_ || length > size_ - offset) return EINVAL;
  if (offset % info_.block_size != 0 || length % info_.block_size != 0) return EINVAL;
  return 0;
}

void FileBlockDevice::transfer(Executor& executor, Transfer* t) {
  runtime::EventLoop* loop = ring_of(executor);
  if (loop == nullptr) {
    // Synchronous path.
    int err = 0;
    while (t->moved < t->length) {
      const auto position = static_cast<off_t>(t->offset + t->moved);
      const size_t remaining = t->length - t->moved;
      ssize_t n;
      if (t->write) {
        iovec iov{const_cast<uint8_t*>(t->src + t->moved), remaining};  // NOLINT: pwritev2 takes a non-const iovec
        n = ::pwritev2(fd_, &iov, 1, position, t->rw_flags);
      } else {
        n = ::pread(fd_, t->dst + t->moved, remaining, position);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err = errno;
        break;
      }
      if (n == 0) {
        // Beyond the end of the file (a file shrunk behind our back): reads see zeroes.
        if (t->write) {
          err = EIO;
        } else {
          std::memset(t->dst + t->moved, 0, remaining);
          t->moved = t->length;
        }
        break;
      }
      t->moved += static_cast<size_t>(n);
    }
    t->complete(err);
    delete t;
    return;
  }
  auto on_done = [this, &executor, t](int result) {
    if (result == -EINTR || result == -EAGAIN) return transfer(executor, t);
    if (result < 0 || (result == 0 && t->write)) {
      t->complete(result < 0 ? -result : EIO);
      delete t;
      return;
    }
    if (result == 0) {
      std::memset(t->dst + t->moved, 0, t->length - t->moved);
      t->moved = t->length;
    }
    t->moved += static_cast<size_t>(result);
    if (t->moved < t->length) return transfer(executor, t);
    t->complete(0);
    delete t;
  };
  const uint64_t position = t->offset + t->moved;
  const size_t remaining = t->length - t->moved;
  if (t->write) {
    t->iov = iovec{const_cast<uint8_t*>(t->src + t->moved), remaining};  // NOLINT: writev takes a non-const iovec
    loop->writev_flags(fd_, &t->iov, 1, position, t->rw_flags, std::move(on_done));
  } else {
    loop->read(fd_, std::span<uint8_t>(t->dst + t->moved, remaining), position, std::move(on_done));
  }
}

void FileBlockDevice::read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) {
  if (const int e = check_range(offset, dst.size()); e != 0) return done(IoStatus{e});
  const uint64_t stripes = RangeLock::stripes_of(offset, dst.size());
  auto* t = new Transfer;
  t->dst = dst.data();
  t->offset = offset;
  t->length = dst.size();
  t->complete = [this, stripes, done = std::move(done)](int err) mutable {
    range_lock_.release(stripes, false);
    done(IoStatus{err});
  };
  range_lock_.acquire(stripes, false, executor, [this, &executor, t] { transfer(executor, t); });
}

void FileBlockDevice::write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                            IoCallback done) {
  if (const int e = check_range(offset, src.size()); e != 0) return done(IoStatus{e});
  locked_write(executor, offset, src, fua, false, std::move(done));
}

// Writes under the range lock: shared for plain writes, exclusive for atomic ones.
void FileBlockDevice::locked_write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                                   bool exclusive, IoCallback done) {
  const uint64_t stripes = RangeLock::stripes_of(offset, src.size());
  auto* t = new Transfer;
  t->write = true;
  t->rw_flags = fua ? RWF_DSYNC : 0;
  t->src = src.data();
  t->offset = offset;
  t->length = src.size();
  t->complete = [this, stripes, exclusive, done = std::move(done)](int err) mutable {
    range_lock_.release(stripes, exclusive);
    done(IoStatus{err});
  };
  range_lock_.acquire(stripes, exclusive, executor, [this, &executor, t] { transfer(executor, t); });
}

void FileBlockDevice::flush(Executor& executor, IoCallback done) {
  if (runtime::EventLoop* loop = ring_of(executor)) {
    loop->fsync(fd_, true, [done = std::move(done)](int result) mutable { done(IoStatus{result < 0 ? -result : 0}); });
    return;
  }
  done(IoStatus{::fdatasync(fd_) == 0 ? 0 : errno});
}

void FileBlockDevice::discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  if (const int e = check_range(offset, length); e != 0) return done(IoStatus{e});
  if (block_device_) {
    // Advisory on a block device (not advertised as zeroing): a device without discard is fine.
    uint64_t range[2] = {offset, length};
    const int err = ::ioctl(fd_, BLKDISCARD, range) == 0 || errno == EOPNOTSUPP ? 0 : errno;
    return done(IoStatus{err});
  }
  deallocate(executor, offset, length, std::move(done));
}

void FileBlockDevice::write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  if (const int e = check_range(offset, length); e != 0) return done(IoStatus{e});
  if (block_device_) {
    uint64_t range[2] = {offset, length};
    return done(IoStatus{::ioctl(fd_, BLKZEROOUT, range) == 0 ? 0 : errno});
  }
  deallocate(executor, offset, length, std::move(done));
}

// Punches a hole (reads return zeroes, the space is freed). The range is held exclusively so no
// compare-and-write sees it half punched.
void FileBlockDevice::deallocate(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  const uint64_t stripes = RangeLock::stripes_of(offset, length);
  auto finish = [this, stripes, offset, length, done = std::move(done)](int err) mutable {
    if (err == EOPNOTSUPP) {
      // A file system without hole punching: write the zeroes instead.
      std::vector<uint8_t> zeroes(std::min<uint64_t>(length, 1u << 20), 0);
      err = 0;
      for (uint64_t at = 0; at < length && err == 0;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(zeroes.size(), length - at));
        const ssize_t written = ::pwrite(fd_, zeroes.data(), n, static_cast<off_t>(offset + at));
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) err = written < 0 ? errno : EIO;
        else at += static_cast<uint64_t>(written);
      }
    }
    range_lock_.release(stripes, true);
    done(IoStatus{err});
  };
  range_lock_.acquire(stripes, true, executor,
                      [this, &executor, offset, length, finish = std::move(finish)]() mutable {
                        constexpr int kMode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
                        if (runtime::EventLoop* loop = ring_of(executor)) {
                          loop->fallocate(fd_, kMode, offset, length, [finish = std::move(finish)](int result) mutable {
                            finish(result < 0 ? -result : 0);
                          });
                          return;
                        }
                        const int rc = ::fallocate(fd_, kMode, static_cast<off_t>(offset), static_cast<off_t>(length));
                        finish(rc == 0 ? 0 : errno);
                      });
}

void FileBlockDevice::compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                                        std::span<const uint8_t> replacement, IoCallback done) {
  if (expected.size() != replacement.size() || expected.size() > info_.max_compare_and_write_bytes) {
    return done(IoStatus{EINVAL});
  }
  if (const int e = check_range(offset, expected.size()); e != 0) return done(IoStatus{e});
  const uint64_t stripes = RangeLock::stripes_of(offset, expected.size());
  // Read, compare and write under the exclusive range: no other I/O of this device touches it.
  struct Caw {
    std::vector<uint8_t> current;
    IoCallback done;
  };
  auto* caw = new Caw{std::vector<uint8_t>(expected.size()), std::move(done)};
  auto finish = [this, stripes, caw](IoStatus status) {
    range_lock_.release(stripes, true);
    IoCallback callback = std::move(caw->done);
    delete caw;
    callback(status);
  };
  range_lock_.acquire(stripes, true, executor, [this, &executor, offset, expected, replacement, caw, finish] {
    auto* read = new Transfer;
    read->dst = caw->current.data();
    read->offset = offset;
    read->length = caw->current.size();
    read->complete = [this, &executor, offset, expected, replacement, caw, finish](int err) {
      if (err != 0) return finish(IoStatus{err});
      const auto mismatch = std::mismatch(expected.begin(), expected.end(), caw->current.begin());
      if (mismatch.first != expected.end()) {
        IoStatus status;
        status.miscompare = true;
        status.miscompare_offset = static_cast<uint64_t>(mismatch.first - expected.begin());
        return finish(status);
      }
      auto* write = new Transfer;
      write->write = true;
      write->src = replacement.data();
      write->offset = offset;
      write->length = replacement.size();
      write->complete = [finish](int write_err) { finish(IoStatus{write_err}); };
      transfer(executor, write);
    };
    transfer(executor, read);
  });
}

// The range is held exclusively for the whole write (reads and writes take it shared), so no
// command of this device sees part of it, as for compare_and_write. Against a crash of the host
// the write is only as atomic as the file system makes one pwrite.
void FileBlockDevice::write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                                   IoCallback done) {
  if (src.size() > info_.max_atomic_write_bytes) return done(IoStatus{EINVAL});
  if (const int e = check_range(offset, src.size()); e != 0) return done(IoStatus{e});
  if (src.empty()) return done(IoStatus{});
  locked_write(executor, offset, src, fua, true, std::move(done));
}

bool FileBlockDevice::is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const {
  const uint64_t block = info_.block_size;
  const uint64_t end = std::min(size_, offset + std::max(length, block));
  if (block_device_ || offset >= size_) {
    run_length = end > offset ? end - offset : block;
    return true;
  }
  // lseek moves the file position, which no I/O here uses (pread/pwrite and io_uring offsets).
  const off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  bool allocated;
  uint64_t boundary;
  if (data < 0) {
    if (errno != ENXIO) {  // no SEEK_DATA support: report mapped
      run_length = end - offset;
      return true;
    }
    allocated = false;  // only a hole from here to the end
    boundary = end;
  } else if (static_cast<uint64_t>(data) > offset) {
    allocated = false;
    boundary = static_cast<uint64_t>(data);
  } else {
    allocated = true;
    const off_t hole = ::lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
    boundary = hole < 0 ? end : static_cast<uint64_t>(hole);
  }
  // Whole blocks: a block partly written counts as mapped, so a hole run ends early rounded down
  // and a data run ends rounded up.
  boundary = std::min(boundary, end);
  boundary = allocated ? (boundary + block - 1) / block * block : boundary / block * block;
  run_length = std::max(std::min(boundary, end) - offset, block);
  return allocated;
}

}  // namespace portico::backends
