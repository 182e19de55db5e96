// Reads that go straight to the image's RADOS objects instead of through librbd. A read of the
// image's head is a plain object read when every block lives in exactly one object of the
// image's own pool: no parent image to fall back to, no migration source, no fancy striping, and
// a format-2 data object name. librbd's dispatch layers and its completion thread are then
// skipped (about a sixth of a 4 KiB read's time on the micro cluster). Writes always go through
// librbd, which owns snapshot contexts and every other write-side rule. Private to backends/rbd.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "core/block_device.h"

namespace portico::backends::rbd_direct {

// Where an image's data objects are, when a direct read is exact.
struct ObjectLayout {
  std::string prefix;        // "rbd_data.<id>": objects are "<prefix>.<16 hex digits>"
  uint64_t object_size = 0;  // a power of two
};

// The layout when direct reads are exact for `image` (opened in `ioctx`), or nullopt with the
// reason in `why`. Called again when the header changes (a clone flattened, a migration begun).
std::optional<ObjectLayout> direct_read_layout(rbd_image_t image, rados_ioctx_t ioctx, std::string* why);

// "<prefix>.<object number, 16 hex digits>".
std::string object_name(const ObjectLayout& layout, uint64_t object_number);

// One object's part of a read.
struct ObjectExtent {
  uint64_t object = 0;         // object number
  uint64_t object_offset = 0;  // where in the object
  uint64_t buffer_offset = 0;  // where in the caller's buffer
  uint64_t length = 0;

  bool operator==(const ObjectExtent&) const = default;
};

// [offset, offset + length) cut at object boundaries (object_size a power of two), in order.
std::vector<ObjectExtent> object_extents(uint64_t offset, uint64_t length, uint64_t object_size);

// Reads [offset, offset + dst.size()) with one rados_aio_read per object touched; an object that
// does not exist or ends early reads as zeroes. `done` runs once, on a librados thread, with the
// first error (or none).
void read(rados_ioctx_t ioctx, const ObjectLayout& layout, uint64_t offset, std::span<uint8_t> dst,
          IoCallback done);

}  // namespace portico::backends::rbd_direct
