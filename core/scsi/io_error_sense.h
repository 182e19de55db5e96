// What a failed backend I/O answers. The backend's errno keeps its meaning: it becomes the
// status and sense that make a host do the right thing (retry here, fail over to another path,
// or stop and report), and the log line names it. Every command that reaches the backend fails
// through LogicalUnit::fail_io(), which asks io_error_answer(); nothing else picks a sense for
// a backend error.
//
// The errno's class is the core's (core/io_failure.h). The answers, and what a Linux host does
// with each (SCSI midlayer, scsi_dh_alua, dm-multipath; the reasons are in io_error_sense.cc):
//
//   path lost: ESHUTDOWN (Ceph's EBLOCKLISTED), ENOTCONN, ECONNRESET, ECONNABORTED,
//     ECONNREFUSED, EPIPE, ENETDOWN, ENETUNREACH, ENETRESET, EHOSTDOWN, EHOSTUNREACH, ENOLINK
//     -> NOT READY, LOGICAL UNIT COMMUNICATION FAILURE (08/00); ETIMEDOUT, ETIME -> NOT READY,
//     LOGICAL UNIT COMMUNICATION TIME-OUT (08/01). The host fails the path at once and retries
//     the I/O on another one.
//   out of space: ENOSPC, EDQUOT -> DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (27/07).
//     The I/O fails with ENOSPC ("critical space allocation"); no other path is tried.
//   write protected: EROFS -> DATA PROTECT, WRITE PROTECTED (27/00). The I/O fails, no failover.
//   medium: EIO, EILSEQ, EBADMSG, EUCLEAN -> MEDIUM ERROR, UNRECOVERED READ ERROR (11/00) for a
//     read, WRITE ERROR (0C/00) for a write. A read fails at once (critical medium error); a
//     write is retried, then its path failed.
//   busy: EAGAIN, EBUSY, EINTR -> BUSY. Retried on the same path.
//   resources: ENOMEM, ENOBUFS -> TASK SET FULL. The host lowers its queue depth and retries.
//   internal: anything else -> HARDWARE ERROR, INTERNAL TARGET FAILURE (44/00). The I/O fails,
//     no failover.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/io_failure.h"
#include "core/scsi/scsi_status.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

// Which way the failed access went, where the sense differs (MEDIUM ERROR: read or write).
enum class IoDirection : uint8_t { read, write };

struct IoErrorAnswer {
  IoFailure failure = IoFailure::internal;
  ScsiStatus status = ScsiStatus::check_condition;  // check_condition, busy or task_set_full
  std::optional<SenseData> sense;                   // with check_condition only
};

// The answer to an I/O that failed with `error`, a positive errno.
IoErrorAnswer io_error_answer(int error, IoDirection direction);

}  // namespace portico::scsi
