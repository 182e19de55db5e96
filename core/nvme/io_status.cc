#include "core/nvme/io_status.h"

namespace portico::nvme {

CompletionStatus io_failure_status(IoFailure failure, bool write) {
  switch (failure) {
    case IoFailure::path_lost: return PathStatus::internal_path_error;
    case IoFailure::out_of_space: return CompletionStatus(GenericStatus::capacity_exceeded).no_retry();
    case IoFailure::write_protected: return CompletionStatus(GenericStatus::namespace_write_protected).no_retry();
    case IoFailure::medium:
      return write ? CompletionStatus(MediaStatus::write_fault)
                   : CompletionStatus(MediaStatus::unrecovered_read_error).no_retry();
    case IoFailure::busy:
    case IoFailure::resources: return GenericStatus::command_interrupted;
    case IoFailure::internal: break;
  }
  return CompletionStatus(GenericStatus::internal_error).no_retry();
}

}  // namespace portico::nvme
