// SAM-5 7: task management functions and their service responses.
#pragma once

#include <cstdint>

namespace portico::scsi {

enum class TmfFunction : uint8_t {
  abort_task,
  abort_task_set,
  clear_aca,
  clear_task_set,
  logical_unit_reset,
  i_t_nexus_reset,
  target_warm_reset,
  target_cold_reset,
  query_task,
  query_task_set,
  query_async_event,
};

enum class TmfResponse : uint8_t {
  function_complete,
  function_succeeded,   // QUERY TASK / QUERY TASK SET / QUERY ASYNCHRONOUS EVENT: found
  function_rejected,
  task_does_not_exist,  // ABORT TASK for an unknown tag (completed already)
  lun_does_not_exist,
  function_not_supported,
  authorization_failed,
};

}  // namespace portico::scsi
