// GET LBA STATUS on RBD: which parts of a range exist as data in RADOS. Without the object map
// (it needs exclusive-lock, which a multi-writer image cannot have) librbd answers by asking
// each object, so a query covers at most kObjectsPerQuery objects and runs on the device's
// worker thread, never on an event loop. An object that does not exist (never written, or
// discarded whole) reads as zeroes and is reported deallocated.
#include <algorithm>
#include <vector>

#include <rbd/librbd.h>

#include "backends/rbd/rbd_block_device.h"

namespace portico::backends {
namespace {

constexpr uint64_t kObjectsPerQuery = 16;

struct Collector {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t next = 0;  // first byte not yet described
  std::vector<AllocationExtent> extents;

  void add(uint64_t length, bool mapped) {
    if (length == 0) return;
    if (!extents.empty() && extents.back().mapped == mapped) {
      extents.back().length += length;
    } else {
      extents.push_back({length, mapped});
    }
  }
};

int on_extent(uint64_t offset, size_t length, int exists, void* arg) {
  auto* c = static_cast<Collector*>(arg);
  const uint64_t from = std::max(offset, c->next);
  const uint64_t to = std::min<uint64_t>(offset + length, c->end);
  if (to <= from) return 0;
  c->add(from - c->next, false);  // a gap before it holds no data
  c->add(to - from, exists != 0);
  c->next = to;
  return 0;
}

}  // namespace

void RbdBlockDevice::allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                                AllocationCallback done) {
  const uint64_t object = std::max<uint64_t>(layout_.object_size, 1);
  // Whole objects from the one holding `offset`, at most kObjectsPerQuery of them.
  const uint64_t limit = (offset / object + kObjectsPerQuery) * object;
  const uint64_t end = std::min(offset + length, limit);
  // The destructor runs the worker's queue before it closes the image.
  worker_->post([this, &executor, offset, end, max_extents, done = std::make_shared<AllocationCallback>(
                                                                   std::move(done))]() mutable {
    Collector c;
    c.start = c.next = offset;
    c.end = end;
    const int ret = rbd_diff_iterate2(static_cast<rbd_image_t>(image_), nullptr, offset, end - offset,
                                      /*include_parent=*/1, /*whole_object=*/0, &on_extent, &c);
    if (ret >= 0) c.add(end - c.next, false);
    if (ret < 0) note_error(-ret);
    if (c.extents.size() > max_extents) c.extents.resize(max_extents);
    executor.post([done, ret, extents = std::move(c.extents)]() mutable {
      (*done)(ret < 0 ? -ret : 0, std::move(extents));
    });
  });
}

void RbdBlockDevice::write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                                  IoCallback done) {
  // One object, one OSD write operation: no reader on any gateway sees part of it. The core
  // keeps to max_atomic_write_bytes at atomic_alignment_bytes, which never crosses an object.
  const uint64_t unit = info_.atomic_alignment_bytes;
  if (src.empty() || src.size() > info_.max_atomic_write_bytes || unit == 0 ||
      offset / unit != (offset + src.size() - 1) / unit) {
    executor.post([done = std::move(done)]() mutable { done(IoStatus{EINVAL}); });
    return;
  }
  write(executor, offset, src, fua, std::move(done));
}

}  // namespace portico::backends
