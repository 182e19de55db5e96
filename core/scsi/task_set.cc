// The logical unit's task set: one list per event loop, one locked list for other executors.
//
// A loop links and unlinks its own tasks without a lock; an abort, a query or anything else
// that must see every task visits each loop's list on that loop (posted, or inline when the
// caller is that loop) and the locked list under its lock.
//
// Which tasks an abort covers: those its visit finds in their loop's list that were linked before
// its record (LogicalUnit::record_abort), by the abort epoch each task read when it was linked.
// The visit skips loops whose task count it reads as zero, and the command path has no barrier
// (a slot's count has a single writer: plain stores), so a task that a loop links at the very
// moment another thread records an abort may be missed. That task raced the abort: it is treated
// as having arrived after it, as it would be had it come an instant later.
#include <spdlog/spdlog.h>

#include <cassert>

#include "core/scsi/logical_unit.h"
#include "core/scsi/notice_sense.h"

namespace portico::scsi {
namespace {

void link_into(ScsiTask*& head, ScsiTask& task) {
  task.core.prev = nullptr;
  task.core.next = head;
  if (head != nullptr) head->core.prev = &task;
  head = &task;
}

void unlink_from(ScsiTask*& head, ScsiTask& task) {
  if (task.core.prev != nullptr) {
    task.core.prev->core.next = task.core.next;
  } else {
    head = task.core.next;
  }
  if (task.core.next != nullptr) task.core.next->core.prev = task.core.prev;
  task.core.prev = task.core.next = nullptr;
}

void visit_list(ScsiTask* head, const std::function<void(ScsiTask&)>& visit) {
  for (ScsiTask* t = head; t != nullptr;) {
    ScsiTask* next = t->core.next;  // `visit` only marks; it never unlinks
    visit(*t);
    t = next;
  }
}

}  // namespace

void LogicalUnit::link_task(ScsiTask& task, Executor& executor) {
  const uint16_t slot = loops_.slot_of(executor);
  task.core.loop = slot;
  if (slot == UnitLoopSlots::kNone) {
    std::lock_guard lock(shared_tasks_mutex_);
    task.core.link_epoch = abort_epoch_.load(std::memory_order_acquire);
    link_into(shared_tasks_head_, task);
    return;
  }
  UnitLoopSlot& own = loops_[slot];
  own.linked.store(own.linked.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  task.core.link_epoch = abort_epoch_.load(std::memory_order_acquire);
  link_into(own.head, task);
}

void LogicalUnit::unlink_task(ScsiTask& task) {
  if (task.core.loop == UnitLoopSlots::kNone) {
    std::lock_guard lock(shared_tasks_mutex_);
    unlink_from(shared_tasks_head_, task);
    return;
  }
  UnitLoopSlot& own = loops_[task.core.loop];
  assert(loops_.owner(task.core.loop)->in_executor_thread());
  unlink_from(own.head, task);
  own.linked.store(own.linked.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

bool LogicalUnit::abort_requested(const ScsiTask& task) {
  if (task.core.loop == UnitLoopSlots::kNone) {
    std::lock_guard lock(shared_tasks_mutex_);
    return task.core.aborted;
  }
  return task.core.aborted;  // only the task's own loop marks it
}

void LogicalUnit::visit_tasks(const std::function<void(ScsiTask&)>& visit, const std::shared_ptr<AbortWaiter>& waiter) {
  {
    std::lock_guard lock(shared_tasks_mutex_);
    visit_list(shared_tasks_head_, visit);
  }
  for (uint16_t slot = 0; slot < UnitLoopSlots::size(); ++slot) {
    UnitLoopSlot& loop = loops_[slot];
    if (loop.linked.load(std::memory_order_acquire) == 0) continue;
    Executor* owner = loops_.owner(slot);
    if (owner->in_executor_thread()) {
      visit_list(loop.head, visit);
      continue;
    }
    waiter->remaining.fetch_add(1);
    owner->post([self = shared_from_this(), slot, visit, waiter]() {
      visit_list(self->loops_[slot].head, visit);
      waiter->release();
    });
  }
}

void LogicalUnit::abort_matching(TaskMatch match, std::string origin_key, const std::shared_ptr<AbortWaiter>& waiter,
                                 uint64_t before_epoch) {
  const bool tas = mode().task_aborted_status;
  visit_tasks(
      [match = std::move(match), origin_key = std::move(origin_key), waiter, before_epoch, tas](ScsiTask& t) {
        if (t.core.link_epoch >= before_epoch || !match(t)) return;
        if (!t.core.aborted) {
          t.core.aborted = true;
          t.core.aborted_by_own_nexus = !origin_key.empty() && t.core.nexus->key() == origin_key;
          // SPC-4 7.5.8 (TAS=0): the other nexus learns of its cleared commands by a unit
          // attention.
          if (!t.core.aborted_by_own_nexus && !tas) {
            t.core.nexus->raise_unit_attention(t.lun, unit_attention_of(Notice::commands_cleared_by_another_initiator));
          }
        }
        waiter->remaining.fetch_add(1);
        t.core.waiters.push_back(waiter);
      },
      waiter);
}

}  // namespace portico::scsi
