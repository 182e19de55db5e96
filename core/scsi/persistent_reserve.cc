// PERSISTENT RESERVE IN/OUT and SPC-2 RESERVE/RELEASE on a logical unit, and the SCSI parts of
// the unit's cluster record (mode parameters, sanitize): the rules are the pure engines'
// (core/reservations/, reservations/); the unit stores a change in the cluster's record and has
// every gateway apply it (core/unit_reservations.cc) before the command completes.
#include <spdlog/spdlog.h>

#include <functional>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/notice_sense.h"
#include "core/scsi/reservations/access_rules.h"
#include "core/scsi/reservations/persistent_reserve_in.h"
#include "core/scsi/reservations/persistent_reserve_out.h"
#include "core/scsi/reservations/spc2_reservation.h"

namespace portico::scsi {
namespace {

// Runs a change of the unit's record that `task` asked for and completes the task with its
// outcome: the engine's status and sense, or the retryable ABORTED COMMAND of an unavailable
// cluster state when the change could not be stored — or was stored but not applied on every
// gateway: completing it as GOOD would tell the initiator that the change holds everywhere (a
// cluster fencing a node through PREEMPT relies on exactly that). PERSISTENT RESERVE IN shows
// what is stored.
void run_update(LogicalUnit& unit, ScsiTask& task, std::function<PrOutOutcome(ReservationState&)> mutate) {
  auto outcome = std::make_shared<PrOutOutcome>();
  unit.update_record(
      task.nexus->nexus().key(),
      [outcome, mutate = std::move(mutate)](ReservationState& state) -> const ReservationOutcome& {
        *outcome = mutate(state);
        return *outcome;
      },
      [unit = unit.shared_self(), &task, outcome](RecordUpdate result) {
        if (result != RecordUpdate::stored) {
          spdlog::error("{}: reservation change {}: command failed", unit->name(),
                        result == RecordUpdate::unannounced ? "stored but not applied on every gateway" : "not stored");
          *outcome = PrOutOutcome{};
          outcome->status = ScsiStatus::check_condition;
          outcome->sense = cluster_state_unavailable();
        }
        task.core.executor->post([unit, &task, outcome]() {
          if (outcome->sense) {
            unit->fail(task, *outcome->sense);
          } else {
            unit->fail(task, outcome->status);
          }
        });
      });
}

// A change without a command: `release` edits the state and says whether it changed; `done`
// reports whether it is stored (announced or not: no command waits to be told it holds).
void run_release(LogicalUnit& unit, std::string origin_nexus, std::function<bool(ReservationState&)> release,
                 std::function<void(bool)> done) {
  auto outcome = std::make_shared<ReservationOutcome>();
  unit.update_record(
      std::move(origin_nexus),
      [outcome, release = std::move(release)](ReservationState& state) -> const ReservationOutcome& {
        *outcome = ReservationOutcome{};
        outcome->changed = release(state);
        return *outcome;
      },
      [done = std::move(done)](RecordUpdate result) { done(result != RecordUpdate::unavailable); });
}

}  // namespace

void LogicalUnit::on_record_applied(const ReservationState& state) {
  if (state.mode) {
    ModeParameters mode = this->mode();
    mode.descriptor_sense = state.mode->descriptor_sense;
    mode.task_aborted_status = state.mode->task_aborted_status;
    mode.write_cache_enabled = state.mode->write_cache_enabled;
    mode.software_write_protect = state.mode->software_write_protect;
    set_mode(mode);
  }
  sanitize_.apply_shared(state.sanitize, cluster().local_target_port_group());
  if (state.sanitize && state.sanitize->running) fail_orphaned_sanitize();
}

bool LogicalUnit::reservation_conflict(const ScsiTask& task, const NexusState& nexus) {
  return Unit::reservation_conflict(task, [&](const ReservationState& state) {
    return scsi::reservation_conflict(state, nexus.nexus(), task.cdb());
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
  if (owner == cluster().local_target_port_group()) {
    orphaned = !sanitize_.running_here();
  } else {
    // A group this gateway does not know (yet) is not judged: only one seen unavailable.
    for (const auto& group : cluster().target_port_groups()) {
      if (group.id == owner) orphaned = group.state == AluaState::unavailable;
    }
  }
  if (!orphaned || orphan_check_in_flight_.exchange(true)) return;
  spdlog::warn("{}: the sanitize running on target port group {} ended with its gateway; the unit is now in the "
               "sanitize failed state",
               config_.name, owner);
  auto self = shared_self();
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
  replace_cached_reservations([&nexus_key](ReservationState& state) {
    if (state.spc2_holder != nexus_key) return false;
    state.spc2_holder.clear();
    return true;
  });
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
