// The task set's lists and visits (task_set.h says which tasks an abort covers).
#include "core/task_set.h"

#include <cassert>

namespace portico {
namespace {

void link_into(Task*& head, Task& task) {
  task.core.prev = nullptr;
  task.core.next = head;
  if (head != nullptr) head->core.prev = &task;
  head = &task;
}

void unlink_from(Task*& head, Task& task) {
  if (task.core.prev != nullptr) {
    task.core.prev->core.next = task.core.next;
  } else {
    head = task.core.next;
  }
  if (task.core.next != nullptr) task.core.next->core.prev = task.core.prev;
  task.core.prev = task.core.next = nullptr;
}

void visit_list(Task* head, const std::function<void(Task&)>& visit) {
  for (Task* t = head; t != nullptr;) {
    Task* next = t->core.next;  // `visit` only marks; it never unlinks
    visit(*t);
    t = next;
  }
}

}  // namespace

void TaskSet::link(Task& task, Executor& executor) {
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

void TaskSet::unlink(Task& task) {
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

bool TaskSet::abort_requested(const Task& task) {
  if (task.core.loop == UnitLoopSlots::kNone) {
    std::lock_guard lock(shared_tasks_mutex_);
    return task.core.aborted;
  }
  return task.core.aborted;  // only the task's own loop marks it
}

void TaskSet::visit(const std::function<void(Task&)>& fn, const std::shared_ptr<AbortWaiter>& waiter,
                    const std::shared_ptr<const void>& keep_alive) {
  {
    std::lock_guard lock(shared_tasks_mutex_);
    visit_list(shared_tasks_head_, fn);
  }
  for (uint16_t slot = 0; slot < UnitLoopSlots::size(); ++slot) {
    UnitLoopSlot& loop = loops_[slot];
    if (loop.linked.load(std::memory_order_acquire) == 0) continue;
    Executor* owner = loops_.owner(slot);
    if (owner->in_executor_thread()) {
      visit_list(loop.head, fn);
      continue;
    }
    waiter->remaining.fetch_add(1);
    // `keep_alive` holds the unit (and so this task set) until the loop has run the visit.
    owner->post([this, keep_alive, slot, fn, waiter]() {
      static_cast<void>(keep_alive);
      visit_list(loops_[slot].head, fn);
      waiter->release();
    });
  }
}

void TaskSet::abort_matching(TaskMatch match, std::string origin_key, const std::shared_ptr<AbortWaiter>& waiter,
                             const std::shared_ptr<const void>& keep_alive, uint64_t before_epoch) {
  visit(
      [match = std::move(match), origin_key = std::move(origin_key), waiter, before_epoch](Task& t) {
        if (t.core.link_epoch >= before_epoch || !match(t)) return;
        if (!t.core.aborted) {
          t.core.aborted = true;
          t.core.aborted_by_own_initiator = !origin_key.empty() && *t.core.initiator_key == origin_key;
        }
        waiter->remaining.fetch_add(1);
        t.core.waiters.push_back(waiter);
      },
      waiter, keep_alive);
}

void TaskSet::wait_for_all(const std::shared_ptr<AbortWaiter>& waiter, const std::shared_ptr<const void>& keep_alive) {
  auto attach = [waiter](Task& t) {
    waiter->remaining.fetch_add(1);
    t.core.waiters.push_back(waiter);
  };
  {
    std::lock_guard lock(shared_tasks_mutex_);
    visit_list(shared_tasks_head_, attach);
  }
  // Unlike an abort's visit, every loop is visited whatever its count reads: a command that
  // found the unit just before it left the configuration is linked by the time the loop runs
  // this (a loop links a command in the same turn that looks its unit up).
  for (uint16_t slot = 0; slot < UnitLoopSlots::size(); ++slot) {
    Executor* owner = loops_.owner(slot);
    if (owner == nullptr) continue;
    waiter->remaining.fetch_add(1);
    owner->post([this, keep_alive, slot, attach, waiter]() {
      static_cast<void>(keep_alive);
      visit_list(loops_[slot].head, attach);
      waiter->release();
    });
  }
}

}  // namespace portico
