// A logical unit: the SCSI command set over a unit (core/unit.h: device, identity, task set,
// reservations, access states, cluster events), with what only SCSI has: mode parameters,
// sanitize, the copy manager and the command dispatch.
//
// A task is linked when execution starts and unlinked in complete(); an aborted task is reported
// (silently, or with TASK ABORTED when TAS=1) only after its backend I/O has ended, and the task
// management function that aborted it completes after that — so an aborted write never lands
// after the function's response. The mode parameters are one atomic word.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/common/result.h"
#include "core/scsi/copy_manager.h"
#include "core/scsi/io_error_sense.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/sanitize_state.h"
#include "core/scsi/scsi_task.h"
#include "core/scsi/sense.h"
#include "core/scsi/task_management.h"
#include "core/unit.h"

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


class LogicalUnit : public Unit {
 public:
  static Result<std::shared_ptr<LogicalUnit>> create(LogicalUnitConfig config, std::shared_ptr<BlockDevice> device,
                                                     ClusterState& cluster);

  [[nodiscard]] const LogicalUnitConfig& config() const { return config_; }
  [[nodiscard]] std::shared_ptr<LogicalUnit> shared_self() {
    return std::static_pointer_cast<LogicalUnit>(shared_from_this());
  }
  // log2 of logical blocks per physical block: the configured physical block, else the device's.
  [[nodiscard]] uint32_t physical_block_exponent() const;
  [[nodiscard]] ModeParameters mode() const;
  void set_mode(const ModeParameters& mode);
  // Read only by configuration, or by the control mode page's SWP.
  [[nodiscard]] bool write_protected() const override { return config_.read_only || mode().software_write_protect; }
  // MODE SELECT's change: stored in the cluster's record of the unit (guarded), applied on every
  // gateway, MODE PARAMETERS CHANGED for every other nexus; completes `task` (persistent_reserve.cc).
  void store_mode(ScsiTask& task, const ModeParameters& mode);

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

  // SBC-3 4.11: the sanitize operation running on (or failed on) this unit (sanitize.cc).
  [[nodiscard]] SanitizeState& sanitize_state() { return sanitize_; }

  // SPC-4 5.17: the copy manager serving EXTENDED COPY / RECEIVE COPY RESULTS on this unit.
  [[nodiscard]] CopyManager& copy_manager() { return copy_manager_; }

  // Task management for this unit (SAM-5 7). `done` runs on `executor`.
  void task_management(NexusState& nexus, TmfFunction function, uint64_t referenced_tag, Executor& executor,
                       UniqueFunction<void(TmfResponse)> done);
  // Aborts every task of `nexus` (I_T NEXUS RESET); `waiter` is released per task.
  void abort_nexus_tasks(const NexusState& nexus, const std::shared_ptr<AbortWaiter>& waiter) {
    abort_initiator_tasks(nexus.key(), waiter);
  }
  // True when an abort recorded after the task arrived covers it; `silent`: that abort came
  // from the task's own nexus (no status, SAM-5 7.2), else TAS decides.
  bool aborted_while_waiting(const ScsiTask& task, const NexusState& nexus, bool& silent) const {
    return Unit::aborted_while_waiting(task, nexus.nexus(), nexus.key(), silent);
  }

  // --- ALUA (access_state.cc) ---
  // The sense a command gets because its port's group is not active (SPC-4 5.16.2.4), or because
  // this gateway cannot vouch for the cluster state right now, if any.
  [[nodiscard]] std::optional<SenseData> access_state_refusal(const ScsiTask& task, const NexusState& nexus) const;

  // --- reservations (persistent_reserve.cc) ---
  // True when the cached state makes this command end in RESERVATION CONFLICT. Called on the
  // task's executor.
  [[nodiscard]] bool reservation_conflict(const ScsiTask& task, const NexusState& nexus);
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
  // The record's SCSI parts: its mode parameters and sanitize operation (persistent_reserve.cc).
  void on_record_applied(const ReservationState& state) override;
  // The gateway running a sanitize may be the one that went away.
  void on_access_states_changed() override { fail_orphaned_sanitize(); }

  // A task management function's answer, posted to `executor`: complete when ok, else rejected.
  static std::function<void(bool)> tmf_responder(Executor& executor, UniqueFunction<void(TmfResponse)> done);

  LogicalUnitConfig config_;
  std::atomic<uint8_t> mode_bits_{0};  // ModeParameters, one bit each (logical_unit.cc)
  std::atomic<bool> orphan_check_in_flight_{false};

  SanitizeState sanitize_;
  CopyManager copy_manager_;
  IoErrorLog io_error_log_;
};

}  // namespace portico::scsi
