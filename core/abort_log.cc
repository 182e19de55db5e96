// Aborts of tasks that are still collecting their data.
//
// A front-end gathers a write's data (iSCSI R2T / Data-Out, NVMe/TCP R2T / H2CData) before it
// submits the task, so for that time the task is not in the unit's task set, and an abort of
// several tasks (ABORT TASK SET, CLEAR TASK SET, a reset, PREEMPT AND ABORT, possibly from
// another gateway) cannot mark it. Each such abort is therefore also recorded here with a new
// epoch; a task records the epoch when it arrives and, once its data is in, ends as aborted —
// before anything is written — if a later record covers it. The aborts do not wait for such
// tasks: nothing of theirs can reach the medium any more.
#include "core/task_set.h"

namespace portico {
namespace {

// A task that waited through this many aborts is treated as covered: it is ended as aborted
// (retryable) rather than risk running after an abort whose record is gone.
constexpr size_t kAbortLogSize = 64;

}  // namespace

uint64_t TaskSet::record_abort(AbortRecord record) {
  std::lock_guard lock(abort_log_mutex_);
  const uint64_t epoch = abort_epoch_.load(std::memory_order_relaxed) + 1;
  record.epoch = epoch;
  abort_log_.push_back(std::move(record));
  if (abort_log_.size() > kAbortLogSize) abort_log_.pop_front();
  abort_epoch_.store(epoch, std::memory_order_release);
  return epoch;
}

bool TaskSet::aborted_while_waiting(const Task& task, const Initiator& who, const std::string& key,
                                    bool& silent) const {
  const uint64_t since = task.core.arrival_abort_epoch;
  if (!task.core.admitted || since == abort_epoch_.load(std::memory_order_acquire)) return false;
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
      case AbortRecord::Scope::initiator:
        covered = r.initiator_key == key;
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

}  // namespace portico
