// A logical unit: a block device with an identity, mode parameters and a task set.
//
// The task set links every task the core is executing for this unit, so that task management
// (ABORT TASK, LUN RESET, ...) can find them wherever their nexus lives. A task is linked when
// execution starts and unlinked in complete(); an aborted task is reported (silently, or with
// TASK ABORTED when TAS=1) only after its backend I/O has ended, and the task management
// function that aborted it completes after that — so an aborted write never lands after the
// function's response.
//
// The command path takes no lock: each event loop links its tasks in its own slot
// (unit_loop_slots.h) and reads the reservations through its own copy of an immutable snapshot,
// the mode parameters from one atomic word. Task management reaches a loop's tasks by posting to
// that loop (task_set.cc).
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
#include "core/common/result.h"
#include "core/reservations/reservation_state.h"
#include "core/scsi/copy_manager.h"
#include "core/scsi/io_error_sense.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/sanitize_state.h"
#include "core/scsi/scsi_task.h"
#include "core/scsi/sense.h"
#include "core/scsi/task_management.h"
#include "core/task_set.h"

namespace portico::scsi {

struct LogicalUnitConfig {
  std::string name;              // for log lines: "iqn...:quickstart lun 0"
  std::string vendor = "PORTICO";
  std::string product = "VIRTUAL-DISK";
  std::string revision = "0001";
  std::string identity_seed;     // the cluster derives NAA and serial from it
  std::string serial_override;   // replaces the derived unit serial number when not empty
  bool read_only = false;        // write protected: MODE SENSE WP=1, writes fail DATA PROTECT
  uint32_t physical_block_size = 0;  // reported physical block (READ CAPACITY 16); 0 = the device's
  uint64_t sanitize_bytes_per_second = 0;  // pace of a SANITIZE operation; 0 = as fast as it goes
};

// Mode parameters (SPC-4 7.5, SBC-3 6.4) that MODE SELECT may change.
struct ModeParameters {
  bool descriptor_sense = false;  // control page D_SENSE
  bool task_aborted_status = true;  // control page TAS
  bool write_cache_enabled = false;  // caching page WCE
  bool software_write_protect = false;  // control page SWP (SPC-4 7.5.8): write protected as read_only
};


class LogicalUnit : public std::enable_shared_from_this<LogicalUnit> {
 public:
  static Result<std::shared_ptr<LogicalUnit>> create(LogicalUnitConfig config, std::shared_ptr<BlockDevice> device,
                                                     ClusterState& cluster);
  ~LogicalUnit();
  LogicalUnit(const LogicalUnit&) = delete;
  LogicalUnit& operator=(const LogicalUnit&) = delete;

  [[nodiscard]] const LogicalUnitConfig& config() const { return config_; }
  [[nodiscard]] const LunIdentity& identity() const { return identity_; }
  [[nodiscard]] BlockDevice& device() const { return *device_; }
  [[nodiscard]] ClusterState& cluster() const { return cluster_; }
  [[nodiscard]] uint32_t block_size() const { return device_->info().block_size; }
  [[nodiscard]] uint64_t block_count() const { return device_->capacity_bytes() / block_size(); }
  // log2 of logical blocks per physical block: the configured physical block, else the device's.
  [[nodiscard]] uint32_t physical_block_exponent() const;
  [[nodiscard]] ModeParameters mode() const;
  void set_mode(const ModeParameters& mode);
  // MODE SELECT's change: stored in the cluster's record of the unit (guarded), applied on every
  // gateway, MODE PARAMETERS CHANGED for every other nexus; completes `task` (persistent_reserve.cc).
  void store_mode(ScsiTask& task, const ModeParameters& mode);

  // The initiators that can see this unit, through any command set (core/attachment.h). The unit
  // keeps them weakly: whoever attaches keeps the attachment alive while it lasts.
  void attach(const std::shared_ptr<Attachment>& attachment);
  // Tells every attached initiator but the one whose Initiator::key() is `except_key`.
  void notify_all(Notice notice, const std::string& except_key = {});

  // Starts a task (the caller has checked unit attentions): links it and runs the command.
  void execute(ScsiTask& task, NexusState& nexus, Executor& executor, UniqueFunction<void()> done);
  // Ends a task: unlinks it, applies an abort if one happened, runs the front-end's `done`.
  // Called on the task's executor (its thread, for a single-threaded one).
  void complete(ScsiTask& task);
  // Ends a task with CHECK CONDITION and `sense` (fixed or descriptor per D_SENSE).
  void fail(ScsiTask& task, const SenseData& sense);
  void fail(ScsiTask& task, ScsiStatus status);
  // Ends a task whose backend I/O failed with `error` (a positive errno) with the status and
  // sense that let the host retry, fail over or stop (io_error_sense.h), and logs it (rate
  // limited, naming the errno).
  void fail_io(ScsiTask& task, int error, IoDirection direction);
  // True once a task management function has aborted `task` (for long-running commands that
  // check between steps, e.g. SANITIZE). Called on the task's executor.
  [[nodiscard]] bool abort_requested(const ScsiTask& task) { return tasks_.abort_requested(task); }

  // SBC-3 4.11: the sanitize operation running on (or failed on) this unit (sanitize.cc).
  [[nodiscard]] SanitizeState& sanitize_state() { return sanitize_; }

  // SPC-4 5.17: the copy manager serving EXTENDED COPY / RECEIVE COPY RESULTS on this unit.
  [[nodiscard]] CopyManager& copy_manager() { return copy_manager_; }

  // Task management for this unit (SAM-5 7). `done` runs on `executor`.
  void task_management(NexusState& nexus, TmfFunction function, uint64_t referenced_tag, Executor& executor,
                       UniqueFunction<void(TmfResponse)> done);
  // Aborts every task of `nexus` (I_T NEXUS RESET); `waiter` is released per task.
  void abort_nexus_tasks(const NexusState& nexus, const std::shared_ptr<AbortWaiter>& waiter);

  // --- aborts of tasks still collecting data-out (core/task_set.h) ---
  // The epoch a task records when it arrives; it grows with every abort of more than one tag.
  [[nodiscard]] uint64_t abort_epoch() const { return tasks_.abort_epoch(); }
  // True when an abort recorded after the task arrived covers it; `silent`: that abort came
  // from the task's own nexus (no status, SAM-5 7.2), else TAS decides.
  bool aborted_while_waiting(const ScsiTask& task, const NexusState& nexus, bool& silent) const {
    return tasks_.aborted_while_waiting(task, nexus.nexus(), nexus.key(), silent);
  }

  // --- ALUA (access_state.cc) ---
  // Re-reads the target port groups' states from the cluster.
  void refresh_access_states();
  // The sense a command gets because its port's group is not active (SPC-4 5.16.2.4), or because
  // this gateway cannot vouch for the cluster state right now, if any.
  [[nodiscard]] std::optional<SenseData> access_state_refusal(const ScsiTask& task, const NexusState& nexus) const;
  // False while the cached cluster state may be stale: the event channel is lost, or a re-read
  // of the reservation state failed. The unit then refuses commands with a path-failing NOT READY.
  [[nodiscard]] bool state_is_current() const {
    return !channel_lost_.load(std::memory_order_acquire) && !reservations_stale_.load(std::memory_order_acquire) &&
           std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
                   .count() <= cluster_.state_proven_until_ns();
  }

  // --- reservations (persistent_reserve.cc) ---
  // The name this unit's shared state and events are kept under in the cluster.
  [[nodiscard]] const std::string& cluster_key() const { return cluster_key_; }
  // A copy of the cached reservation state (kept exact by the cluster's events).
  [[nodiscard]] ReservationState reservations() const;
  void set_reservations(ReservationState state);
  // True when the cached state makes this command end in RESERVATION CONFLICT. Called on the
  // task's executor: a loop reads its own copy of the snapshot, renewed when the version moves.
  [[nodiscard]] bool reservation_conflict(const ScsiTask& task, const NexusState& nexus);
  // True when `state` can make any command conflict (the fast path skips the rules otherwise):
  // registrations alone never do.
  [[nodiscard]] static bool restricts(const ReservationState& state) {
    return state.reservation.has_value() || !state.spc2_holder.empty();
  }
  // Reads the reservation record from the cluster into the cache; `done(ok)` on any thread.
  void reload_reservations(UniqueFunction<void(bool)> done);
  // Ends the SPC-2 reservation that the nexus `nexus_key` holds, if any, because that nexus is
  // lost; `done(stored)` on any thread.
  void release_spc2_reservation_of(const std::string& nexus_key, std::function<void(bool)> done);
  // Ends any SPC-2 reservation because of a LOGICAL UNIT RESET or target reset asked for by
  // `origin_nexus`; `done(stored)` on any thread.
  void release_spc2_reservation_on_reset(const std::string& origin_nexus, std::function<void(bool)> done);
  // The sanitize operation in the same record: `change` edits it and says whether it changed
  // anything; the change is stored (guarded, retried on a concurrent change) and applied on every
  // gateway before `done(stored)` runs, on any thread.
  void update_shared_sanitize(std::function<bool(std::optional<SharedSanitize>&)> change,
                              std::function<void(bool)> done);
  // SBC-3 4.11.4: an operation whose gateway is gone (its target port group unavailable, or this
  // gateway restarted while running it) left the medium partly sanitized: the record becomes
  // failed, so that every gateway reports it and EXIT FAILURE MODE / a new SANITIZE can end it.
  void fail_orphaned_sanitize();

 private:
  LogicalUnit(LogicalUnitConfig config, std::shared_ptr<BlockDevice> device, ClusterState& cluster,
              LunIdentity identity);
  void subscribe_to_events();
  void on_cluster_event(const LunEvent& event, UniqueFunction<void()> applied);
  void on_reservation_event(const LunEvent& event, UniqueFunction<void()> applied);
  // cluster_channel.cc: losing and regaining the cluster's event channel.
  void on_state_unknown();
  void on_state_current(UniqueFunction<void()> applied);
  // A re-read of the reservation state failed: stop serving until one succeeds.
  void mark_reservations_stale();
  // Starts a re-read of stale reservation state unless one is running (from the command path).
  void retry_stale_reload();

  // This gateway's initiators that can see the unit.
  std::vector<std::shared_ptr<Attachment>> attachments();
  // Aborts every task of the unit (a reset or CLEAR TASK SET asked for by `origin_key`), the
  // waiting ones through the abort record; the waiter is not yet released.
  std::shared_ptr<AbortWaiter> abort_every_task(const std::string& origin_key);
  // Releases `waiter`: `applied` runs once every task it waits for has ended.
  static void acknowledge_when_ended(const std::shared_ptr<AbortWaiter>& waiter, UniqueFunction<void()> applied);
  // A task management function's answer, posted to `executor`: complete when ok, else rejected.
  static std::function<void(bool)> tmf_responder(Executor& executor, UniqueFunction<void(TmfResponse)> done);
  // Marks the matching tasks of the task set aborted (TaskSet::abort_matching), keeping the unit
  // alive while other loops visit their tasks.
  void abort_matching(TaskSet::TaskMatch match, std::string origin_key, const std::shared_ptr<AbortWaiter>& waiter,
                      uint64_t before_epoch = UINT64_MAX) {
    tasks_.abort_matching(std::move(match), std::move(origin_key), waiter, shared_from_this(), before_epoch);
  }

  LogicalUnitConfig config_;
  std::shared_ptr<BlockDevice> device_;
  ClusterState& cluster_;
  LunIdentity identity_;
  std::string cluster_key_;
  std::unique_ptr<EventSubscription> subscription_;

  std::atomic<uint8_t> mode_bits_{0};  // ModeParameters, one bit each (logical_unit.cc)

  TaskSet tasks_;

  mutable std::mutex access_mutex_;
  std::vector<TargetPortGroupInfo> port_groups_;
  std::atomic<bool> local_group_active_{true};  // this gateway's own target port group is active

  // Installs a new snapshot and moves the version (reservation_mutex_ held).
  void publish_reservations(std::shared_ptr<const ReservationState> state);

  // The snapshot is replaced, never changed: a loop may keep reading the one it copied.
  mutable std::mutex reservation_mutex_;
  std::shared_ptr<const ReservationState> reservations_;
  std::atomic<uint64_t> reservations_version_{0};
  std::atomic<bool> orphan_check_in_flight_{false};
  std::atomic<bool> reservations_restrict_{false};  // a reservation or SPC-2 holder exists
  std::atomic<bool> channel_lost_{false};         // between state_unknown and state_current
  std::atomic<uint64_t> state_unknown_count_{0};  // a re-read that began before the last one is not enough
  std::atomic<bool> reservations_stale_{false};   // the last re-read failed
  std::atomic<bool> reload_in_flight_{false};

  std::mutex attachments_mutex_;
  std::vector<std::weak_ptr<Attachment>> attachments_;


  SanitizeState sanitize_;
  CopyManager copy_manager_;
  IoErrorLog io_error_log_;
};

}  // namespace portico::scsi
