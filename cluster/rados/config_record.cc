#include "cluster/rados/config_record.h"

#include <cerrno>
#include <charconv>
#include <vector>

#include "cluster/rados/object_names.h"

namespace portico::cluster::rados {
namespace {

constexpr size_t kMaxRecordBytes = 64u << 20;  // thousands of LUNs stay far below

}  // namespace

Result<ConfigRecord> read_config_record(Pool& pool, const std::string& object) {
  const std::string where = "configuration record " + pool.where(object);
  uint64_t size = 0;
  time_t mtime = 0;
  int ret = rados_stat(pool.ioctx(), object.c_str(), &size, &mtime);
  if (ret == -ENOENT) return ConfigRecord{};
  if (ret < 0) return error(ErrorCode::io_error, where + ": rados_stat: " + ceph::rados_error_text(ret));
  if (size > kMaxRecordBytes) return error(ErrorCode::out_of_range, where + ": " + std::to_string(size) + " bytes is too large");
  // Version and data in one read operation, so that they belong together.
  ConfigRecord record;
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
  if (ret == -ENOENT) return ConfigRecord{};
  if (ret < 0) return error(ErrorCode::io_error, where + ": rados_read_op_operate: " + ceph::rados_error_text(ret));
  if (bytes_read > size) return error(ErrorCode::busy, where + ": changed while it was read; read it again");
  if (version_length != 0) {
    const auto [end, ec] = std::from_chars(version, version + version_length, record.version);
    if (ec != std::errc() || end != version + version_length) {
      return error(ErrorCode::io_error, where + ": xattr " + kVersionXattr + " is not a decimal version");
    }
  }
  record.yaml.assign(data.data(), bytes_read);
  return record;
}

Status write_config_record(Pool& pool, const std::string& object, uint64_t expected_version, const std::string& yaml) {
  const std::string where = "configuration record " + pool.where(object);
  // Version 0 compares equal to an absent xattr, which needs the object: create it first
  // (creating changes no version).
  if (expected_version == 0) {
    rados_write_op_t create = rados_create_write_op();
    rados_write_op_create(create, LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    const int ret = rados_write_op_operate(create, pool.ioctx(), object.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
    rados_release_write_op(create);
    if (ret < 0) return error(ErrorCode::io_error, where + ": rados_write_op_operate (create): " + ceph::rados_error_text(ret));
  }
  const std::string expected = expected_version == 0 ? std::string() : std::to_string(expected_version);
  const std::string next = std::to_string(expected_version + 1);
  rados_write_op_t op = rados_create_write_op();
  rados_write_op_cmpxattr(op, kVersionXattr, LIBRADOS_CMPXATTR_OP_EQ, expected.data(), expected.size());
  rados_write_op_setxattr(op, kVersionXattr, next.data(), next.size());
  rados_write_op_write_full(op, yaml.data(), yaml.size());
  const int ret = rados_write_op_operate(op, pool.ioctx(), object.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
  rados_release_write_op(op);
  if (ret == -ECANCELED || ret == -ENOENT) {
    return error(ErrorCode::busy, where + " is no longer version " + std::to_string(expected_version) +
                                      ": someone else changed it meanwhile");
  }
  if (ret < 0) {
    return error(ErrorCode::io_error,
                 where + ": rados_write_op_operate (cmpxattr+setxattr+write_full): " + ceph::rados_error_text(ret));
  }
  return {};
}

}  // namespace portico::cluster::rados
