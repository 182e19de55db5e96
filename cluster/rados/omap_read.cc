#include "cluster/rados/omap_read.h"

#include <cerrno>

namespace portico::cluster::rados {

Result<OmapEntries> read_omap(Pool& pool, const std::string& object, uint64_t max_entries) {
  rados_read_op_t op = rados_create_read_op();
  rados_omap_iter_t iter = nullptr;
  unsigned char more = 0;
  int omap_rval = 0;
  rados_read_op_omap_get_vals2(op, "", "", max_entries, &iter, &more, &omap_rval);
  const int ret = rados_read_op_operate(op, pool.ioctx(), object.c_str(), LIBRADOS_OPERATION_NOFLAG);
  OmapEntries out;
  out.version = rados_get_last_version(pool.ioctx());
  if (ret == 0) {
    char* key = nullptr;
    char* value = nullptr;
    size_t key_length = 0;
    size_t value_length = 0;
    while (rados_omap_get_next2(iter, &key, &value, &key_length, &value_length) == 0 && key != nullptr) {
      out.entries.emplace(std::string(key, key_length), std::string(value, value_length));
    }
    out.more = more != 0;
  }
  // librados made the iterator when the operation was set up: freed whatever the result.
  if (iter != nullptr) rados_omap_get_end(iter);
  rados_release_read_op(op);
  if (ret == -ENOENT) return out;
  if (ret < 0) {
    return error(ErrorCode::io_error,
                 pool.where(object) + ": rados_read_op_operate (omap_get_vals2): " + ceph::rados_error_text(ret));
  }
  return out;
}

}  // namespace portico::cluster::rados
