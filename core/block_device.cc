// The block-device interface's scatter-gather defaults: one bounce buffer and one plain call.
#include "core/block_device.h"

#include <cstring>
#include <memory>

#include "core/io_buffer.h"

namespace portico {

void BlockDevice::readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) {
  if (dst.size() == 1) return read(executor, offset, dst.front(), std::move(done));
  auto bounce = std::make_shared<IoBuffer>(static_cast<size_t>(segments_bytes(dst)));
  read(executor, offset, bounce->span(), [dst, bounce, done = std::move(done)](IoStatus status) mutable {
    if (status.ok()) {
      size_t at = 0;
      for (const auto& s : dst) {
        if (!s.empty()) std::memcpy(s.data(), bounce->data() + at, s.size());
        at += s.size();
      }
    }
    done(status);
  });
}

void BlockDevice::writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done) {
  if (src.size() == 1) return write(executor, offset, src.front(), fua, std::move(done));
  auto bounce = std::make_shared<IoBuffer>(static_cast<size_t>(segments_bytes(src)));
  size_t at = 0;
  for (const auto& s : src) {
    if (!s.empty()) std::memcpy(bounce->data() + at, s.data(), s.size());
    at += s.size();
  }
  write(executor, offset, bounce->span(), fua, [bounce, done = std::move(done)](IoStatus status) mutable {
    done(status);
  });
}

}  // namespace portico
