#include "core/unit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "core/inline_executor.h"

namespace portico {
namespace {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Unit::Unit(std::string name, std::string cluster_key, std::shared_ptr<BlockDevice> device, ClusterState& cluster,
           LunIdentity identity)
    : name_(std::move(name)), cluster_key_(std::move(cluster_key)), device_(std::move(device)), cluster_(cluster),
      identity_(std::move(identity)), reservations_(std::make_shared<const ReservationState>()) {}

Unit::~Unit() { subscription_.reset(); }

Status Unit::start() {
  subscribe_to_events();
  refresh_access_states();
  // Not on an event loop: wait for the record, so that the unit never serves a command before it
  // knows the reservations.
  std::promise<bool> loaded;
  reload_reservations([&loaded](bool ok) { loaded.set_value(ok); });
  if (!loaded.get_future().get()) return error(ErrorCode::io_error, name_ + ": cannot read its reservation state");
  return Status::ok_status();
}

void Unit::subscribe_to_events() {
  std::weak_ptr<Unit> weak = weak_from_this();
  subscription_ = cluster_.subscribe(cluster_key_, [weak](const LunEvent& event, UniqueFunction<void()> applied) {
    if (auto unit = weak.lock()) {
      unit->on_cluster_event(event, std::move(applied));
    } else {
      applied();
    }
  });
}

void Unit::attach(const std::shared_ptr<Attachment>& attachment) {
  std::lock_guard lock(attachments_mutex_);
  std::erase_if(attachments_, [](const std::weak_ptr<Attachment>& a) { return a.expired(); });
  attachments_.push_back(attachment);
}

std::vector<std::shared_ptr<Attachment>> Unit::attachments() {
  std::vector<std::shared_ptr<Attachment>> live;
  std::lock_guard lock(attachments_mutex_);
  for (auto& weak : attachments_) {
    if (auto attachment = weak.lock()) live.push_back(std::move(attachment));
  }
  return live;
}

void Unit::notify_all(Notice notice, const std::string& except_key) {
  for (auto& attachment : attachments()) {
    if (!except_key.empty() && attachment->initiator().key() == except_key) continue;
    attachment->notify(notice);
  }
}

bool Unit::admit(Task& task, const Initiator& who, const std::string& key, Executor& executor,
                 UniqueFunction<void()> done) {
  task.core.initiator = &who;
  task.core.initiator_key = &key;
  task.core.executor = &executor;
  task.core.done = std::move(done);
  task.core.aborted = false;
  task.core.aborted_by_own_initiator = false;
  task.core.admitted_ns = steady_now_ns();
  tasks_.link(task, executor);
  // Checked after linking: an abort either found the task in the set or recorded itself first.
  if (bool silent = false; tasks_.aborted_while_waiting(task, who, key, silent)) {
    task.core.aborted = true;
    task.core.aborted_by_own_initiator = silent;
    return false;
  }
  return true;
}

void Unit::record_completion(const Task& task, IoClass io_class, uint64_t bytes, bool ok) {
  if (task.core.initiator == nullptr) return;  // never admitted
  const int64_t latency = steady_now_ns() - task.core.admitted_ns;
  metrics_.record(task.core.initiator->transport, io_class, bytes, latency > 0 ? static_cast<uint64_t>(latency) : 0,
                  ok);
}

void Unit::finish(Task& task) {
  std::vector<std::shared_ptr<AbortWaiter>> waiters;
  waiters.swap(task.core.waiters);
  auto done = std::move(task.core.done);
  done();  // the front-end may free `task` here
  for (auto& waiter : waiters) waiter->release();
}

void Unit::abort_task(const std::string& key, uint64_t tag, Executor& executor,
                      UniqueFunction<void(bool found)> done) {
  auto found = std::make_shared<std::atomic<bool>>(false);
  auto waiter = std::make_shared<AbortWaiter>();
  const std::string* of = &key;
  abort_matching(
      [of, tag, found](const Task& t) {
        const bool match = t.core.initiator_key == of && t.tag == tag;
        if (match) found->store(true);
        return match;
      },
      key, waiter);
  waiter->executor = &executor;
  waiter->done = [done = std::move(done), found]() mutable { done(found->load()); };
  waiter->release();
}

void Unit::abort_initiator_tasks(const std::string& key, const std::shared_ptr<AbortWaiter>& waiter) {
  // Recorded before the task set is searched: a task linked after the search finds the record.
  const uint64_t epoch = tasks_.record_abort(AbortRecord::of_initiator(key));
  const std::string* of = &key;
  abort_matching([of](const Task& t) { return t.core.initiator_key == of; }, key, waiter, epoch);
}

std::shared_ptr<AbortWaiter> Unit::abort_every_task(const std::string& origin_key) {
  auto waiter = std::make_shared<AbortWaiter>();
  // Recorded before the task set is searched: a task linked after the search finds the record.
  const uint64_t epoch = tasks_.record_abort(AbortRecord::everything(origin_key));
  abort_matching([](const Task&) { return true; }, origin_key, waiter, epoch);
  return waiter;
}

void Unit::acknowledge_when_ended(const std::shared_ptr<AbortWaiter>& waiter, UniqueFunction<void()> applied) {
  // Acknowledge once every aborted task has ended, wherever the last one ends.
  waiter->executor = &InlineExecutor::instance();
  waiter->done = std::move(applied);
  waiter->release();
}

void Unit::on_cluster_event(const LunEvent& event, UniqueFunction<void()> applied) {
  switch (event.kind) {
    case LunEvent::Kind::logical_unit_reset: {
      // The initiator that asked is silent-aborted; others get TASK ABORTED per TAS.
      auto waiter = abort_every_task(event.origin_nexus);
      notify_all(Notice::reset_occurred);
      spdlog::info("{}: unit reset (requested by {})", name_,
                   event.origin_nexus.empty() ? "the cluster" : event.origin_nexus);
      acknowledge_when_ended(waiter, std::move(applied));
      return;
    }
    case LunEvent::Kind::clear_task_set:
      acknowledge_when_ended(abort_every_task(event.origin_nexus), std::move(applied));
      return;
    case LunEvent::Kind::notice:
      if (event.notice) notify_all(*event.notice, event.origin_nexus);
      break;
    case LunEvent::Kind::capacity_changed:
      notify_all(Notice::capacity_changed);
      break;
    case LunEvent::Kind::access_state_changed:
      refresh_access_states();
      notify_all(Notice::access_state_changed);
      on_access_states_changed();
      break;
    case LunEvent::Kind::reservation_changed:
      on_reservation_event(event, std::move(applied));
      return;
    case LunEvent::Kind::state_unknown:
      on_state_unknown();
      break;
    case LunEvent::Kind::state_current:
      on_state_current(std::move(applied));
      return;
  }
  applied();
}

}  // namespace portico
