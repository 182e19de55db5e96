#include "backends/rbd/rbd_block_device.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include <rbd/librbd.h>
#include <spdlog/spdlog.h>

#include "backends/rbd/rbd_image_checks.h"

namespace portico::backends {
namespace {

// librbd 16.x (ImageCompareAndWriteRequest::prune_object_extents) accepts a compare-and-write
// only inside one 512-byte sector of one object, else -EINVAL: measured on 16.2.15.
constexpr uint64_t kCompareAndWriteSector = 512;
constexpr uint32_t kMaxTransferBytes = 8u << 20;
// SBC-4 5.3: COMPARE AND WRITE's NUMBER OF LOGICAL BLOCKS is one byte.
constexpr uint64_t kMaxCompareAndWriteBlocks = 255;
// WRITE ATOMIC: a write inside one object is one OSD operation.
constexpr uint64_t kMaxAtomicWriteBytes = 64 * 1024;

// Closes what open() acquired if it fails before the device owns it.
struct OpenGuard {
  rados_ioctx_t ioctx = nullptr;
  rbd_image_t image = nullptr;
  ~OpenGuard() {
    if (image != nullptr) rbd_close(image);
    if (ioctx != nullptr) rados_ioctx_destroy(ioctx);
  }
};

bool valid_block_size(uint32_t size) { return size >= 512 && size <= 4096 && (size & (size - 1)) == 0; }

}  // namespace

// Requests in flight; the destructor waits for zero. Shared with each operation so that the last
// completion can signal after the device is gone.
struct RbdBlockDevice::InFlight {
  std::atomic<uint64_t> count{0};
};

// One request between its rbd_aio_* call and its completion.
struct RbdBlockDevice::Operation {
  Operation(RbdBlockDevice& owner, Executor& target, IoCallback callback)
      : device(&owner), executor(&target), done(std::move(callback)), in_flight(owner.in_flight_) {
    in_flight->count.fetch_add(1, std::memory_order_relaxed);
  }
  ~Operation() {
    if (in_flight->count.fetch_sub(1, std::memory_order_acq_rel) == 1) in_flight->count.notify_all();
  }
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  RbdBlockDevice* device;
  Executor* executor;
  IoCallback done;
  std::shared_ptr<InFlight> in_flight;
  // readv / writev: the list librbd is given, kept until the completion.
  std::vector<iovec> iov;
  // compare_and_write: where librbd writes the mismatch, and the range it is relative to.
  bool compare = false;
  uint64_t mismatch = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

Result<std::shared_ptr<RbdBlockDevice>> RbdBlockDevice::open(std::shared_ptr<ceph::RadosConnection> connection,
                                                             const RbdOptions& options) {
  const std::string name = options.pool + "/" + options.image;
  const std::string prefix = "rbd image " + name + ": ";
  if (!valid_block_size(options.block_size)) {
    return error(ErrorCode::invalid_argument,
                 prefix + "block size " + std::to_string(options.block_size) + " is not 512, 1024, 2048 or 4096");
  }
  if (options.physical_block_size < options.block_size || options.physical_block_size % options.block_size != 0 ||
      ((options.physical_block_size / options.block_size) & (options.physical_block_size / options.block_size - 1)) !=
          0) {
    return error(ErrorCode::invalid_argument, prefix + "physical block size " +
                                                  std::to_string(options.physical_block_size) +
                                                  " is not a power-of-two multiple of the block size");
  }
  if (Status s = rbd_checks::configure_connection(connection->handle(), name); !s.ok()) return s;

  OpenGuard guard;
  auto ioctx = connection->open_pool(options.pool);
  if (!ioctx.ok()) return error(ioctx.status().code(), prefix + ioctx.status().message());
  guard.ioctx = *ioctx;
  int ret = rbd_open(guard.ioctx, options.image.c_str(), &guard.image, nullptr);
  if (ret < 0) {
    guard.image = nullptr;
    return error(ret == -ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                 prefix + "rbd_open: " + ceph::rados_error_text(ret));
  }
  if (Status s = rbd_checks::check_features(guard.image, name); !s.ok()) return s;
  if (Status s = rbd_checks::check_effective_config(guard.image, options.pool, name); !s.ok()) return s;

  Layout layout;
  rbd_image_info_t stat{};
  ret = rbd_stat(guard.image, &stat, sizeof(stat));
  if (ret == 0) ret = rbd_get_stripe_unit(guard.image, &layout.stripe_unit);
  if (ret == 0) ret = rbd_get_stripe_count(guard.image, &layout.stripe_count);
  if (ret < 0) return error(ErrorCode::io_error, prefix + "rbd_stat: " + ceph::rados_error_text(ret));
  layout.size = stat.size;
  layout.object_size = stat.obj_size;
  if (layout.size < options.block_size) {
    return error(ErrorCode::invalid_argument, prefix + "size " + std::to_string(layout.size) +
                                                  " is smaller than one block");
  }
  char id[128] = {};
  ret = rbd_get_id(guard.image, id, sizeof(id));
  if (ret < 0) return error(ErrorCode::io_error, prefix + "rbd_get_id: " + ceph::rados_error_text(ret));

  std::shared_ptr<RbdBlockDevice> device(
      new RbdBlockDevice(std::move(connection), guard.ioctx, guard.image, name, options, layout, id));
  guard.ioctx = nullptr;
  guard.image = nullptr;
  ret = rbd_update_watch(device->image_, &device->watch_handle_, &RbdBlockDevice::on_header_update, device.get());
  if (ret < 0) return error(ErrorCode::io_error, prefix + "rbd_update_watch: " + ceph::rados_error_text(ret));
  device->watching_ = true;
  device->refresh_direct_reads();
  spdlog::info("rbd: opened {} (id {}, {} bytes, {}-byte objects; reads {})", name, id, layout.size,
               layout.object_size, device->reads_go_to_objects() ? "straight to its objects" : "through librbd");
  return device;
}

RbdBlockDevice::RbdBlockDevice(std::shared_ptr<ceph::RadosConnection> connection, rados_ioctx_t ioctx, void* image,
                               std::string name, const RbdOptions& options, const Layout& layout,
                               const std::string& image_id)
    : connection_(std::move(connection)),
      ioctx_(ioctx),
      image_(image),
      name_(std::move(name)),
      layout_(layout),
      capacity_(layout.size - layout.size % options.block_size),
      in_flight_(std::make_shared<InFlight>()),
      worker_(std::make_unique<ceph::WorkQueue>(connection_->blocking_workers())) {
  info_.block_size = options.block_size;
  info_.physical_block_exponent =
      static_cast<uint32_t>(__builtin_ctz(options.physical_block_size / options.block_size));
  info_.thin_provisioned = true;
  info_.discard_zeroes = true;  // rbd_skip_partial_discard=false: partial ranges are zeroed
  info_.volatile_cache = false;  // rbd_cache=false: an acknowledged write is on the OSDs' stable storage
  // A compare-and-write is one OSD operation on one object, and librbd wants it inside one
  // sector (see kCompareAndWriteSector); a range crossing either is refused, never split.
  info_.atomic_boundary_bytes =
      static_cast<uint32_t>(std::min({kCompareAndWriteSector, layout.stripe_unit, layout.object_size}));
  const uint64_t max_compare = std::min<uint64_t>(kMaxCompareAndWriteBlocks * options.block_size,
                                                  info_.atomic_boundary_bytes);
  info_.max_compare_and_write_bytes =
      max_compare >= options.block_size ? static_cast<uint32_t>(max_compare - max_compare % options.block_size) : 0;
  // Atomic writes of up to one aligned unit that never crosses a stripe unit or an object.
  const uint64_t atomic_unit = std::min({kMaxAtomicWriteBytes, layout.stripe_unit, layout.object_size});
  if (atomic_unit >= options.block_size && atomic_unit % options.block_size == 0) {
    info_.max_atomic_write_bytes = static_cast<uint32_t>(atomic_unit);
    info_.atomic_alignment_bytes = static_cast<uint32_t>(atomic_unit);
    info_.atomic_granularity_bytes = options.block_size;
  }
  info_.max_transfer_bytes = kMaxTransferBytes;
  info_.kind = "rbd";
  // The image id is the same on every gateway and survives renames.
  info_.identity_seed = "rbd:" + options.pool + "/" + image_id;
}

namespace {
std::atomic<bool> leave_images_open{false};
}  // namespace

void RbdBlockDevice::leave_open_at_exit() { leave_images_open.store(true, std::memory_order_release); }

RbdBlockDevice::~RbdBlockDevice() {
  // Completions touch the image and this device: let every one finish first. (librbd's close
  // also drains its queue, but our callbacks run after librbd considers a request done.)
  for (uint64_t n = in_flight_->count.load(std::memory_order_acquire); n != 0;
       n = in_flight_->count.load(std::memory_order_acquire)) {
    in_flight_->count.wait(n, std::memory_order_acquire);
  }
  worker_->drain_and_stop();  // runs the allocation queries still queued, while the image is open
  // rbd_update_unwatch waits for a header callback in progress.
  if (watching_) rbd_update_unwatch(image_, watch_handle_);
  if (leave_images_open.load(std::memory_order_acquire)) return;  // the process's exit ends it
  rbd_close(image_);
  rados_ioctx_destroy(ioctx_);
}

void RbdBlockDevice::set_capacity_listener(std::function<void(uint64_t new_bytes)> listener) {
  const std::lock_guard lock(listener_mutex_);
  capacity_listener_ = std::move(listener);
}

void RbdBlockDevice::set_blocklisted_listener(std::function<void(const std::string& why)> listener) {
  const std::lock_guard lock(listener_mutex_);
  blocklisted_listener_ = std::move(listener);
}

void RbdBlockDevice::note_error(int error) {
  if (error != kBlocklisted || blocklisted_reported_.exchange(true)) return;
  spdlog::error("rbd: {}: an I/O failed with {}: this gateway's RADOS client is blocklisted", name_,
                ceph::rados_error_text(-kBlocklisted));
  std::function<void(const std::string&)> listener;
  {
    const std::lock_guard lock(listener_mutex_);
    listener = blocklisted_listener_;
  }
  if (listener) listener("an I/O on rbd image " + name_ + " failed with EBLOCKLISTED");
}

void RbdBlockDevice::refresh_direct_reads() {
  std::string why;
  auto layout = rbd_direct::direct_read_layout(static_cast<rbd_image_t>(image_), ioctx_, &why);
  std::shared_ptr<const rbd_direct::ObjectLayout> next;
  if (layout) next = std::make_shared<const rbd_direct::ObjectLayout>(std::move(*layout));
  const auto previous = direct_layout_.exchange(next, std::memory_order_acq_rel);
  if (previous && !next) spdlog::info("rbd: {}: reads go through librbd from now on: {}", name_, why);
  if (!previous && next) spdlog::info("rbd: {}: reads go straight to its objects from now on", name_);
  if (!next && !previous) spdlog::debug("rbd: {}: reads go through librbd: {}", name_, why);
}

void RbdBlockDevice::on_header_update(void* arg) {
  // librbd's thread, not an event loop: a synchronous call is fine here.
  auto* device = static_cast<RbdBlockDevice*>(arg);
  device->refresh_direct_reads();
  uint64_t size = 0;
  const int ret = rbd_get_size(device->image_, &size);
  if (ret < 0) {
    spdlog::warn("rbd: {}: header changed, but rbd_get_size failed: {}", device->name_, ceph::rados_error_text(ret));
    return;
  }
  const uint64_t bytes = size - size % device->info_.block_size;
  if (device->capacity_.exchange(bytes, std::memory_order_acq_rel) == bytes) return;
  spdlog::info("rbd: {}: capacity is now {} bytes", device->name_, bytes);
  std::function<void(uint64_t)> listener;
  {
    const std::lock_guard lock(device->listener_mutex_);
    listener = device->capacity_listener_;
  }
  if (listener) listener(bytes);
}

void RbdBlockDevice::finish(Operation* op, IoStatus status) {
  std::unique_ptr<Operation> owned(op);
  op->executor->post([done = std::move(op->done), status]() mutable { done(status); });
  // After the post: the gateway's stop drains the same loop, so this I/O is answered (with its
  // sense) before the session closes. The device outlives its operations.
  op->device->note_error(status.error);
}

void RbdBlockDevice::on_complete(void* completion, void* arg) {
  // A librbd thread: only hand the result back to the executor.
  auto* op = static_cast<Operation*>(arg);
  const ssize_t ret = rbd_aio_get_return_value(completion);
  rbd_aio_release(completion);
  IoStatus status;
  if (op->compare && ret == -EILSEQ) {
    status.miscompare = true;
    status.miscompare_offset = op->device->relative_mismatch(op->mismatch, op->offset, op->length);
  } else if (ret < 0) {
    status.error = static_cast<int>(-ret);
  }
  finish(op, status);
}

template <typename Submit>
void RbdBlockDevice::start(Operation* op, Submit&& submit) {
  rbd_completion_t completion = nullptr;
  int ret = rbd_aio_create_completion(op, &RbdBlockDevice::on_complete, &completion);
  if (ret < 0) return finish(op, IoStatus{-ret});
  ret = static_cast<int>(submit(completion));
  if (ret < 0) {
    // Refused before it started: the callback will not run.
    rbd_aio_release(completion);
    finish(op, IoStatus{-ret});
  }
}

void RbdBlockDevice::read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) {
  auto* op = new Operation(*this, executor, std::move(done));
  if (const auto layout = direct_layout_.load(std::memory_order_acquire)) {
    return rbd_direct::read(ioctx_, *layout, offset, dst, [op](IoStatus status) { finish(op, status); });
  }
  start(op, [&](rbd_completion_t c) {
    return rbd_aio_read(image_, offset, dst.size(), reinterpret_cast<char*>(dst.data()), c);  // NOLINT
  });
}

void RbdBlockDevice::write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool /*fua*/,
                           IoCallback done) {
  // No FUA in librbd, and none needed: with rbd_cache=false the completion means durable.
  auto* op = new Operation(*this, executor, std::move(done));
  start(op, [&](rbd_completion_t c) {
    return rbd_aio_write(image_, offset, src.size(), reinterpret_cast<const char*>(src.data()), c);  // NOLINT
  });
}

namespace {

template <typename Byte>
std::vector<iovec> iovecs_of(std::span<const std::span<Byte>> segments) {
  std::vector<iovec> out;
  out.reserve(segments.size());
  for (const auto& s : segments) {
    if (!s.empty()) out.push_back(iovec{const_cast<uint8_t*>(s.data()), s.size()});  // NOLINT: iovecs are not const
  }
  return out;
}

}  // namespace

void RbdBlockDevice::readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) {
  // Reads straight to the objects take one buffer: those go through the interface's bounce.
  if (direct_layout_.load(std::memory_order_acquire)) return BlockDevice::readv(executor, offset, dst, std::move(done));
  auto* op = new Operation(*this, executor, std::move(done));
  op->iov = iovecs_of(dst);
  start(op, [&](rbd_completion_t c) {
    return rbd_aio_readv(image_, op->iov.data(), static_cast<int>(op->iov.size()), offset, c);
  });
}

void RbdBlockDevice::writev(Executor& executor, uint64_t offset, WriteSegments src, bool /*fua*/, IoCallback done) {
  auto* op = new Operation(*this, executor, std::move(done));
  op->iov = iovecs_of(src);
  start(op, [&](rbd_completion_t c) {
    return rbd_aio_writev(image_, op->iov.data(), static_cast<int>(op->iov.size()), offset, c);
  });
}

void RbdBlockDevice::flush(Executor& executor, IoCallback done) {
  auto* op = new Operation(*this, executor, std::move(done));
  start(op, [&](rbd_completion_t c) { return rbd_aio_flush(image_, c); });
}

void RbdBlockDevice::discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  auto* op = new Operation(*this, executor, std::move(done));
  start(op, [&](rbd_completion_t c) { return rbd_aio_discard(image_, offset, length, c); });
}

void RbdBlockDevice::write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  auto* op = new Operation(*this, executor, std::move(done));
  start(op, [&](rbd_completion_t c) { return rbd_aio_write_zeroes(image_, offset, length, c, 0, 0); });
}

void RbdBlockDevice::compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                                       std::span<const uint8_t> replacement, IoCallback done) {
  auto* op = new Operation(*this, executor, std::move(done));
  const uint64_t length = expected.size();
  const uint64_t boundary = info_.atomic_boundary_bytes;
  if (length == 0 || length != replacement.size() || length > info_.max_compare_and_write_bytes ||
      offset / boundary != (offset + length - 1) / boundary) {
    return finish(op, IoStatus{EINVAL});  // never split: it would not be atomic
  }
  op->compare = true;
  op->offset = offset;
  op->length = length;
  start(op, [&](rbd_completion_t c) {
    return rbd_aio_compare_and_write(image_, offset, length, reinterpret_cast<const char*>(expected.data()),  // NOLINT
                                     reinterpret_cast<const char*>(replacement.data()), c,                 // NOLINT
                                     &op->mismatch, 0);
  });
}

uint64_t RbdBlockDevice::object_image_start(uint64_t offset) const {
  // Striper: stripe units go round-robin over stripe_count objects, object_size / stripe_unit
  // units per object, then the next object set.
  const uint64_t unit = offset / layout_.stripe_unit;
  const uint64_t stripe = unit / layout_.stripe_count;
  const uint64_t position = unit % layout_.stripe_count;
  const uint64_t object_set = stripe / (layout_.object_size / layout_.stripe_unit);
  return object_set * layout_.stripe_count * layout_.object_size + position * layout_.stripe_unit;
}

uint64_t RbdBlockDevice::relative_mismatch(uint64_t reported, uint64_t offset, uint64_t length) const {
  // librbd 16.x (ObjectCompareAndWriteRequest::complete) takes the OSD's index into the compare
  // buffer for an offset into the object and maps that to the image: it reports the image
  // offset of the object's first byte plus the index. Measured on 16.2.15: a compare at
  // 4 MiB + 8 KiB whose byte 100 differs reports 4 MiB + 100. Accept an absolute offset too,
  // should a later librbd report one.
  const uint64_t object_start = object_image_start(offset);
  if (reported >= object_start && reported - object_start < length) return reported - object_start;
  if (reported >= offset && reported - offset < length) return reported - offset;
  spdlog::warn("rbd: {}: compare-and-write at {} reported mismatch offset {} outside the range", name_, offset,
               reported);
  return 0;
}

}  // namespace portico::backends
