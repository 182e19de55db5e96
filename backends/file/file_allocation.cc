// GET LBA STATUS for a file LUN: SEEK_DATA / SEEK_HOLE on a sparse file, asked from a worker
// thread because lseek may wait for the file system (it takes the inode lock that a hole punch or
// an extending write holds).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "backends/file/file_block_device.h"

namespace portico::backends {

void FileBlockDevice::allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                                 AllocationCallback done) {
  workers_.run([this, &executor, offset, length, max_extents, done = std::move(done)]() mutable {
    // The base class walks is_allocated() and reports at once, here on the worker.
    BlockDevice::allocation(
        executor, offset, length, max_extents,
        [&executor, done = std::move(done)](int error, std::vector<AllocationExtent> extents) mutable {
          executor.post([done = std::move(done), error, extents = std::move(extents)]() mutable {
            done(error, std::move(extents));
          });
        });
  });
}

bool FileBlockDevice::is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const {
  const uint64_t block = info_.block_size;
  const uint64_t end = std::min(size_, offset + std::max(length, block));
  if (block_device_ || offset >= size_) {
    run_length = end > offset ? end - offset : block;
    return true;
  }
  // lseek moves the file position, which no I/O here uses (pread/pwrite and io_uring offsets).
  const int injected_error = injected(Call::seek);
  const off_t data = injected_error != 0 ? -1 : ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  const int seek_error = injected_error != 0 ? injected_error : errno;
  bool allocated;
  uint64_t boundary;
  if (data < 0) {
    if (seek_error != ENXIO) {  // no SEEK_DATA support: report mapped
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
