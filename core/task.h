// A command as the shared core tracks it, whichever command set it belongs to (a SCSI task, an
// NVMe command): its tag, who sent it, and the core's bookkeeping for the unit's task set and
// aborts (task_set.h). Each command set's command type extends it (core/scsi/scsi_task.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/unique_function.h"
#include "core/executor.h"
#include "core/initiator.h"

namespace portico {

class Task;

// Runs when every task an abort (a task management function, PREEMPT AND ABORT, a reset) covers
// has ended.
struct AbortWaiter {
  std::atomic<size_t> remaining{1};  // 1 = the abort itself, until it has marked every task
  Executor* executor = nullptr;
  UniqueFunction<void()> done;

  void release() {
    if (remaining.fetch_sub(1) == 1) executor->post(std::move(done));
  }
};

// The core's bookkeeping for a task it is executing. Front-ends never touch it.
struct TaskCoreState {
  // Who sent the task, and its Initiator::key() as the command set keeps it: the key's address
  // is the same for every task of one initiator port (a SCSI nexus, an NVMe controller's host),
  // so a task management function finds its own tasks by comparing addresses.
  const Initiator* initiator = nullptr;
  const std::string* initiator_key = nullptr;
  Executor* executor = nullptr;
  UniqueFunction<void()> done;
  // Task set links: in the list of the executor's loop slot (touched only on that loop), or in
  // the task set's locked list when `loop` is UnitLoopSlots::kNone (unit_loop_slots.h).
  Task* prev = nullptr;
  Task* next = nullptr;
  uint16_t loop = UINT16_MAX;
  // The abort epoch when the task was linked: an abort recorded later does not cover it (it
  // arrived after the abort), even if the abort reaches its loop after it was linked.
  uint64_t link_epoch = 0;
  bool aborted = false;
  bool aborted_by_own_initiator = false;  // by its own initiator's function: it ends silently
  // The abort epoch when the command arrived (before its data): aborts recorded after it cover
  // the task even though it waited for data outside the task set.
  bool admitted = false;
  uint64_t arrival_abort_epoch = 0;
  int64_t admitted_ns = 0;  // steady clock when the unit admitted it (its latency starts there)
  std::vector<std::shared_ptr<AbortWaiter>> waiters;  // aborts waiting for it to end
};

class Task {
 public:
  uint64_t tag = 0;  // the command's tag (iSCSI ITT, NVMe CID with its queue)
  TaskCoreState core;
};

}  // namespace portico
