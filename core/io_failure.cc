#include "core/io_failure.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace portico {

IoFailure classify_io_error(int error) {
  switch (error) {
    // The gateway lost its way to the backend; another gateway may still have one. Ceph's
    // EBLOCKLISTED is ESHUTDOWN: every later operation of a fenced client fails with it.
    case ESHUTDOWN:
    case ENOTCONN:
    case ECONNRESET:
    case ECONNABORTED:
    case ECONNREFUSED:
    case EPIPE:
    case ENETDOWN:
    case ENETUNREACH:
    case ENETRESET:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENOLINK:
    case ETIMEDOUT:
    case ETIME:
      return IoFailure::path_lost;
    case ENOSPC:
    case EDQUOT:
      return IoFailure::out_of_space;
    case EROFS:
      return IoFailure::write_protected;
    case EIO:
    case EILSEQ:
    case EBADMSG:
    case EUCLEAN:
      return IoFailure::medium;
    case EAGAIN:
    case EBUSY:
    case EINTR:
      return IoFailure::busy;
    case ENOMEM:
    case ENOBUFS:
      return IoFailure::resources;
    default:
      return IoFailure::internal;
  }
}

const char* io_failure_text(IoFailure failure) {
  switch (failure) {
    case IoFailure::path_lost: return "backend unreachable from this gateway (hosts retry through another path)";
    case IoFailure::out_of_space: return "backend out of space";
    case IoFailure::write_protected: return "backend write protected";
    case IoFailure::medium: return "medium error";
    case IoFailure::busy: return "backend busy (hosts retry)";
    case IoFailure::resources: return "out of memory (hosts retry with fewer commands)";
    case IoFailure::internal: return "unexpected backend error";
  }
  return "unexpected backend error";
}

std::string errno_text(int error) {
  const char* name = strerrorname_np(error);  // glibc 2.32
  return "errno " + std::to_string(error) + " " + (name != nullptr ? name : "?") + " (" +
         std::generic_category().message(error) + ")";
}

void IoErrorLog::write(const std::string& unit_name, const std::string& command, int error, IoFailure failure,
                       const std::string& answered, uint64_t others) {
  spdlog::error("{}: backend I/O of {} failed: {}: {}; answered {}{}", unit_name, command, errno_text(error),
                io_failure_text(failure), answered,
                others == 0 ? std::string() : fmt::format(" ({} more like it in the last second)", others));
}

}  // namespace portico
