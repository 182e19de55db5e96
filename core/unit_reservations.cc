// The unit's cluster record (reservations, and the SCSI parts kept beside them): the rules are
// the pure engine's (core/reservations/); this file keeps the state where the cluster keeps it.
// A change is a read-modify-write of the cluster's record guarded by its version (retried on a
// concurrent change), then an event that every gateway applies (cache refresh, notices, PREEMPT
// AND ABORT) before the change is reported done.
#include <spdlog/spdlog.h>

#include "core/inline_executor.h"
#include "core/unit.h"

namespace portico {
namespace {

constexpr int kMaxAttempts = 32;

// One change, from the first read to its announcement on every gateway.
struct RecordUpdateRun : std::enable_shared_from_this<RecordUpdateRun> {
  std::shared_ptr<Unit> unit;
  std::string origin_key;
  Unit::RecordChange change;
  UniqueFunction<void(RecordUpdate)> done;
  int attempts = 0;
  const ReservationOutcome* outcome = nullptr;  // owned by `change`'s caller, valid until `done`

  void start() {
    ++attempts;
    unit->cluster().read_reservation(unit->cluster_key(), [self = shared_from_this()](Result<VersionedRecord> record) {
      self->on_read(std::move(record));
    });
  }

  void on_read(Result<VersionedRecord> record) {
    if (!record.ok()) return failed("read: " + record.status().message());
    auto state = parse_reservation_state(record->bytes);
    if (!state.ok()) return failed(state.status().message());
    outcome = &change(*state);
    if (!outcome->changed) {
      unit->set_reservations(std::move(*state));
      return done(RecordUpdate::stored);
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
    if (!status.ok()) return failed("write: " + status.message());
    unit->metrics().count_reservation_change();
    LunEvent event;
    event.kind = LunEvent::Kind::reservation_changed;
    event.origin_nexus = origin_key;
    for (const auto& [who, notice] : outcome->notices) event.notices.push_back({who, notice});
    event.abort_tasks_of = outcome->abort;
    event.notice = outcome->notice_for_others;
    unit->cluster().publish(unit->cluster_key(), event, [self = shared_from_this()](Status published) {
      if (!published.ok()) {
        // Stored, but a gateway neither applied the event nor could be fenced: it may still serve
        // the old state, and its tasks that PREEMPT AND ABORT would abort may still run.
        spdlog::warn("{}: reservation change stored but not applied on every gateway: {}", self->unit->name(),
                     published.message());
        return self->done(RecordUpdate::unannounced);
      }
      self->done(RecordUpdate::stored);
    });
  }

  void failed(const std::string& why) {
    spdlog::error("{}: reservation state unavailable ({}): change not stored", unit->name(), why);
    done(RecordUpdate::unavailable);
  }
};

}  // namespace

void Unit::update_record(std::string origin_key, RecordChange change, UniqueFunction<void(RecordUpdate)> done) {
  auto run = std::make_shared<RecordUpdateRun>();
  run->unit = shared_from_this();
  run->origin_key = std::move(origin_key);
  run->change = std::move(change);
  run->done = std::move(done);
  run->start();
}

ReservationState Unit::reservations() const {
  std::lock_guard lock(reservation_mutex_);
  return *reservations_;
}

void Unit::publish_reservations(std::shared_ptr<const ReservationState> state) {
  reservations_restrict_.store(restricts(*state), std::memory_order_release);
  reservations_ = std::move(state);
  // Loops re-copy the snapshot when they see the version move (loop_reservations).
  reservations_version_.fetch_add(1, std::memory_order_release);
}

void Unit::set_reservations(ReservationState state) {
  auto snapshot = std::make_shared<const ReservationState>(std::move(state));
  {
    std::lock_guard lock(reservation_mutex_);
    publish_reservations(snapshot);
  }
  on_record_applied(*snapshot);
}

void Unit::replace_cached_reservations(const std::function<bool(ReservationState&)>& edit) {
  std::lock_guard lock(reservation_mutex_);
  auto edited = std::make_shared<ReservationState>(*reservations_);
  if (edit(*edited)) publish_reservations(std::move(edited));
}

const ReservationState& Unit::loop_reservations(uint16_t loop_index) {
  // The loop's own copy: one atomic load while the reservations stay as they are.
  UnitLoopSlot& loop = tasks_.loops()[loop_index];
  const uint64_t version = reservations_version_.load(std::memory_order_acquire);
  if (loop.reservations == nullptr || loop.reservations_version != version) {
    std::lock_guard lock(reservation_mutex_);
    loop.reservations = reservations_;
    loop.reservations_version = reservations_version_.load(std::memory_order_relaxed);
  }
  return *loop.reservations;
}

void Unit::reload_reservations(UniqueFunction<void(bool)> done) {
  std::weak_ptr<Unit> weak = weak_from_this();
  cluster_.read_reservation(cluster_key_, [weak, done = std::move(done)](Result<VersionedRecord> record) mutable {
    auto unit = weak.lock();
    if (!unit || !record.ok()) return done(false);
    auto state = parse_reservation_state(record->bytes);
    if (!state.ok()) {
      spdlog::error("{}: {}", unit->name(), state.status().message());
      return done(false);
    }
    unit->set_reservations(std::move(*state));
    done(true);
  });
}

void Unit::on_reservation_event(const LunEvent& event, UniqueFunction<void()> applied) {
  auto self = shared_from_this();
  reload_reservations([self, event, applied = std::move(applied)](bool ok) mutable {
    if (!ok) {
      spdlog::error("{}: cannot refresh reservations after a change; not serving until a re-read succeeds",
                    self->name());
      self->reservations_stale_.store(true);
    }
    for (const auto& attachment : self->attachments()) {
      if (event.notice && attachment->initiator().key() != event.origin_nexus) attachment->notify(*event.notice);
      for (const auto& addressed : event.notices) {
        if (addressed.initiator.matches(attachment->initiator())) attachment->notify(addressed.notice);
      }
    }
    auto waiter = std::make_shared<AbortWaiter>();
    if (!event.abort_tasks_of.empty()) {
      // SPC-4 5.12.11.4.5 and NVMe Base 2.0 (Reservations, Preempt and Abort): it ends every command of the
      // preempted initiators, whichever command set they use.
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
    acknowledge_when_ended(waiter, std::move(applied));
  });
}

}  // namespace portico
