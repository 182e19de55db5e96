// The NVMe status of a failed backend I/O (core/io_failure.h classifies the errno). What a Linux
// host does with each (drivers/nvme/host/core.c nvme_decide_disposition, nvme_error_status;
// multipath.c nvme_failover_req):
//   path lost      -> Internal Path Error (path SCT 3h): a multipath host retries the I/O through
//                     another controller at once (every path status does).
//   out of space   -> Capacity Exceeded, DNR: BLK_STS_NOSPC, no retry.
//   write protect  -> Namespace Is Write Protected, DNR: the I/O fails.
//   medium         -> Unrecovered Read Error (read, DNR: fails at once) / Write Fault (write:
//                     retried, then failed).
//   busy, memory   -> Command Interrupted: retried on the same path.
//   internal       -> Internal Error, DNR: the I/O fails, no failover.
#pragma once

#include "core/io_failure.h"
#include "core/nvme/status.h"

namespace portico::nvme {

CompletionStatus io_failure_status(IoFailure failure, bool write);

}  // namespace portico::nvme
