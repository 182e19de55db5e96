#include "cluster/rados/reservation_store.h"

#include <charconv>
#include <cstring>
#include <vector>

#include "cluster/rados/object_names.h"

namespace portico::cluster::rados {
namespace {

constexpr size_t kFirstReadBytes = 64 * 1024;  // records are small; a larger one is read again

struct ReadOp {
  std::shared_ptr<Pool> pool;
  std::string lun_key;
  std::string object;
  UniqueFunction<void(Result<VersionedRecord>)> done;
  rados_read_op_t op = nullptr;
  rados_completion_t completion = nullptr;
  std::vector<char> buffer;
  size_t bytes_read = 0;
  int read_rval = 0;
  uint64_t size = 0;
  int stat_rval = 0;
  rados_xattrs_iter_t xattrs = nullptr;
  int xattrs_rval = 0;

  ~ReadOp() {
    if (xattrs != nullptr) rados_getxattrs_end(xattrs);
    if (op != nullptr) rados_release_read_op(op);
    if (completion != nullptr) rados_aio_release(completion);
  }
};

struct WriteOp {
  std::shared_ptr<Pool> pool;
  std::string lun_key;
  std::string object;
  uint64_t expected_version = 0;
  bool created = false;
  std::string bytes;
  std::string expected_text;
  std::string next_text;
  UniqueFunction<void(Status)> done;
  rados_write_op_t op = nullptr;
  rados_completion_t completion = nullptr;

  ~WriteOp() {
    if (op != nullptr) rados_release_write_op(op);
    if (completion != nullptr) rados_aio_release(completion);
  }
};

Result<uint64_t> parse_version(const char* value, size_t length, const std::string& where) {
  uint64_t version = 0;
  const auto [end, ec] = std::from_chars(value, value + length, version);
  if (ec != std::errc() || end != value + length) {
    return error(ErrorCode::io_error, where + ": xattr " + kVersionXattr + " is not a decimal version");
  }
  return version;
}

void start_read(std::unique_ptr<ReadOp> read, size_t buffer_bytes);

void on_read_complete(rados_completion_t, void* arg) {
  std::unique_ptr<ReadOp> read(static_cast<ReadOp*>(arg));
  const std::string where = "lun " + read->lun_key + ": " + read->pool->where(read->object);
  const int ret = rados_aio_get_return_value(read->completion);
  if (ret == -ENOENT) return read->done(VersionedRecord{});  // never written, never subscribed
  if (ret < 0) {
    return read->done(error(ErrorCode::io_error,
                            where + ": rados_aio_read_op_operate (getxattrs+read): " + ceph::rados_error_text(ret)));
  }
  if (read->size > read->buffer.size()) {  // grew beyond the first read: read it whole, again
    const size_t size = read->size;
    auto again = std::make_unique<ReadOp>();
    again->pool = std::move(read->pool);
    again->lun_key = std::move(read->lun_key);
    again->object = std::move(read->object);
    again->done = std::move(read->done);
    return start_read(std::move(again), size);
  }
  VersionedRecord record;
  const char* name = nullptr;
  const char* value = nullptr;
  size_t length = 0;
  while (rados_getxattrs_next(read->xattrs, &name, &value, &length) == 0 && name != nullptr) {
    if (std::strcmp(name, kVersionXattr) != 0) continue;
    auto version = parse_version(value, length, where);
    if (!version.ok()) return read->done(version.status());
    record.version = *version;
  }
  record.bytes.assign(read->buffer.data(), read->bytes_read);
  read->done(std::move(record));
}

void start_read(std::unique_ptr<ReadOp> read, size_t buffer_bytes) {
  read->buffer.resize(buffer_bytes);
  read->op = rados_create_read_op();
  rados_read_op_stat(read->op, &read->size, nullptr, &read->stat_rval);
  rados_read_op_getxattrs(read->op, &read->xattrs, &read->xattrs_rval);
  rados_read_op_read(read->op, 0, read->buffer.size(), read->buffer.data(), &read->bytes_read, &read->read_rval);
  rados_aio_create_completion2(read.get(), on_read_complete, &read->completion);
  const int ret = rados_aio_read_op_operate(read->op, read->pool->ioctx(), read->completion, read->object.c_str(),
                                            LIBRADOS_OPERATION_NOFLAG);
  if (ret < 0) {
    read->done(error(ErrorCode::io_error, "lun " + read->lun_key + ": " + read->pool->where(read->object) +
                                              ": rados_aio_read_op_operate: " + ceph::rados_error_text(ret)));
    return;
  }
  read.release();  // owned by the completion now
}

void submit_write(std::unique_ptr<WriteOp> write);

// Version 0 on an object that does not exist yet (never subscribed): the compare fails with
// ENOENT even after a create in the same operation, so the object is created on its own first
// (creating changes no version) and the guarded write is sent again.
void on_created(rados_completion_t, void* arg) {
  std::unique_ptr<WriteOp> write(static_cast<WriteOp*>(arg));
  const int ret = rados_aio_get_return_value(write->completion);
  if (ret < 0) {
    return write->done(error(ErrorCode::io_error, "lun " + write->lun_key + ": " + write->pool->where(write->object) +
                                                      ": rados_aio_write_op_operate (create): " +
                                                      ceph::rados_error_text(ret)));
  }
  submit_write(std::move(write));
}

void on_write_complete(rados_completion_t, void* arg) {
  std::unique_ptr<WriteOp> write(static_cast<WriteOp*>(arg));
  const int ret = rados_aio_get_return_value(write->completion);
  const std::string where = "lun " + write->lun_key + ": " + write->pool->where(write->object);
  if (ret == -ENOENT && write->expected_version == 0 && !write->created) {
    write->created = true;
    rados_release_write_op(write->op);
    rados_aio_release(write->completion);
    write->op = rados_create_write_op();
    rados_write_op_create(write->op, LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    rados_aio_create_completion2(write.get(), on_created, &write->completion);
    const int submitted = rados_aio_write_op_operate(write->op, write->pool->ioctx(), write->completion,
                                                     write->object.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
    if (submitted < 0) {
      return write->done(error(ErrorCode::io_error, where + ": rados_aio_write_op_operate (create): " +
                                                        ceph::rados_error_text(submitted)));
    }
    write.release();  // owned by the completion now
    return;
  }
  if (ret == -ECANCELED || ret == -ENOENT) {
    return write->done(error(ErrorCode::busy, where + ": reservation record is no longer version " +
                                                  std::to_string(write->expected_version)));
  }
  if (ret < 0) {
    return write->done(error(ErrorCode::io_error, where + ": rados_aio_write_op_operate (cmpxattr+setxattr+write_full): " +
                                                      ceph::rados_error_text(ret)));
  }
  write->done(Status{});
}

void submit_write(std::unique_ptr<WriteOp> write) {
  if (write->op != nullptr) rados_release_write_op(write->op);
  if (write->completion != nullptr) rados_aio_release(write->completion);
  write->op = rados_create_write_op();
  rados_write_op_cmpxattr(write->op, kVersionXattr, LIBRADOS_CMPXATTR_OP_EQ, write->expected_text.data(),
                          write->expected_text.size());
  rados_write_op_setxattr(write->op, kVersionXattr, write->next_text.data(), write->next_text.size());
  rados_write_op_write_full(write->op, write->bytes.data(), write->bytes.size());
  rados_aio_create_completion2(write.get(), on_write_complete, &write->completion);
  const int ret = rados_aio_write_op_operate(write->op, write->pool->ioctx(), write->completion,
                                             write->object.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
  if (ret < 0) {
    write->done(error(ErrorCode::io_error, "lun " + write->lun_key + ": " + write->pool->where(write->object) +
                                               ": rados_aio_write_op_operate: " + ceph::rados_error_text(ret)));
    return;
  }
  write.release();  // owned by the completion now
}

}  // namespace

void ReservationStore::read(const std::string& lun_key, UniqueFunction<void(Result<VersionedRecord>)> done) {
  auto read = std::make_unique<ReadOp>();
  read->pool = pool_;
  read->lun_key = lun_key;
  read->object = lun_object_name(lun_key);
  read->done = std::move(done);
  start_read(std::move(read), kFirstReadBytes);
}

void ReservationStore::write(const std::string& lun_key, uint64_t expected_version, std::string bytes,
                             UniqueFunction<void(Status)> done) {
  auto write = std::make_unique<WriteOp>();
  write->pool = pool_;
  write->lun_key = lun_key;
  write->object = lun_object_name(lun_key);
  write->expected_version = expected_version;
  write->bytes = std::move(bytes);
  // Version 0 = the xattr is absent: a missing xattr compares equal to the empty string (the
  // version is never stored as "0").
  write->expected_text = expected_version == 0 ? std::string() : std::to_string(expected_version);
  write->next_text = std::to_string(expected_version + 1);
  write->done = std::move(done);
  submit_write(std::move(write));
}

}  // namespace portico::cluster::rados
