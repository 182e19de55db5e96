// A unit's task set (SAM-5 4.7, and NVMe's commands on one namespace alike): the tasks the core
// is executing for one unit, whichever command set sent them, so that an abort (a task management
// function, PREEMPT AND ABORT, a reset, a cluster event) can find them wherever they run, and the
// record of recent aborts for tasks that were still waiting for their data.
//
// The command path takes no lock: each event loop links its tasks in its own slot
// (unit_loop_slots.h); an abort reaches a loop's tasks by posting to that loop. Which tasks an
// abort covers: those its visit finds that were linked before its record (record_abort), by the
// abort epoch each task read when it was linked. The visit skips loops whose task count it reads
// as zero and the command path has no barrier (a slot's count has a single writer: plain
// stores), so a task that a loop links at the very moment another thread records an abort may
// be missed: that task raced the abort and is treated as having arrived after it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/executor.h"
#include "core/initiator.h"
#include "core/task.h"
#include "core/unit_loop_slots.h"

namespace portico {

// Which tasks an abort covers, kept so that tasks that were waiting for their data find out.
struct AbortRecord {
  enum class Scope : uint8_t { all, initiator, selectors };
  uint64_t epoch = 0;
  Scope scope = Scope::all;
  std::string initiator_key;                // Scope::initiator
  std::vector<InitiatorSelector> selectors;  // Scope::selectors (PREEMPT AND ABORT)
  std::string origin_key;                   // the initiator whose function it was ("" = none here)

  static AbortRecord everything(std::string origin) {
    AbortRecord r;
    r.origin_key = std::move(origin);
    return r;
  }
  static AbortRecord of_initiator(const std::string& key) {
    AbortRecord r;
    r.scope = Scope::initiator;
    r.initiator_key = key;
    r.origin_key = key;
    return r;
  }
  static AbortRecord of_selectors(std::vector<InitiatorSelector> selectors, std::string origin) {
    AbortRecord r;
    r.scope = Scope::selectors;
    r.selectors = std::move(selectors);
    r.origin_key = std::move(origin);
    return r;
  }
};

class TaskSet {
 public:
  using TaskMatch = std::function<bool(const Task&)>;

  // Links `task` into its executor's slot (or the locked list) and records its link epoch.
  void link(Task& task, Executor& executor);
  // Called on the task's executor (its thread, for a single-threaded one).
  void unlink(Task& task);
  // True once an abort marked `task`. Called on the task's executor.
  [[nodiscard]] bool abort_requested(const Task& task);

  // Runs `visit` on every task, each on the thread that owns the task: inline for the locked list
  // and the caller's own loop, posted to every other loop that has tasks (`keep_alive` is held
  // until that has run). `waiter` is held until every loop's part has run. `visit` may run on
  // several threads at once.
  void visit(const std::function<void(Task&)>& visit, const std::shared_ptr<AbortWaiter>& waiter,
             const std::shared_ptr<const void>& keep_alive);
  // Marks the matching tasks aborted and attaches `waiter` to each; with `before_epoch`, only
  // tasks linked before that abort epoch (the abort's record). `origin_key` is the initiator
  // (Initiator::key()) whose function aborts them: its own tasks end silently.
  void abort_matching(TaskMatch match, std::string origin_key, const std::shared_ptr<AbortWaiter>& waiter,
                      const std::shared_ptr<const void>& keep_alive, uint64_t before_epoch = UINT64_MAX);

  // Attaches `waiter` to every task without aborting it: the waiter is released when the last of
  // them has ended (a unit removed from the configuration waits so before it is closed).
  void wait_for_all(const std::shared_ptr<AbortWaiter>& waiter, const std::shared_ptr<const void>& keep_alive);

  // --- aborts of tasks still collecting their data (abort_log.cc) ---
  // Records an abort; returns its epoch: the abort covers the tasks linked before it.
  uint64_t record_abort(AbortRecord record);
  // The epoch a task records when it arrives; it grows with every abort of more than one tag.
  [[nodiscard]] uint64_t abort_epoch() const { return abort_epoch_.load(std::memory_order_acquire); }
  // True when an abort recorded after the task arrived covers it (the task comes from `who`, whose
  // Initiator::key() is `key`); `silent`: that abort came from the task's own initiator.
  bool aborted_while_waiting(const Task& task, const Initiator& who, const std::string& key, bool& silent) const;

  // The slots, for per-loop state beside the task lists (the reservation snapshot's copy).
  [[nodiscard]] UnitLoopSlots& loops() { return loops_; }

 private:
  UnitLoopSlots loops_;
  std::mutex shared_tasks_mutex_;  // tasks of executors without a slot
  Task* shared_tasks_head_ = nullptr;

  mutable std::mutex abort_log_mutex_;
  std::deque<AbortRecord> abort_log_;  // the most recent kAbortLogSize aborts
  std::atomic<uint64_t> abort_epoch_{0};
};

}  // namespace portico
