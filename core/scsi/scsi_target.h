// The front-ends' single entry point into SCSI semantics: a target's set of logical units as seen
// through its ports. A front-end attaches each I_T nexus once (at login), then submits commands and
// task management functions for it; the core decides everything else (unit attentions,
// reservation conflicts, sense data, aborts).
//
// Threading: a ScsiTarget is shared by every event loop. execute() and task_management() are called
// on the loop that owns the connection and complete on that loop's Executor.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/common/unique_function.h"
#include "core/executor.h"
#include "core/scsi/it_nexus.h"
#include "core/scsi/scsi_task.h"
#include "core/scsi/task_management.h"

namespace portico::scsi {

class LogicalUnit;
class NexusState;  // the core's per-nexus state (unit attentions, ...), opaque to front-ends

class ScsiTarget {
 public:
  ScsiTarget();
  ~ScsiTarget();
  ScsiTarget(const ScsiTarget&) = delete;
  ScsiTarget& operator=(const ScsiTarget&) = delete;

  // At configuration time, or live (a new configuration version): nexuses already attached
  // get REPORTED LUNS DATA HAS CHANGED on their LUNs and a power-on unit attention on the new one.
  void add_lun(uint64_t lun, std::shared_ptr<LogicalUnit> unit);
  // Live removal: commands that arrive from now on get LOGICAL UNIT NOT SUPPORTED and every
  // attached nexus REPORTED LUNS DATA HAS CHANGED; the commands already in the unit finish there.
  // Returns the unit (null if there was none) so that its owner can wait for them
  // (Unit::when_idle) before closing its backend.
  std::shared_ptr<LogicalUnit> remove_lun(uint64_t lun);
  [[nodiscard]] std::vector<uint64_t> luns() const;
  [[nodiscard]] std::shared_ptr<LogicalUnit> unit(uint64_t lun) const;

  // A nexus is attached at login and detached at logout / connection loss. Attaching a nexus
  // whose key (ItNexus::key()) was seen before resumes its state (pending unit attentions).
  std::shared_ptr<NexusState> attach(const ItNexus& nexus);
  void detach(const std::shared_ptr<NexusState>& nexus);

  // Runs one command. `done` runs exactly once, on `executor`, when task.outcome/status/sense/
  // data_in are final. It may run before execute() returns.
  void execute(NexusState& nexus, ScsiTask& task, Executor& executor, UniqueFunction<void()> done);
  // A command has arrived whose data-out the front-end collects before execute(): from now on
  // an abort covering it ends it (as aborted, nothing written) when it is executed.
  void admit(ScsiTask& task);

  // An upper bound of the memory the core allocates to execute `task` (buffer_estimate.h), from
  // its CDB and its logical unit's block size and largest transfer.
  [[nodiscard]] uint64_t buffer_estimate(const ScsiTask& task) const;

  // Runs a task management function for `lun` (ignored by target-wide functions). For ABORT TASK
  // and QUERY TASK `referenced_tag` names the task. `done` runs after every affected task that the
  // core had started has ended (an aborted write is never acknowledged and never lands after the
  // function completes).
  void task_management(NexusState& nexus, TmfFunction function, uint64_t lun, uint64_t referenced_tag,
                       Executor& executor, UniqueFunction<void(TmfResponse)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portico::scsi
