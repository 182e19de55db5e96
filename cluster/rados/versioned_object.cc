#include "cluster/rados/versioned_object.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <vector>

#include "cluster/rados/object_names.h"

namespace portico::cluster::rados {
namespace {

constexpr size_t kMaxObjectBytes = 64u << 20;  // a configuration of thousands of LUNs stays far below

}  // namespace

Result<VersionedObject> read_versioned_object(Pool& pool, const std::string& object, const std::string& what) {
  const std::string where = what + " " + pool.where(object);
  uint64_t size = 0;
  time_t mtime = 0;
  int ret = rados_stat(pool.ioctx(), object.c_str(), &size, &mtime);
  if (ret == -ENOENT) return VersionedObject{};
  if (ret < 0) return error(ErrorCode::io_error, where + ": rados_stat: " + ceph::rados_error_text(ret));
  if (size > kMaxObjectBytes) return error(ErrorCode::out_of_range, where + ": " + std::to_string(size) + " bytes is too large");
  // Version and data in one read operation, so that they belong together.
  VersionedObject record;
  record.exists = true;
  std::vector<char> data(size + 1);  // one more: a record that grew since the stat shows as such
  size_t bytes_read = 0;
  int read_rval = 0;
  char version[32] = {};
  size_t version_length = 0;
  int xattr_rval = 0;
  rados_xattrs_iter_t xattrs = nullptr;
  rados_read_op_t op = rados_create_read_op();
  rados_read_op_getxattrs(op, &xattrs, &xattr_rval);
  rados_read_op_read(op, 0, data.size(), data.data(), &bytes_read, &read_rval);
  ret = rados_read_op_operate(op, pool.ioctx(), object.c_str(), LIBRADOS_OPERATION_NOFLAG);
  rados_release_read_op(op);
  if (ret == 0 && xattrs != nullptr) {
    const char* name = nullptr;
    const char* value = nullptr;
    size_t length = 0;
    while (rados_getxattrs_next(xattrs, &name, &value, &length) == 0 && name != nullptr) {
      if (std::string_view(name) != kVersionXattr || length >= sizeof(version)) continue;
      std::copy(value, value + length, version);
      version_length = length;
    }
  }
  if (xattrs != nullptr) rados_getxattrs_end(xattrs);
  if (ret == -ENOENT) return VersionedObject{};
  if (ret < 0) return error(ErrorCode::io_error, where + ": rados_read_op_operate: " + ceph::rados_error_text(ret));
  if (bytes_read > size) return error(ErrorCode::busy, where + ": changed while it was read; read it again");
  if (version_length != 0) {
    const auto [end, ec] = std::from_chars(version, version + version_length, record.version);
    if (ec != std::errc() || end != version + version_length) {
      return error(ErrorCode::io_error, where + ": xattr " + kVersionXattr + " is not a decimal version");
    }
  }
  record.data.assign(data.data(), bytes_read);
  return record;
}

}  // namespace portico::cluster::rados
