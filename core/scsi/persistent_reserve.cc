// PERSISTENT RESERVE IN/OUT and SPC-2 RESERVE/RELEASE on a logical unit: the rules are the pure
// engine's (reservations/); this file keeps the state where the cluster keeps it. A change is a
// read-modify-write of the cluster's record guarded by its version (retried on a concurrent
// change), then an event that every gateway applies (cache refresh, unit attentions, PREEMPT
// AND ABORT) before the command completes.
#include <spdlog/spdlog.h>

#include <functional>

#include "core/inline_executor.h"
#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/notice_sense.h"
#include "core/scsi/reservations/access_rules.h"
#include "core/scsi/reservations/persistent_reserve_in.h"
#include "core/scsi/reservations/persistent_reserve_out.h"
#include "core/scsi/reservations/spc2_reservation.h"

namespace portico::scsi {
namespace {

constexpr int kMaxAttempts = 32;

// One state change, from the first read to the command's completion — or, for a change that
// no command asked for (a reset, a lost nexus), to `settled`.
struct ReservationUpdate : std::enable_shared_from_this<ReservationUpdate> {
  std::shared_ptr<LogicalUnit> unit;
  ScsiTask* task = nullptr;                 // null when no command waits
  std::string origin_nexus;                 // ItNexus::key() of the nexus that caused the change
  std::function<void(bool stored)> settled;  // used when `task` is null; runs on any thread
  std::function<PrOutOutcome(ReservationState&)> mutate;
  int attempts = 0;
  PrOutOutcome outcome;

  void start() {
    ++attempts;
    unit->cluster().read_reservation(unit->cluster_key(), [self = shared_from_this()](Result<VersionedRecord> record) {
      self->on_read(std::move(record));
    });
  }

  void on_read(Result<VersionedRecord> record) {
    if (!record.ok()) return finish_failed("read: " + record.status().message());
    auto state = parse_reservation_state(record->bytes);
    if (!state.ok()) return finish_failed(state.status().message());
    outcome = mutate(*state);
    if (!outcome.changed) {
      unit->set_reservations(std::move(*state));
      return finish();
    }
    const bool aptpl = state->aptpl;
    auto bytes = serialize(*state);
    unit->cluster().write_reservation(
        unit->cluster_key(), record->version, std::move(bytes), aptpl,
        [self = shared_from_this()](Status status) { self->on_written(std::move(status)); });
  }

  void on_written(Status status) {
    if (status.code() == ErrorCode::busy && attempts < kMaxAttempts) {
      start();  // another gateway changed it first: re-read and re-apply
      return;
    }
    if (!status.ok()) return finish_failed("write: " + status.message());
    LunEvent event;
    event.kind = LunEvent::Kind::reservation_changed;
    event.origin_nexus = origin_nexus;
    for (const auto& [who, notice] : outcome.notices) event.notices.push_back({who, notice});
    event.abort_tasks_of = outcome.abort;
    event.notice = outcome.notice_for_others;
    unit->cluster().publish(unit->cluster_key(), event, [self = shared_from_this()](Status published) {
      if (!published.ok()) return self->finish_unannounced(published.message());
      self->finish();
    });
  }

  // The change is stored, but a gateway neither applied its event nor could be fenced: it may
  // still serve the old state, and its tasks that PREEMPT AND ABORT would abort may still run.
  // Completing the command as GOOD would tell the initiator that the change holds everywhere
  // (a cluster fencing a node through PREEMPT relies on exactly that), so it gets the retryable
  // ABORTED COMMAND of an unavailable cluster state instead; PERSISTENT RESERVE IN shows what
  // is stored. For a change no command waits for (a lost nexus, a reset's release, sanitize
  // bookkeeping) `settled` only reports whether it is stored: it is.
  void finish_unannounced(const std::string& why) {
    if (task == nullptr) {
      spdlog::warn("{}: reservation change stored but not applied on every gateway: {}", unit->config().name, why);
      return settled(true);
    }
    spdlog::error("{}: reservation change stored but not applied on every gateway ({}): command failed",
                  unit->config().name, why);
    outcome = PrOutOutcome{};
    outcome.status = ScsiStatus::check_condition;
    outcome.sense = cluster_state_unavailable();
    finish();
  }

  void finish_failed(const std::string& why) {
    spdlog::error("{}: reservation state unavailable ({}): {}", unit->config().name, why,
                  task != nullptr ? "command refused" : "change not stored");
    outcome = PrOutOutcome{};
    outcome.status = ScsiStatus::check_condition;
    outcome.sense = cluster_state_unavailable();
    finish();
  }

  void finish() {
    if (task == nullptr) {
      settled(!outcome.sense.has_value());
      return;
    }
    task->core.executor->post([self = shared_from_this()]() {
      if (self->outcome.sense) {
        self->unit->fail(*self->task, *self->outcome.sense);
      } else {
        self->unit->fail(*self->task, self->outcome.status);
      }
    });
  }
};

void run_update(LogicalUnit& unit, ScsiTask& task, std::function<PrOutOutcome(ReservationState&)> mutate) {
  auto update = std::make_shared<ReservationUpdate>();
  update->unit = unit.shared_from_this();
  update->task = &task;
  update->origin_nexus = task.nexus->nexus().key();
  update->mutate = std::move(mutate);
  update->start();
}

// A change without a command: `release` edits the state and says whether it changed.
void run_release(LogicalUnit& unit, std::string origin_nexus, std::function<bool(ReservationState&)> release,
                 std::function<void(bool)> done) {
  auto update = std::make_shared<ReservationUpdate>();
  update->unit = unit.shared_from_this();
  update->origin_nexus = std::move(origin_nexus);
  update->settled = std::move(done);
  update->mutate = [release = std::move(release)](ReservationState& state) {
    PrOutOutcome out;
    out.changed = release(state);
    return out;
  };
  update->start();
}

}  // namespace

ReservationState LogicalUnit::reservations() const {
  std::lock_guard lock(reservation_mutex_);
  return *reservations_;
}

void LogicalUnit::publish_reservations(std::shared_ptr<const ReservationState> state) {
  reservations_restrict_.store(restricts(*state), std::memory_order_release);
  reservations_ = std::move(state);
  // Loops re-copy the snapshot when they see the version move (reservation_conflict).
  reservations_version_.fetch_add(1, std::memory_order_release);
}

void LogicalUnit::set_reservations(ReservationState state) {
  if (state.mode) {
    ModeParameters mode = this->mode();
    mode.descriptor_sense = state.mode->descriptor_sense;
    mode.task_aborted_status = state.mode->task_aborted_status;
    mode.write_cache_enabled = state.mode->write_cache_enabled;
    mode.software_write_protect = state.mode->software_write_protect;
    set_mode(mode);
  }
  sanitize_.apply_shared(state.sanitize, cluster_.local_target_port_group());
  const bool check_orphan = state.sanitize && state.sanitize->running;
  {
    std::lock_guard lock(reservation_mutex_);
    publish_reservations(std::make_shared<const ReservationState>(std::move(state)));
  }
  if (check_orphan) fail_orphaned_sanitize();
}

bool LogicalUnit::reservation_conflict(const ScsiTask& task, const NexusState& nexus) {
  if (!reservations_restrict_.load(std::memory_order_acquire)) {
    return false;
  }
  if (task.core.loop == UnitLoopSlots::kNone) {
    std::lock_guard lock(reservation_mutex_);
    return scsi::reservation_conflict(*reservations_, nexus.nexus(), task.cdb());
  }
  // The loop's own copy: one atomic load while the reservations stay as they are.
  UnitLoopSlot& loop = tasks_.loops()[task.core.loop];
  const uint64_t version = reservations_version_.load(std::memory_order_acquire);
  if (loop.reservations == nullptr || loop.reservations_version != version) {
    std::lock_guard lock(reservation_mutex_);
    loop.reservations = reservations_;
    loop.reservations_version = reservations_version_.load(std::memory_order_relaxed);
  }
  return scsi::reservation_conflict(*loop.reservations, nexus.nexus(), task.cdb());
}

void LogicalUnit::reload_reservations(UniqueFunction<void(bool)> done) {
  std::weak_ptr<LogicalUnit> weak = weak_from_this();
  cluster_.read_reservation(cluster_key_, [weak, done = std::move(done)](Result<VersionedRecord> record) mutable {
    auto unit = weak.lock();
    if (!unit || !record.ok()) return done(false);
    auto state = parse_reservation_state(record->bytes);
    if (!state.ok()) {
      spdlog::error("{}: {}", unit->config().name, state.status().message());
      return done(false);
    }
    unit->set_reservations(std::move(*state));
    done(true);
  });
}

void LogicalUnit::on_reservation_event(const LunEvent& event, UniqueFunction<void()> applied) {
  auto self = shared_from_this();
  reload_reservations([self, event, applied = std::move(applied)](bool ok) mutable {
    if (!ok) {
      spdlog::error("{}: cannot refresh reservations after a change; not serving until a re-read succeeds",
                    self->config().name);
      self->mark_reservations_stale();
    }
    for (const auto& attachment : self->attachments()) {
      if (event.notice && attachment->initiator().key() != event.origin_nexus) attachment->notify(*event.notice);
      for (const auto& addressed : event.notices) {
        if (addressed.initiator.matches(attachment->initiator())) attachment->notify(addressed.notice);
      }
    }
    auto waiter = std::make_shared<AbortWaiter>();
    if (!event.abort_tasks_of.empty()) {
      // SPC-4 5.12.11.4.5: PREEMPT AND ABORT ends every task of the preempted nexuses.
      const uint64_t epoch =
          self->tasks_.record_abort(AbortRecord::of_selectors(event.abort_tasks_of, event.origin_nexus));
      self->abort_matching(
          [preempted = event.abort_tasks_of](const Task& t) {
            for (const auto& who : preempted) {
              if (who.matches(*t.core.initiator)) return true;
            }
            return false;
          },
          event.origin_nexus, waiter, epoch);
    }
    waiter->executor = &InlineExecutor::instance();
    waiter->done = std::move(applied);
    waiter->release();
  });
}

void LogicalUnit::store_mode(ScsiTask& task, const ModeParameters& mode) {
  const SharedModeParameters shared{mode.descriptor_sense, mode.task_aborted_status, mode.write_cache_enabled,
                                    mode.software_write_protect};
  run_update(*this, task, [shared](ReservationState& state) {
    PrOutOutcome out;
    out.changed = !state.mode || *state.mode != shared;
    state.mode = shared;
    if (out.changed) out.notice_for_others = Notice::mode_parameters_changed;
    return out;
  });
}

void LogicalUnit::update_shared_sanitize(std::function<bool(std::optional<SharedSanitize>&)> change,
                                         std::function<void(bool)> done) {
  run_release(
      *this, {}, [change = std::move(change)](ReservationState& state) { return change(state.sanitize); },
      std::move(done));
}

void LogicalUnit::fail_orphaned_sanitize() {
  const auto shared = reservations().sanitize;
  if (!shared || !shared->running) return;
  const uint16_t owner = shared->owner_group;
  bool orphaned = false;
  if (owner == cluster_.local_target_port_group()) {
    orphaned = !sanitize_.running_here();
  } else {
    // A group this gateway does not know (yet) is not judged: only one seen unavailable.
    for (const auto& group : cluster_.target_port_groups()) {
      if (group.id == owner) orphaned = group.state == AluaState::unavailable;
    }
  }
  if (!orphaned || orphan_check_in_flight_.exchange(true)) return;
  spdlog::warn("{}: the sanitize running on target port group {} ended with its gateway; the unit is now in the "
               "sanitize failed state",
               config_.name, owner);
  auto self = shared_from_this();
  update_shared_sanitize(
      [shared](std::optional<SharedSanitize>& record) {
        // Only the operation judged orphaned: not one started since, nor one already marked.
        if (!record || !record->running || record->owner_group != shared->owner_group) return false;
        record->running = false;
        return true;
      },
      [self](bool stored) {
        self->orphan_check_in_flight_.store(false);
        if (!stored) spdlog::error("{}: cannot store the failed state of an orphaned sanitize", self->config().name);
      });
}

void handle_persistent_reserve_in(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const uint32_t allocation_length = load_be16(cdb.data() + 7);
  auto data = persistent_reserve_in_data(unit.reservations(), cdb[1] & 0x1f);
  if (!data) {
    unit.fail(task, invalid_field_in_cdb(1, 4));
    return;
  }
  respond_with_data(task, *data, allocation_length);
  unit.complete(task);
}

void handle_persistent_reserve_out(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  task.data_out_length_needed = load_be32(cdb.data() + 5);
  auto decoded = decode_persistent_reserve_out(cdb, task.data_out);
  if (auto* sense = std::get_if<SenseData>(&decoded)) {
    unit.fail(task, *sense);
    return;
  }
  const ItNexus nexus = task.nexus->nexus();
  run_update(unit, task, [request = std::get<PrOutRequest>(decoded), nexus](ReservationState& state) {
    return apply_persistent_reserve_out(state, nexus, request);
  });
}

void handle_spc2_reserve_release(LogicalUnit& unit, ScsiTask& task) {
  auto decoded = decode_spc2_reserve_release(task.cdb());
  if (auto* sense = std::get_if<SenseData>(&decoded)) {
    unit.fail(task, *sense);
    return;
  }
  const ItNexus nexus = task.nexus->nexus();
  run_update(unit, task, [action = std::get<Spc2Action>(decoded), nexus](ReservationState& state) {
    return apply_spc2_reserve_release(state, nexus, action);
  });
}

void LogicalUnit::release_spc2_reservation_of(const std::string& nexus_key, std::function<void(bool)> done) {
  // Most nexuses hold nothing: skip the cluster round trip (the cache is kept exact by events).
  if (reservations().spc2_holder != nexus_key) {
    done(true);
    return;
  }
  // The holder is gone from this gateway, so no command of it can arrive here any more: stop
  // enforcing its reservation here at once rather than after the cluster round trip (a command
  // that races the store must not meet a conflict with a nexus that no longer exists). Other
  // gateways follow with the event; if the store fails, the next re-read restores the truth.
  {
    std::lock_guard lock(reservation_mutex_);
    if (reservations_->spc2_holder == nexus_key) {
      auto without = std::make_shared<ReservationState>(*reservations_);
      without->spc2_holder.clear();
      publish_reservations(std::move(without));
    }
  }
  run_release(
      *this, nexus_key,
      [nexus_key](ReservationState& state) { return scsi::release_spc2_reservation_of(state, nexus_key); },
      std::move(done));
}

void LogicalUnit::release_spc2_reservation_on_reset(const std::string& origin_nexus,
                                                   std::function<void(bool)> done) {
  if (reservations().spc2_holder.empty()) {
    done(true);
    return;
  }
  run_release(*this, origin_nexus, [](ReservationState& state) { return scsi::release_spc2_reservation_on_reset(state); },
              std::move(done));
}

}  // namespace portico::scsi
