// Aborts of tasks that are still collecting data-out.
//
// A front-end gathers a write's data-out (iSCSI R2T / Data-Out) before it submits the task, so
// for that time the task is not in the unit's task set, and ABORT TASK SET, CLEAR TASK SET, a
// LOGICAL UNIT RESET or PREEMPT AND ABORT (possibly from another gateway) cannot mark it. Each
// such abort is therefore also recorded here with a new epoch; a task records the epoch when it
// arrives (ScsiTarget::admit) and, once its data is in, ends as aborted — before anything is
// written — if a later record covers it. The functions do not wait for such tasks: nothing of
// theirs can reach the medium any more.
#include "core/scsi/logical_unit.h"

namespace portico::scsi {
namespace {

// A task that waited through this many aborts is treated as covered: it is ended with TASK
// ABORTED (retryable) rather than risk running after an abort whose record is gone.
constexpr size_t kAbortLogSize = 64;

}  // namespace

uint64_t LogicalUnit::record_abort(AbortRecord record) {
  std::lock_guard lock(abort_log_mutex_);
  const uint64_t epoch = abort_epoch_.load(std::memory_order_relaxed) + 1;
  record.epoch = epoch;
  abort_log_.push_back(std::move(record));
  if (abort_log_.size() > kAbortLogSize) abort_log_.pop_front();
  abort_epoch_.store(epoch, std::memory_order_release);
  return epoch;
}

bool LogicalUnit::aborted_while_waiting(const ScsiTask& task, const NexusState& nexus, bool& silent) const {
  const uint64_t since = task.core.arrival_abort_epoch;
  if (!task.core.admitted || since == abort_epoch_.load(std::memory_order_acquire)) return false;
  const ItNexus& who = nexus.nexus();
  const std::string key = who.key();
  std::lock_guard lock(abort_log_mutex_);
  if (abort_log_.empty() || abort_log_.front().epoch > since + 1) {
    silent = false;  // the records since its arrival are partly gone: assume one covered it
    return true;
  }
  for (const auto& r : abort_log_) {
    if (r.epoch <= since) continue;
    bool covered = false;
    switch (r.scope) {
      case AbortRecord::Scope::all:
        covered = true;
        break;
      case AbortRecord::Scope::nexus:
        covered = r.nexus_key == key;
        break;
      case AbortRecord::Scope::selectors:
        for (const auto& s : r.selectors) covered = covered || s.matches(who);
        break;
    }
    if (covered) {
      silent = r.origin_key == key;
      return true;
    }
  }
  return false;
}

}  // namespace portico::scsi
