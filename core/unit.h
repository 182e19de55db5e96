// A unit: one block device with one identity, seen by every command set that exposes it — a SCSI
// logical unit (core/scsi/logical_unit.h), an NVMe namespace (core/nvme/namespace.h) — on every
// gateway that serves it. What it keeps is what both command sets must agree on:
// - the backing device and the identity every gateway derives for it (NAA, EUI-64, NGUID, UUID);
// - the task set: the commands executing on it, whichever command set sent them, so that an
//   abort, a reset or PREEMPT AND ABORT reaches all of them (core/task_set.h);
// - the cluster's record of its reservations (and the SCSI parts kept beside them), cached as an
//   immutable snapshot, changed by guarded read-modify-write and announced by an event that
//   every gateway applies before the change is reported done (unit_reservations.cc);
// - the target port groups' access states (ALUA for SCSI, ANA for NVMe; unit_access_state.cc);
// - the cluster's event channel, and whether this gateway can prove its cached state is current
//   (unit_cluster_channel.cc): when it cannot, every command set refuses commands with the status
//   that makes hosts use another path;
// - the initiators that can see it (core/attachment.h), told about notices in their own terms.
//
// The command path takes no lock: each event loop links its tasks in its own slot and reads the
// reservations through its own copy of the snapshot (core/unit_loop_slots.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/attachment.h"
#include "core/block_device.h"
#include "core/cluster_state.h"
#include "core/common/unique_function.h"
#include "core/reservations/reservation_engine.h"
#include "core/reservations/reservation_state.h"
#include "core/task_set.h"
#include "core/unit_metrics.h"

namespace portico {

// How a guarded change of the unit's cluster record ended (Unit::update_record).
enum class RecordUpdate : uint8_t {
  stored,       // stored (or nothing to change) and applied by every gateway that serves the unit
  unannounced,  // stored, but some gateway neither applied its event nor could be fenced
  unavailable,  // not stored: the record could not be read, parsed or written
};

class Unit : public std::enable_shared_from_this<Unit> {
 public:
  virtual ~Unit();
  Unit(const Unit&) = delete;
  Unit& operator=(const Unit&) = delete;

  // For log lines: "iqn...:quickstart lun 0".
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const LunIdentity& identity() const { return identity_; }
  [[nodiscard]] BlockDevice& device() const { return *device_; }
  [[nodiscard]] ClusterState& cluster() const { return cluster_; }
  [[nodiscard]] uint32_t block_size() const { return device_->info().block_size; }
  [[nodiscard]] uint64_t block_count() const { return device_->capacity_bytes() / block_size(); }
  // The name this unit's shared state and events are kept under in the cluster.
  [[nodiscard]] const std::string& cluster_key() const { return cluster_key_; }
  // Writes are refused (configured read only, or write protected by a command set's setting).
  [[nodiscard]] virtual bool write_protected() const { return false; }

  // --- initiators (core/attachment.h) ---
  // The unit keeps them weakly: whoever attaches keeps the attachment alive while it lasts.
  void attach(const std::shared_ptr<Attachment>& attachment);
  // Tells every attached initiator but the one whose Initiator::key() is `except_key`.
  void notify_all(Notice notice, const std::string& except_key = {});

  // `done` runs (on any thread) once every task the unit has now has ended: a unit taken out of
  // the configuration is closed only then, since its running commands still use it.
  void when_idle(UniqueFunction<void()> done) {
    auto waiter = std::make_shared<AbortWaiter>();
    tasks_.wait_for_all(waiter, shared_from_this());
    acknowledge_when_ended(waiter, std::move(done));
  }

  // --- the task set (core/task_set.h) ---
  // Links `task` from `who` (whose key is `key`, an address kept for the initiator's lifetime)
  // to run on `executor`; `done` runs when it ends. False when an abort recorded after the task
  // arrived already covers it: it is marked aborted and the caller ends it at once.
  [[nodiscard]] bool admit(Task& task, const Initiator& who, const std::string& key, Executor& executor,
                           UniqueFunction<void()> done);
  // Counts an admitted task that ends now (before finish()), from its admission on; `ok`: it
  // ended with success and moved `bytes`.
  void record_completion(const Task& task, IoClass io_class, uint64_t bytes, bool ok);
  [[nodiscard]] UnitMetrics& metrics() { return metrics_; }
  [[nodiscard]] const UnitMetrics& metrics() const { return metrics_; }
  // Unlinks a task; no abort can reach it afterwards. Called on the task's executor.
  void unlink(Task& task) { tasks_.unlink(task); }
  // Runs the task's `done` (the front-end may free the task there), then releases the aborts
  // that waited for it. Called after unlink().
  static void finish(Task& task);
  // True once an abort marked `task`. Called on the task's executor.
  [[nodiscard]] bool abort_requested(const Task& task) { return tasks_.abort_requested(task); }
  // The epoch a task records when it arrives; it grows with every abort of more than one tag.
  [[nodiscard]] uint64_t abort_epoch() const { return tasks_.abort_epoch(); }
  // True when an abort recorded after the task arrived covers it; `silent`: that abort came
  // from the task's own initiator.
  bool aborted_while_waiting(const Task& task, const Initiator& who, const std::string& key, bool& silent) const {
    return tasks_.aborted_while_waiting(task, who, key, silent);
  }
  // Aborts the task tagged `tag` from the initiator keyed `key` (compared by address, as
  // TaskCoreState::initiator_key); `done(found)` runs on `executor` once it has ended.
  void abort_task(const std::string& key, uint64_t tag, Executor& executor, UniqueFunction<void(bool found)> done);
  // Aborts every task of the initiator keyed `key`; `waiter` is released per task.
  void abort_initiator_tasks(const std::string& key, const std::shared_ptr<AbortWaiter>& waiter);

  // --- access states (unit_access_state.cc) ---
  // Re-reads the target port groups' states from the cluster.
  void refresh_access_states();
  // The state of target port group `group` (ALUA; NVMe reports it as the ANA state of the group
  // with the same id). One atomic load for this gateway's own group.
  [[nodiscard]] AluaState access_state(uint16_t group) const;
  // False while the cached cluster state may be stale: the event channel is lost, or a re-read
  // of the reservation state failed. Every command set then refuses commands with its
  // path-failing status.
  [[nodiscard]] bool state_is_current() const {
    return !channel_lost_.load(std::memory_order_acquire) && !reservations_stale_.load(std::memory_order_acquire) &&
           std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
                   .count() <= cluster_.state_proven_until_ns();
  }
  // Starts a re-read of stale reservation state unless one is running (from the command path,
  // when a command was refused because the state is not current).
  void retry_stale_reload();

  // --- reservations (unit_reservations.cc) ---
  // A copy of the cached record (kept exact by the cluster's events).
  [[nodiscard]] ReservationState reservations() const;
  void set_reservations(ReservationState state);
  // True when `state` can make any command conflict (the fast path skips the rules otherwise):
  // registrations alone never do.
  [[nodiscard]] static bool restricts(const ReservationState& state) {
    return state.reservation.has_value() || !state.spc2_holder.empty();
  }
  // Runs `blocks(state)` on the cached snapshot as the task's loop sees it, or answers false at
  // once when nothing restricts. Called on the task's executor: a loop reads its own copy, renewed
  // when the version moves.
  template <typename Rule>
  [[nodiscard]] bool reservation_conflict(const Task& task, Rule&& blocks) {
    if (!reservations_restrict_.load(std::memory_order_acquire)) return false;
    if (task.core.loop == UnitLoopSlots::kNone) {
      std::lock_guard lock(reservation_mutex_);
      return blocks(*reservations_);
    }
    return blocks(loop_reservations(task.core.loop));
  }
  // Reads the record from the cluster into the cache; `done(ok)` on any thread.
  void reload_reservations(UniqueFunction<void(bool)> done);
  // A guarded change of the record: `change` edits the state read from the cluster and says what
  // it did (it may run again after a concurrent change); a change is stored guarded by the
  // record's version, then announced (notices, aborts) and applied on every gateway before
  // `done` runs, on any thread. `origin_key` is the initiator that asked ("" = none).
  using RecordChange = std::function<const ReservationOutcome&(ReservationState&)>;
  void update_record(std::string origin_key, RecordChange change, UniqueFunction<void(RecordUpdate)> done);

 protected:
  Unit(std::string name, std::string cluster_key, std::shared_ptr<BlockDevice> device, ClusterState& cluster,
       LunIdentity identity);
  // Subscribes to the cluster's events and reads the access states and the record; fails when
  // the record cannot be read (a unit never serves before it knows the reservations). Called
  // once by the command set's factory, off any event loop.
  Status start();

  // Hooks for the command set that owns the unit.
  // The record was applied to the cache (its mode parameters, its sanitize operation).
  virtual void on_record_applied(const ReservationState& /*state*/) {}
  // The cluster's target port groups changed (after refresh_access_states()).
  virtual void on_access_states_changed() {}

  // Aborts every task of the unit (a reset or CLEAR TASK SET asked for by `origin_key`), the
  // waiting ones through the abort record; the waiter is not yet released.
  std::shared_ptr<AbortWaiter> abort_every_task(const std::string& origin_key);
  // Releases `waiter`: `applied` runs once every task it waits for has ended.
  static void acknowledge_when_ended(const std::shared_ptr<AbortWaiter>& waiter, UniqueFunction<void()> applied);
  // Marks the matching tasks aborted (TaskSet::abort_matching), keeping the unit alive while
  // other loops visit their tasks.
  void abort_matching(TaskSet::TaskMatch match, std::string origin_key, const std::shared_ptr<AbortWaiter>& waiter,
                      uint64_t before_epoch = UINT64_MAX) {
    tasks_.abort_matching(std::move(match), std::move(origin_key), waiter, shared_from_this(), before_epoch);
  }
  [[nodiscard]] TaskSet& tasks() { return tasks_; }
  // This gateway's initiators that can see the unit.
  std::vector<std::shared_ptr<Attachment>> attachments();

  // Replaces the snapshot with `state` in this gateway's cache only (the cluster's record does
  // not change): for a holder that is gone from this gateway, whose reservation must stop
  // applying here before the cluster round trip.
  void replace_cached_reservations(const std::function<bool(ReservationState&)>& edit);

 private:
  void subscribe_to_events();
  void on_cluster_event(const LunEvent& event, UniqueFunction<void()> applied);
  void on_reservation_event(const LunEvent& event, UniqueFunction<void()> applied);
  // unit_cluster_channel.cc: losing and regaining the cluster's event channel.
  void on_state_unknown();
  void on_state_current(UniqueFunction<void()> applied);
  // The loop's copy of the snapshot, renewed when the version moved.
  const ReservationState& loop_reservations(uint16_t loop);
  // Installs a new snapshot and moves the version (reservation_mutex_ held).
  void publish_reservations(std::shared_ptr<const ReservationState> state);

  std::string name_;
  std::string cluster_key_;
  std::shared_ptr<BlockDevice> device_;
  ClusterState& cluster_;
  LunIdentity identity_;
  std::unique_ptr<EventSubscription> subscription_;

  TaskSet tasks_;
  UnitMetrics metrics_;

  mutable std::mutex access_mutex_;
  std::vector<TargetPortGroupInfo> port_groups_;
  std::atomic<AluaState> local_group_state_{AluaState::active_optimized};  // this gateway's own group

  // The snapshot is replaced, never changed: a loop may keep reading the one it copied.
  mutable std::mutex reservation_mutex_;
  std::shared_ptr<const ReservationState> reservations_;
  std::atomic<uint64_t> reservations_version_{0};
  std::atomic<bool> reservations_restrict_{false};  // a reservation or SPC-2 holder exists
  std::atomic<bool> channel_lost_{false};           // between state_unknown and state_current
  std::atomic<uint64_t> state_unknown_count_{0};    // a re-read that began before the last one is not enough
  std::atomic<bool> reservations_stale_{false};     // the last re-read failed
  std::atomic<bool> reload_in_flight_{false};

  std::mutex attachments_mutex_;
  std::vector<std::weak_ptr<Attachment>> attachments_;
};

}  // namespace portico
