// What a failed backend I/O means, whichever command set reports it: the backend's errno is
// classified once here, and each command set turns the class into the status that makes a host
// do the right thing — retry here, fail over to another path, or stop and report
// (core/scsi/io_error_sense.h for SCSI sense, core/nvme/io_status.h for NVMe status).
//
//   path lost: ESHUTDOWN (Ceph's EBLOCKLISTED), ENOTCONN, ECONNRESET, ECONNABORTED,
//     ECONNREFUSED, EPIPE, ENETDOWN, ENETUNREACH, ENETRESET, EHOSTDOWN, EHOSTUNREACH, ENOLINK,
//     ETIMEDOUT, ETIME: this gateway cannot reach the backend; another path may.
//   out of space: ENOSPC, EDQUOT.   write protected: EROFS.
//   medium: EIO, EILSEQ, EBADMSG, EUCLEAN.   busy: EAGAIN, EBUSY, EINTR.
//   resources: ENOMEM, ENOBUFS.   internal: anything else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "core/common/log_rate_limiter.h"

namespace portico {

enum class IoFailure : uint8_t {
  path_lost,        // this gateway cannot reach the backend: another path may
  out_of_space,     // the backend's space or quota is exhausted
  write_protected,  // the backend refuses writes
  medium,           // the data could not be read or written
  busy,             // a transient condition here: the same path, a moment later
  resources,        // the gateway ran short of memory
  internal,         // anything the gateway did not expect
};
inline constexpr size_t kIoFailureKinds = 7;

// The class of a failed I/O's `error`, a positive errno.
IoFailure classify_io_error(int error);

// "backend unreachable from this gateway (hosts retry through another path)", for log lines.
const char* io_failure_text(IoFailure failure);

// "errno 108 ESHUTDOWN (Cannot send after transport endpoint shutdown)".
std::string errno_text(int error);

// Log lines for one unit's failed I/O, at most one per kind of failure per second (a lost
// backend fails every command at once); a line says how many it stood for.
class IoErrorLog {
 public:
  // `describe()` returns the command's name ("opcode 2Ah", "NVMe Write") and the status sent; it
  // runs only when a line is written, so a failure storm costs no formatting.
  template <typename Describe>
  void report(const std::string& unit_name, int error, IoFailure failure, Describe&& describe) {
    const auto log = limiters_[static_cast<size_t>(failure)].allow();
    if (!log.write) return;
    const auto [command, answered] = describe();
    write(unit_name, command, error, failure, answered, log.suppressed_before);
  }

 private:
  static void write(const std::string& unit_name, const std::string& command, int error, IoFailure failure,
                    const std::string& answered, uint64_t others);

  std::array<LogRateLimiter, kIoFailureKinds> limiters_;  // one line per second each
};

}  // namespace portico
