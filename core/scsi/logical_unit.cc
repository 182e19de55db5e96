#include "core/scsi/logical_unit.h"

#include "core/scsi/commands.h"
#include "core/scsi/medium_access.h"
#include "core/scsi/notice_sense.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

// ModeParameters in one atomic word: every command reads them, MODE SELECT rarely writes them.
constexpr uint8_t kDescriptorSense = 1u << 0;
constexpr uint8_t kTaskAbortedStatus = 1u << 1;
constexpr uint8_t kWriteCacheEnabled = 1u << 2;
constexpr uint8_t kSoftwareWriteProtect = 1u << 3;

uint8_t mode_to_bits(const ModeParameters& mode) {
  return static_cast<uint8_t>((mode.descriptor_sense ? kDescriptorSense : 0) |
                              (mode.task_aborted_status ? kTaskAbortedStatus : 0) |
                              (mode.write_cache_enabled ? kWriteCacheEnabled : 0) |
                              (mode.software_write_protect ? kSoftwareWriteProtect : 0));
}

ModeParameters mode_from_bits(uint8_t bits) {
  return ModeParameters{(bits & kDescriptorSense) != 0, (bits & kTaskAbortedStatus) != 0,
                        (bits & kWriteCacheEnabled) != 0, (bits & kSoftwareWriteProtect) != 0};
}

}  // namespace

uint32_t LogicalUnit::physical_block_exponent() const {
  if (config_.physical_block_size == 0) return device().info().physical_block_exponent;
  return static_cast<uint32_t>(__builtin_ctz(config_.physical_block_size / block_size()));
}

Result<std::shared_ptr<LogicalUnit>> LogicalUnit::create(LogicalUnitConfig config, std::shared_ptr<BlockDevice> device,
                                                         ClusterState& cluster) {
  if (!device) return error(ErrorCode::invalid_argument, config.name + ": no backing device");
  const uint32_t block_size = device->info().block_size;
  if (block_size != 512 && block_size != 4096) {
    return error(ErrorCode::invalid_argument, config.name + ": block size " + std::to_string(block_size) +
                                                  " is not 512 or 4096");
  }
  if (const uint32_t physical = config.physical_block_size; physical != 0) {
    if (physical < block_size || physical % block_size != 0 || (physical & (physical - 1)) != 0 ||
        physical / block_size > (1u << 15)) {
      return error(ErrorCode::invalid_argument, config.name + ": physical block size " + std::to_string(physical) +
                                                    " is not a power-of-two multiple of the block size " +
                                                    std::to_string(block_size));
    }
  }
  if (device->capacity_bytes() < block_size) {
    return error(ErrorCode::invalid_argument, config.name + ": device is smaller than one block");
  }
  auto identity = cluster.lun_identity(config.identity_seed.empty() ? config.name : config.identity_seed);
  if (!identity.ok()) return error(identity.status().code(), config.name + ": " + identity.status().message());
  if (!config.serial_override.empty()) identity->serial = config.serial_override;
  std::shared_ptr<LogicalUnit> unit(new LogicalUnit(std::move(config), std::move(device), cluster, *identity));
  if (auto started = unit->start(); !started.ok()) return started;
  return unit;
}

LogicalUnit::LogicalUnit(LogicalUnitConfig config, std::shared_ptr<BlockDevice> device, ClusterState& cluster,
                         LunIdentity identity)
    : Unit(config.name, config.identity_seed.empty() ? config.name : config.identity_seed, std::move(device), cluster,
           std::move(identity)),
      config_(std::move(config)) {
  ModeParameters mode;
  mode.write_cache_enabled = this->device().info().volatile_cache;
  set_mode(mode);
}

ModeParameters LogicalUnit::mode() const { return mode_from_bits(mode_bits_.load(std::memory_order_acquire)); }

void LogicalUnit::set_mode(const ModeParameters& mode) {
  mode_bits_.store(mode_to_bits(mode), std::memory_order_release);
}

void LogicalUnit::execute(ScsiTask& task, NexusState& nexus, Executor& executor, UniqueFunction<void()> done) {
  task.nexus = &nexus;
  task.unit = this;
  if (!admit(task, nexus.nexus(), nexus.key(), executor, std::move(done))) {
    complete(task);
    return;
  }
  if (auto refusal = access_state_refusal(task, nexus)) {
    if (!state_is_current()) retry_stale_reload();
    fail(task, *refusal);
    return;
  }
  if (reservation_conflict(task, nexus)) {
    fail(task, ScsiStatus::reservation_conflict);
    return;
  }
  if (modifies_medium(task.cdb()) && write_protected()) {
    // SBC-3 4.10 (write protection): DATA PROTECT, WRITE PROTECTED.
    fail(task, SenseData{SenseKey::data_protect, asc::kWriteProtected, std::nullopt, std::nullopt});
    return;
  }
  if (auto refusal = sanitize_.refusal(task.cdb())) {
    // SBC-3 4.11: NOT READY while a sanitize runs, MEDIUM ERROR after one failed.
    fail(task, *refusal);
    return;
  }
  dispatch_command(*this, task);
}

namespace {

IoClass io_class_of(std::span<const uint8_t> cdb) {
  if (cdb.empty()) return IoClass::other;
  switch (cdb[0]) {
    case op::kRead6:
    case op::kRead10:
    case op::kRead12:
    case op::kRead16: return IoClass::read;
    case op::kWrite6:
    case op::kWrite10:
    case op::kWrite12:
    case op::kWrite16:
    case op::kWriteAndVerify10:
    case op::kWriteAndVerify12:
    case op::kWriteAndVerify16: return IoClass::write;
    case op::kCompareAndWrite: return IoClass::compare_and_write;
    default: return IoClass::other;
  }
}

}  // namespace

void LogicalUnit::complete(ScsiTask& task) {
  // Once unlinked, no abort can reach the task any more: its marks are read without a lock.
  unlink(task);
  const bool aborted = task.core.aborted;
  const bool by_other = aborted && !task.core.aborted_by_own_initiator;
  const bool silent = !by_other || !mode().task_aborted_status;
  // SPC-4 7.5.8 (TAS=0): another nexus's task that was aborted ends silently, and its nexus
  // learns of it by a unit attention.
  if (by_other && silent) {
    task.nexus->raise_unit_attention(task.lun, unit_attention_of(Notice::commands_cleared_by_another_initiator));
  }
  if (aborted) {
    // SAM-5 7.1 / SPC-4 7.5.8: a task aborted by its own nexus's function ends silently; one
    // aborted by another nexus's gets TASK ABORTED when TAS=1.
    task.sense.clear();
    task.data_in_length = 0;
    task.data_in_placed = false;
    if (silent) {
      task.outcome = TaskOutcome::aborted_silently;
    } else {
      task.outcome = TaskOutcome::completed;
      task.status = ScsiStatus::task_aborted;
    }
  }
  const IoClass io_class = io_class_of(task.cdb());
  const bool ok = task.outcome == TaskOutcome::completed && task.status == ScsiStatus::good;
  // Bytes moved: data-in for reads, the data-out the CDB asked for otherwise.
  const uint64_t bytes = io_class == IoClass::read ? task.data_in_length : task.data_out_length_needed;
  record_completion(task, io_class, bytes, ok);
  finish(task);
}

void LogicalUnit::fail(ScsiTask& task, const SenseData& sense) {
  task.status = ScsiStatus::check_condition;
  task.sense = encode_sense(sense, mode().descriptor_sense);
  task.data_in_length = 0;
  complete(task);
}

void LogicalUnit::fail(ScsiTask& task, ScsiStatus status) {
  task.status = status;
  task.sense.clear();
  task.data_in_length = 0;
  complete(task);
}

std::function<void(bool)> LogicalUnit::tmf_responder(Executor& executor, UniqueFunction<void(TmfResponse)> done) {
  auto shared_done = std::make_shared<UniqueFunction<void(TmfResponse)>>(std::move(done));
  return [&executor, shared_done](bool ok) {
    executor.post([shared_done, ok]() {
      (*shared_done)(ok ? TmfResponse::function_complete : TmfResponse::function_rejected);
    });
  };
}

void LogicalUnit::task_management(NexusState& nexus, TmfFunction function, uint64_t referenced_tag,
                                  Executor& executor, UniqueFunction<void(TmfResponse)> done) {
  metrics().count_task_management(function == TmfFunction::abort_task       ? TaskManagementKind::abort_task
                                  : function == TmfFunction::abort_task_set ? TaskManagementKind::abort_task_set
                                  : function == TmfFunction::clear_task_set ? TaskManagementKind::clear_task_set
                                  : function == TmfFunction::logical_unit_reset ? TaskManagementKind::lun_reset
                                                                                 : TaskManagementKind::other);
  auto finish_after = [&executor](std::shared_ptr<AbortWaiter> waiter, UniqueFunction<void()> then) {
    waiter->executor = &executor;
    waiter->done = std::move(then);
    waiter->release();
  };
  switch (function) {
    case TmfFunction::abort_task: {
      // SAM-5 7.2: abort the task with this tag from this nexus, if the LU still has it.
      abort_task(nexus.key(), referenced_tag, executor, [done = std::move(done)](bool found) mutable {
        done(found ? TmfResponse::function_complete : TmfResponse::task_does_not_exist);
      });
      return;
    }
    case TmfFunction::abort_task_set: {
      // SAM-5 7.3: every task of this nexus in this LU.
      auto waiter = std::make_shared<AbortWaiter>();
      abort_initiator_tasks(nexus.key(), waiter);
      finish_after(waiter, [done = std::move(done)]() mutable { done(TmfResponse::function_complete); });
      return;
    }
    case TmfFunction::clear_task_set: {
      // SAM-5 7.5: every task of every nexus in this LU (TST=000b: one task set, shared by every
      // gateway): each gateway aborts its tasks before it acknowledges.
      LunEvent event;
      event.kind = LunEvent::Kind::clear_task_set;
      event.origin_nexus = nexus.nexus().key();
      auto respond = tmf_responder(executor, std::move(done));
      cluster().publish(cluster_key(), event, [respond](Status status) { respond(status.ok()); });
      return;
    }
    case TmfFunction::logical_unit_reset:
    case TmfFunction::target_warm_reset:
    case TmfFunction::target_cold_reset: {
      // SAM-5 7.7: a reset of the LU on every gateway that serves it; each gateway aborts its
      // tasks and raises the reset unit attention before it acknowledges.
      LunEvent event;
      event.kind = LunEvent::Kind::logical_unit_reset;
      event.origin_nexus = nexus.nexus().key();
      auto respond = tmf_responder(executor, std::move(done));
      // SAM-5 6.3.3: the reset ends any SPC-2 reservation (persistent ones stay); that is stored
      // before the reset is announced, so no gateway serves the old holder after it.
      release_spc2_reservation_on_reset(
          event.origin_nexus, [self = shared_self(), event, respond](bool stored) {
            if (!stored) return respond(false);
            self->cluster().publish(self->cluster_key(), event, [respond](Status status) { respond(status.ok()); });
          });
      return;
    }
    case TmfFunction::query_task:
    case TmfFunction::query_task_set: {
      // SAM-5 7.9, 7.11: succeeded when the task (any task of this nexus) is in the task set
      // and not aborted.
      const bool any_tag = function == TmfFunction::query_task_set;
      auto found = std::make_shared<std::atomic<bool>>(false);
      auto waiter = std::make_shared<AbortWaiter>();
      const std::string* of = &nexus.key();
      tasks().visit(
          [of, any_tag, referenced_tag, found](Task& t) {
            if (t.core.initiator_key == of && (any_tag || t.tag == referenced_tag) && !t.core.aborted) {
              found->store(true);
            }
          },
          waiter, shared_from_this());
      finish_after(waiter, [done = std::move(done), found]() mutable {
        done(found->load() ? TmfResponse::function_succeeded : TmfResponse::function_complete);
      });
      return;
    }
    case TmfFunction::query_async_event:  // answered by ScsiTarget, which knows the LUN
    case TmfFunction::clear_aca:
    case TmfFunction::i_t_nexus_reset:
      break;
  }
  done(TmfResponse::function_not_supported);
}

}  // namespace portico::scsi
