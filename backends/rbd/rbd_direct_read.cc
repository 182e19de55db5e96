#include "backends/rbd/rbd_direct_read.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace portico::backends::rbd_direct {
namespace {

// One read split over objects; the last piece to complete reports.
struct SplitRead {
  IoCallback done;
  std::atomic<uint32_t> remaining{0};
  std::atomic<int> error{0};

  void piece_done(int error_code) {
    if (error_code != 0) {
      int none = 0;
      error.compare_exchange_strong(none, error_code, std::memory_order_acq_rel);
    }
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    IoStatus status;
    status.error = error.load(std::memory_order_acquire);
    auto callback = std::move(done);
    delete this;  // NOLINT: the last piece owns the split read
    callback(status);
  }
};

struct Piece {
  SplitRead* read = nullptr;
  std::span<uint8_t> dst;
  rados_completion_t completion = nullptr;
};

void on_piece_complete(rados_completion_t completion, void* arg) {
  std::unique_ptr<Piece> piece(static_cast<Piece*>(arg));
  const int ret = rados_aio_get_return_value(completion);
  rados_aio_release(completion);
  int error_code = 0;
  if (ret == -ENOENT) {
    std::memset(piece->dst.data(), 0, piece->dst.size());  // never written: zeroes
  } else if (ret < 0) {
    error_code = -ret;
  } else if (static_cast<size_t>(ret) < piece->dst.size()) {
    // The object ends before the range does (never written that far): zeroes.
    std::memset(piece->dst.data() + ret, 0, piece->dst.size() - static_cast<size_t>(ret));
  }
  piece->read->piece_done(error_code);
}

}  // namespace

std::optional<ObjectLayout> direct_read_layout(rbd_image_t image, rados_ioctx_t ioctx, std::string* why) {
  uint64_t object_size = 0;
  uint64_t stripe_unit = 0;
  uint64_t stripe_count = 0;
  uint64_t op_features = 0;
  uint64_t features = 0;
  char prefix[128] = {};
  if (rbd_get_stripe_unit(image, &stripe_unit) < 0 || rbd_get_stripe_count(image, &stripe_count) < 0 ||
      rbd_get_op_features(image, &op_features) < 0 || rbd_get_features(image, &features) < 0 ||
      rbd_get_block_name_prefix(image, prefix, sizeof prefix) < 0) {
    *why = "its layout cannot be read";
    return std::nullopt;
  }
  rbd_image_info_t info{};
  if (rbd_stat(image, &info, sizeof info) < 0) {
    *why = "its layout cannot be read";
    return std::nullopt;
  }
  object_size = info.obj_size;
  if (stripe_count != 1 || stripe_unit != object_size || object_size == 0 ||
      (object_size & (object_size - 1)) != 0) {
    *why = "it is striped";
    return std::nullopt;
  }
  if (std::strncmp(prefix, "rbd_data.", 9) != 0) {
    *why = "it is not a format 2 image";
    return std::nullopt;
  }
  if (rbd_get_data_pool_id(image) != rados_ioctx_get_id(ioctx)) {
    *why = "its data lives in another pool";
    return std::nullopt;
  }
  // A block may live elsewhere than in this image's own object: in a clone v2 child's parent, or
  // in a migration target's source.
  if ((op_features & RBD_OPERATION_FEATURE_CLONE_CHILD) != 0 || (features & RBD_FEATURE_MIGRATING) != 0) {
    *why = "it is a clone or being migrated";
    return std::nullopt;
  }
  rbd_linked_image_spec_t parent{};
  rbd_snap_spec_t parent_snap{};
  const int parent_ret = rbd_get_parent(image, &parent, &parent_snap);
  if (parent_ret == 0) {
    rbd_linked_image_spec_cleanup(&parent);
    rbd_snap_spec_cleanup(&parent_snap);
    *why = "it is a clone";
    return std::nullopt;
  }
  if (parent_ret != -ENOENT) {
    *why = "its parent cannot be read";
    return std::nullopt;
  }
  return ObjectLayout{prefix, object_size};
}

std::string object_name(const ObjectLayout& layout, uint64_t object_number) {
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, ".%016" PRIx64, object_number);
  return layout.prefix + suffix;
}

std::vector<ObjectExtent> object_extents(uint64_t offset, uint64_t length, uint64_t object_size) {
  std::vector<ObjectExtent> extents;
  for (uint64_t done = 0; done < length;) {
    const uint64_t at = offset + done;
    const uint64_t in_object = at & (object_size - 1);
    const uint64_t part = std::min(length - done, object_size - in_object);
    extents.push_back({at / object_size, in_object, done, part});
    done += part;
  }
  return extents;
}

void read(rados_ioctx_t ioctx, const ObjectLayout& layout, uint64_t offset, std::span<uint8_t> dst,
          IoCallback done) {
  const auto extents = object_extents(offset, dst.size(), layout.object_size);
  auto* split = new SplitRead;  // NOLINT: freed by its last piece
  split->done = std::move(done);
  split->remaining.store(static_cast<uint32_t>(extents.empty() ? 1 : extents.size()), std::memory_order_release);
  if (extents.empty()) return split->piece_done(0);
  for (const auto& extent : extents) {
    auto piece = std::make_unique<Piece>();
    piece->read = split;
    piece->dst = dst.subspan(extent.buffer_offset, extent.length);
    int ret = rados_aio_create_completion2(piece.get(), &on_piece_complete, &piece->completion);
    if (ret == 0) {
      const std::string oid = object_name(layout, extent.object);
      ret = rados_aio_read(ioctx, oid.c_str(), piece->completion, reinterpret_cast<char*>(piece->dst.data()),  // NOLINT
                           piece->dst.size(), extent.object_offset);
      if (ret == 0) {
        piece.release();  // owned by its completion now
        continue;
      }
      rados_aio_release(piece->completion);
    }
    split->piece_done(-ret);  // refused before it started: no callback will come
  }
}

}  // namespace portico::backends::rbd_direct
