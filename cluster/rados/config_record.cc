#include "cluster/rados/config_record.h"

#include <cerrno>

#include "cluster/rados/object_names.h"

namespace portico::cluster::rados {
Result<VersionedObject> read_config_record(Pool& pool, const std::string& object) {
  return read_versioned_object(pool, object, "configuration record");
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
