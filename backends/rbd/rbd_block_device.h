// A LUN backed by a Ceph RBD image, written by every gateway at once through librbd's
// asynchronous API.
//
// - Multi-writer: no client-side state may hide another gateway's writes. The image must not
//   have the exclusive-lock feature (the lock would bounce between gateways on every write), and
//   librbd's cache must be off. open() sets rbd_cache=false and rbd_skip_partial_discard=false on
//   the shared RadosConnection (rados_conf_set, before rbd_open; a gateway wants them for every
//   image), then checks the image's effective configuration, because a pool or image override
//   (`rbd config image set ...`) would win over the connection's value.
// - Durability: with the cache off librbd acknowledges a write once the OSDs have it on stable
//   storage, so there is no volatile cache (no FUA exists in librbd, none is needed).
// - Completions arrive on librbd's threads; they only post `done` to the caller's executor.
// - COMPARE AND WRITE is librbd's compare-and-write: one OSD operation (cmpext + write), atomic
//   against every gateway. librbd 16.x accepts it only within one 512-byte sector of one object,
//   so info().atomic_boundary_bytes is 512 and a 4096-byte-block LUN offers none.
// - Capacity: a header watch re-reads the size when another client resizes the image and tells
//   the capacity listener.
// - GET LBA STATUS: allocation() asks librbd which objects hold data, on a worker thread (a
//   round trip per object without the object map), see rbd_allocation.cc.
// - WRITE ATOMIC: a write inside one object is one OSD operation; info() offers writes of up
//   to one aligned stripe unit (at most 64 KiB).
// - Reads go straight to the image's objects when that is exact (rbd_direct_read.h), re-checked
//   whenever the header changes; otherwise through librbd.
// - Errors: an operation's status carries librbd's / librados' errno unchanged; the core turns
//   it into the sense (core/scsi/io_error_sense.h). One errno means more here: ESHUTDOWN is
//   Ceph's EBLOCKLISTED, this client was fenced by another gateway, and the blocklisted
//   listener hears it so that the gateway stops serving (as the cluster state does).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "backends/rbd/rbd_direct_read.h"
#include "ceph/rados_connection.h"
#include "ceph/work_queue.h"
#include "core/block_device.h"
#include "core/common/result.h"

namespace portico::backends {

struct RbdOptions {
  std::string pool;
  std::string image;
  uint32_t block_size = 512;
  uint32_t physical_block_size = 4096;
};

class RbdBlockDevice final : public BlockDevice {
 public:
  // Errors name the image: "rbd image rbd/disk1: ...".
  static Result<std::shared_ptr<RbdBlockDevice>> open(std::shared_ptr<ceph::RadosConnection> connection,
                                                      const RbdOptions& options);
  // Waits for the requests in flight, stops the header watch, closes the image.
  ~RbdBlockDevice() override;
  // From now on, a device destroyed leaves its image open for the process's exit to end (its
  // client too: RadosConnection::leave_open_at_exit). librbd 16's rbd_close costs time in
  // proportion to the images its client has open (each close walks every image's configuration
  // observers), so closing thousands one by one takes minutes; a gateway that stops with that
  // many lets the exit end them, and the next start blocklists this client, dropping its watches.
  static void leave_open_at_exit();
  RbdBlockDevice(const RbdBlockDevice&) = delete;
  RbdBlockDevice& operator=(const RbdBlockDevice&) = delete;

  [[nodiscard]] const BlockDeviceInfo& info() const override { return info_; }
  [[nodiscard]] uint64_t capacity_bytes() const override { return capacity_.load(std::memory_order_acquire); }

  void read(Executor& executor, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override;
  void write(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override;
  // librbd's readv / writev on the segments (reads straight to the objects: the bounce default).
  void readv(Executor& executor, uint64_t offset, ReadSegments dst, IoCallback done) override;
  void writev(Executor& executor, uint64_t offset, WriteSegments src, bool fua, IoCallback done) override;
  void flush(Executor& executor, IoCallback done) override;
  void discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void write_zeroes(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) override;
  void compare_and_write(Executor& executor, uint64_t offset, std::span<const uint8_t> expected,
                         std::span<const uint8_t> replacement, IoCallback done) override;
  void write_atomic(Executor& executor, uint64_t offset, std::span<const uint8_t> src, bool fua,
                    IoCallback done) override;
  void allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                  AllocationCallback done) override;

  // Called (on a librbd thread) with the new capacity when the image's size changes. Thread-safe;
  // an empty function removes the listener.
  void set_capacity_listener(std::function<void(uint64_t new_bytes)> listener);
  // Told once (on a librbd or librados thread) when an operation fails with EBLOCKLISTED: this
  // gateway's RADOS client is fenced and nothing it sends reaches the OSDs any more. Set before
  // the device serves.
  void set_blocklisted_listener(std::function<void(const std::string& why)> listener);

  // "pool/image", for messages.
  [[nodiscard]] const std::string& name() const { return name_; }
  // True while reads go straight to the image's objects (rbd_direct_read.h).
  [[nodiscard]] bool reads_go_to_objects() const { return direct_layout_.load(std::memory_order_acquire) != nullptr; }

 private:
  struct Layout {
    uint64_t size = 0;
    uint64_t object_size = 0;
    uint64_t stripe_unit = 0;
    uint64_t stripe_count = 1;
  };
  struct Operation;
  struct InFlight;

  RbdBlockDevice(std::shared_ptr<ceph::RadosConnection> connection, rados_ioctx_t ioctx, void* image,
                 std::string name, const RbdOptions& options, const Layout& layout, const std::string& image_id);

  static void on_complete(void* completion, void* arg);
  static void on_header_update(void* arg);
  // Recomputes whether reads may go straight to the objects (open and header changes).
  void refresh_direct_reads();
  // Starts an operation: `submit` calls an rbd_aio_* function with the completion.
  template <typename Submit>
  void start(Operation* op, Submit&& submit);
  // Posts op's `done` with `status` to its executor and frees op.
  static void finish(Operation* op, IoStatus status);
  // Ceph's EBLOCKLISTED (include/compat.h): every operation of a fenced client fails with it.
  static constexpr int kBlocklisted = ESHUTDOWN;
  // Tells the blocklisted listener (once) when `error`, an operation's errno, is EBLOCKLISTED.
  void note_error(int error);
  [[nodiscard]] uint64_t object_image_start(uint64_t offset) const;
  [[nodiscard]] uint64_t relative_mismatch(uint64_t reported, uint64_t offset, uint64_t length) const;

  std::shared_ptr<ceph::RadosConnection> connection_;  // outlives the ioctx and the image
  rados_ioctx_t ioctx_;
  void* image_;  // rbd_image_t (librbd stays out of this header)
  std::string name_;
  Layout layout_;
  BlockDeviceInfo info_;
  std::atomic<uint64_t> capacity_;
  std::shared_ptr<InFlight> in_flight_;
  // Allocation queries (no asynchronous form in librbd), on the connection's shared threads.
  std::unique_ptr<ceph::WorkQueue> worker_;
  uint64_t watch_handle_ = 0;
  bool watching_ = false;
  std::mutex listener_mutex_;
  std::function<void(uint64_t)> capacity_listener_;
  std::function<void(const std::string&)> blocklisted_listener_;
  std::atomic<bool> blocklisted_reported_{false};
  // Set while direct reads are exact; swapped by refresh_direct_reads on a librbd thread.
  std::atomic<std::shared_ptr<const rbd_direct::ObjectLayout>> direct_layout_;
};

}  // namespace portico::backends
