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

int errno_of(int ring_result) { return ring_result < 0 ? -ring_result : 0; }

// What a file system without hole punching gets written instead, a chunk at a time.
std::span<const uint8_t> zero_chunk() {
  static const std::vector<uint8_t> zeroes(1u << 20, 0);
  return zeroes;
}

}  // namespace

// One read or write of a whole range, continued after short transfers. `complete` runs once, on
// the call's executor, with 0 or an errno; the object is deleted just before.
// One read or write of [offset, offset + length) from or into a list of buffers, in file order
// (one buffer, or a front-end's scatter-gather list), continued after short transfers.
struct FileBlockDevice::Transfer {
  // At most this many buffers per system call (IOV_MAX); a longer list takes several.
  static constexpr size_t kMaxWindow = 1024;

  bool write = false;
  int rw_flags = 0;  // RWF_DSYNC for FUA
  std::vector<iovec> segments;
  uint64_t offset = 0;
  size_t length = 0;  // bytes over all segments
  size_t moved = 0;
  std::vector<iovec> window;  // the part of `segments` the next system call moves
  UniqueFunction<void(int)> complete;

  void set_buffer(const uint8_t* data, size_t size) {
    segments.assign(1, iovec{const_cast<uint8_t*>(data), size});  // NOLINT: iovecs are not const
    length = size;
  }
  template <typename Byte>
  void set_segments(std::span<const std::span<Byte>> list) {
    segments.clear();
    length = 0;
    for (const auto& s : list) {
      if (s.empty()) continue;
      segments.push_back(iovec{const_cast<uint8_t*>(s.data()), s.size()});  // NOLINT: iovecs are not const
      length += s.size();
    }
  }
  // Points `window` at up to `bytes` of the segments from `moved` on.
  void make_window(size_t bytes) {
    window.clear();
    size_t skip = moved;
    for (const auto& s : segments) {
      if (bytes == 0 || window.size() == kMaxWindow) break;
      if (skip >= s.iov_len) {
        skip -= s.iov_len;
        continue;
      }
      const size_t n = std::min(s.iov_len - skip, bytes);
      window.push_back(iovec{static_cast<uint8_t*>(s.iov_base) + skip, n});
      bytes -= n;
      skip = 0;
    }
  }
  // A read beyond the end of the file (a file shrunk behind our back) sees zeroes.
  void zero_rest() {
    make_window(length - moved);
    for (const auto& w : window) std::memset(w.iov_base, 0, w.iov_len);
    moved = length;
  }

  static void finish(Transfer* t, int err) {
    UniqueFunction<void(int)> complete = std::move(t->complete);
    delete t;
    complete(err);
  }
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

FileBlockDevice::~FileBlockDevice() {
  workers_.stop();  // nothing may still be using the descriptor
  ::close(fd_);
}

int FileBlockDevice::check_range(uint64_t offset, uint64_t length) const {
  if (offset > size_ || length > size_ - offset) return EINVAL;
  if (offset % info_.block_size != 0 || length % info_.block_size != 0) return EINVAL;
  return 0;
}

void FileBlockDevice::issue(Executor& executor, UniqueFunction<void(runtime::EventLoop*)> work) {
  auto* loop = dynamic_cast<runtime::EventLoop*>(&executor);
  if (loop == nullptr) {
    workers_.run([work = std::move(work)]() mutable { work(nullptr); });
  } else if (loop->in_executor_thread()) {
    work(loop);
  } else {
    loop->post([loop, work = std::move(work)]() mutable { work(loop); });
  }
}

template <typename Submit>
void FileBlockDevice::on_ring(runtime::EventLoop& loop, Call call, Completion done, Submit submit) {
  if (const int err = injected(call); err != 0) {
    loop.post([done = std::move(done), err]() mutable { done(-err); });
    return;
  }
  submit(std::move(done));
}

void FileBlockDevice::one_call(Executor& executor, Call call, RingSubmit submit, UniqueFunction<int()> syscall,
                               UniqueFunction<void(int)> done) {
  if (submit && dynamic_cast<runtime::EventLoop*>(&executor) != nullptr) {
    issue(executor, [this, call, submit = std::move(submit), done = std::move(done)](runtime::EventLoop* loop) mutable {
      on_ring(
          *loop, call, [done = std::move(done)](int result) mutable { done(errno_of(result)); },
          [&](Completion completion) { submit(*loop, std::move(completion)); });
    });
    return;
  }
  workers_.run([this, &executor, call, syscall = std::move(syscall), done = std::move(done)]() mutable {
    int err = injected(call);
    if (err == 0 && syscall() != 0) err = errno;
    executor.post([done = std::move(done), err]() mutable { done(err); });
  });
}

void FileBlockDevice::with_exclusive_range(Executor& executor, uint64_t offset, uint64_t length,
                                           UniqueFunction<void(UniqueFunction<void(int)>)> body, IoCallback done) {
  const uint64_t stripes = RangeLock::stripes_of(offset, length);
  auto finish = [this, stripes, done = std::move(done)](int err) mutable {
    range_lock_.release(stripes, true);
    done(IoStatus{err});
  };
  range_lock_.acquire(stripes, true, executor,
                      [body = std::move(body), finish = std::move(finish)]() mutable { body(std::move(finish)); });
}

size_t FileBlockDevice::next_chunk(const Transfer& t) const {
  const size_t remaining = t.length - t.moved;
  return faults_.max_transfer_bytes == 0 ? remaining : std::min(remaining, faults_.max_transfer_bytes);
}

void FileBlockDevice::transfer(Executor& executor, Transfer* t) {
  issue(executor, [this, &executor, t](runtime::EventLoop* loop) {
    if (loop != nullptr) return submit_transfer(*loop, t);
    const int err = transfer_blocking(*t);
    executor.post([t, err] { Transfer::finish(t, err); });
  });
}

void FileBlockDevice::submit_transfer(runtime::EventLoop& loop, Transfer* t) {
  auto on_done = [this, &loop, t](int result) {
    if (result == -EINTR || result == -EAGAIN) return submit_transfer(loop, t);
    if (result < 0 || (result == 0 && t->write)) return Transfer::finish(t, result < 0 ? -result : EIO);
    if (result == 0) {
      t->zero_rest();  // beyond the end of the file
    } else {
      t->moved += static_cast<size_t>(result);
    }
    if (t->moved < t->length) return submit_transfer(loop, t);  // a short transfer: the rest
    Transfer::finish(t, 0);
  };
  const uint64_t position = t->offset + t->moved;
  t->make_window(next_chunk(*t));
  const auto count = static_cast<unsigned>(t->window.size());
  if (t->write) {
    on_ring(loop, Call::write, std::move(on_done), [&](Completion done) {
      loop.writev_flags(fd_, t->window.data(), count, position, t->rw_flags, std::move(done));
    });
  } else {
    on_ring(loop, Call::read, std::move(on_done),
            [&](Completion done) { loop.readv(fd_, t->window.data(), count, position, std::move(done)); });
  }
}

int FileBlockDevice::transfer_blocking(Transfer& t) {
  while (t.moved < t.length) {
    const auto position = static_cast<off_t>(t.offset + t.moved);
    t.make_window(next_chunk(t));
    const auto count = static_cast<int>(t.window.size());
    if (const int err = injected(t.write ? Call::write : Call::read); err != 0) return err;
    const ssize_t n = t.write ? ::pwritev2(fd_, t.window.data(), count, position, t.rw_flags)
                              : ::preadv(fd_, t.window.data(), count, position);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) {
      if (t.write) return EIO;
      t.zero_rest();  // beyond the end of the file
      return 0;
    }
    t.moved += static_cast<size_t>(n);
  }
  return 0;
}

void FileBlockDevice::read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) {
  if (const int e = check_range(offset, dst.size()); e != 0) return done(IoStatus{e});
  auto* t = new Transfer;
  t->set_buffer(dst.data(), dst.size());
  t->offset = offset;
  locked_read(executor, t, std::move(done));
}

void FileBlockDevice::readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) {
  const uint64_t bytes = segments_bytes(dst);
  if (const int e = check_range(offset, bytes); e != 0) return done(IoStatus{e});
  if (bytes == 0) return done(IoStatus{});
  auto* t = new Transfer;
  t->set_segments(dst);
  t->offset = offset;
  locked_read(executor, t, std::move(done));
}

// Reads under the range lock, shared.
void FileBlockDevice::locked_read(Executor& executor, Transfer* t, IoCallback done) {
  const uint64_t stripes = RangeLock::stripes_of(t->offset, t->length);
  t->complete = [this, stripes, done = std::move(done)](int err) mutable {
    range_lock_.release(stripes, false);
    done(IoStatus{err});
  };
  range_lock_.acquire(stripes, false, executor, [this, &executor, t] { transfer(executor, t); });
}

void FileBlockDevice::write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                            IoCallback done) {
  if (const int e = check_range(offset, src.size()); e != 0) return done(IoStatus{e});
  auto* t = new Transfer;
  t->set_buffer(src.data(), src.size());
  t->offset = offset;
  locked_write(executor, t, fua, false, std::move(done));
}

void FileBlockDevice::writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done) {
  const uint64_t bytes = segments_bytes(src);
  if (const int e = check_range(offset, bytes); e != 0) return done(IoStatus{e});
  if (bytes == 0) return done(IoStatus{});
  auto* t = new Transfer;
  t->set_segments(src);
  t->offset = offset;
  locked_write(executor, t, fua, false, std::move(done));
}

// Writes under the range lock: shared for plain writes, exclusive for atomic ones.
void FileBlockDevice::locked_write(Executor& executor, Transfer* t, bool fua, bool exclusive, IoCallback done) {
  const uint64_t stripes = RangeLock::stripes_of(t->offset, t->length);
  t->write = true;
  t->rw_flags = fua ? RWF_DSYNC : 0;
  t->complete = [this, stripes, exclusive, done = std::move(done)](int err) mutable {
    range_lock_.release(stripes, exclusive);
    done(IoStatus{err});
  };
  range_lock_.acquire(stripes, exclusive, executor, [this, &executor, t] { transfer(executor, t); });
}

void FileBlockDevice::flush(Executor& executor, IoCallback done) {
  one_call(
      executor, Call::fsync, [this](runtime::EventLoop& loop, Completion c) { loop.fsync(fd_, true, std::move(c)); },
      [this] { return ::fdatasync(fd_); }, [done = std::move(done)](int err) mutable { done(IoStatus{err}); });
}

void FileBlockDevice::discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  if (const int e = check_range(offset, length); e != 0) return done(IoStatus{e});
  if (block_device_) return block_device_ioctl(executor, Call::discard_ioctl, offset, length, std::move(done));
  deallocate(executor, offset, length, std::move(done));
}

void FileBlockDevice::write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  if (const int e = check_range(offset, length); e != 0) return done(IoStatus{e});
  if (block_device_) return block_device_ioctl(executor, Call::zeroout_ioctl, offset, length, std::move(done));
  deallocate(executor, offset, length, std::move(done));
}

// BLKDISCARD or BLKZEROOUT, which io_uring cannot issue on Linux 6.1: on a worker thread.
void FileBlockDevice::block_device_ioctl(Executor& executor, Call call, uint64_t offset, uint64_t length,
                                         IoCallback done) {
  with_exclusive_range(
      executor, offset, length,
      [this, &executor, call, offset, length](UniqueFunction<void(int)> finish) {
        const unsigned long request = call == Call::discard_ioctl ? BLKDISCARD : BLKZEROOUT;
        one_call(
            executor, call, nullptr,
            [this, request, offset, length] {
              uint64_t range[2] = {offset, length};
              return ::ioctl(fd_, request, range);
            },
            [call, finish = std::move(finish)](int err) mutable {
              // Discard is advisory on a block device (not advertised as zeroing): a device without
              // it is fine.
              finish(call == Call::discard_ioctl && err == EOPNOTSUPP ? 0 : err);
            });
      },
      std::move(done));
}

// Punches a hole (reads return zeroes, the space is freed).
void FileBlockDevice::deallocate(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  constexpr int kMode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  with_exclusive_range(
      executor, offset, length,
      [this, &executor, offset, length](UniqueFunction<void(int)> finish) {
        one_call(
            executor, Call::punch_hole,
            [this, offset, length](runtime::EventLoop& loop, Completion c) {
              loop.fallocate(fd_, kMode, offset, length, std::move(c));
            },
            [this, offset, length] {
              return ::fallocate(fd_, kMode, static_cast<off_t>(offset), static_cast<off_t>(length));
            },
            [this, &executor, offset, length, finish = std::move(finish)](int err) mutable {
              // A file system without hole punching: write the zeroes instead.
              if (err != EOPNOTSUPP) return finish(err);
              write_zero_blocks(executor, offset, length, std::move(finish));
            });
      },
      std::move(done));
}

// Writes zeroes over the range a chunk at a time, each chunk started from the last one's completion.
void FileBlockDevice::write_zero_blocks(Executor& executor, uint64_t offset, uint64_t length,
                                        UniqueFunction<void(int)> done) {
  const std::span<const uint8_t> zeroes = zero_chunk();
  auto* t = new Transfer;
  t->write = true;
  t->set_buffer(zeroes.data(), static_cast<size_t>(std::min<uint64_t>(length, zeroes.size())));
  t->offset = offset;
  t->complete = [this, &executor, offset, length, chunk = t->length, done = std::move(done)](int err) mutable {
    if (err != 0 || chunk == length) return done(err);
    write_zero_blocks(executor, offset + chunk, length - chunk, std::move(done));
  };
  transfer(executor, t);
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
    read->set_buffer(caw->current.data(), caw->current.size());
    read->offset = offset;
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
      write->set_buffer(replacement.data(), replacement.size());
      write->offset = offset;
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
  auto* t = new Transfer;
  t->set_buffer(src.data(), src.size());
  t->offset = offset;
  locked_write(executor, t, fua, true, std::move(done));
}

}  // namespace portico::backends
