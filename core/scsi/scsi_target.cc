// Target-level handling: which logical unit a command is for, the commands that do not need
// one (REPORT LUNS, REQUEST SENSE, INQUIRY of a missing LUN), unit attention reporting, and
// target-wide task management.
#include "core/scsi/scsi_target.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>

#include "core/common/big_endian.h"
#include "core/scsi/buffer_estimate.h"
#include "core/scsi/commands.h"
#include "core/scsi/logical_unit.h"
#include "core/scsi/lun_attachment.h"
#include "core/scsi/lun_format.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

// Nexus states kept after detach, so that a nexus that comes back (same initiator port) finds
// its pending unit attentions; bounded so that login churn cannot grow memory.
constexpr size_t kMaxDetachedNexuses = 1024;

void finish_without_unit(ScsiTask& task, UniqueFunction<void()>& done) {
  task.outcome = TaskOutcome::completed;
  done();
}

void fail_without_unit(ScsiTask& task, const SenseData& sense, UniqueFunction<void()>& done) {
  task.status = ScsiStatus::check_condition;
  task.sense = encode_sense(sense, false);
  task.data_in_length = 0;
  finish_without_unit(task, done);
}

}  // namespace

using UnitMap = std::map<uint64_t, std::shared_ptr<LogicalUnit>>;

struct ScsiTarget::Impl {
  // Replaced whole when the configuration adds or removes a LUN; a command reads the snapshot
  // it started with (the unit itself outlives its commands: LogicalUnit::when_idle).
  std::atomic<std::shared_ptr<const UnitMap>> units{std::make_shared<const UnitMap>()};
  std::mutex nexus_mutex;  // also orders a LUN change against attaches (no nexus misses a LUN)
  std::map<std::string, std::shared_ptr<NexusState>> detached;
  // Sessions attached per nexus key: a reinstated session (same ISID) attaches before the old
  // one detaches, and the nexus is lost only when the last of them goes.
  std::map<std::string, size_t> attached;
  // Every attached nexus state, to reach when a LUN is added or removed.
  std::map<const NexusState*, std::weak_ptr<NexusState>> live;

  [[nodiscard]] std::shared_ptr<const UnitMap> snapshot() const { return units.load(std::memory_order_acquire); }

  static LogicalUnit* find(const UnitMap& map, uint64_t lun) {
    auto it = map.find(lun);
    return it == map.end() ? nullptr : it->second.get();
  }

  // Every unit's copy manager finds copy targets among the target's units (SPC-4 5.17).
  static void publish_copy_directory(const UnitMap& map) {
    auto directory = std::make_shared<CopyManager::Directory>();
    for (const auto& [lun, unit] : map) directory->push_back(unit);
    for (const auto& [lun, unit] : map) unit->copy_manager().set_directory(directory);
  }

  std::vector<std::shared_ptr<NexusState>> live_nexuses() {
    std::vector<std::shared_ptr<NexusState>> out;
    for (const auto& [key, weak] : live) {
      if (auto nexus = weak.lock()) out.push_back(std::move(nexus));
    }
    return out;
  }

  void report_luns(const UnitMap& map, ScsiTask& task, UniqueFunction<void()>& done) const {
    const auto cdb = task.cdb();
    const uint8_t select_report = cdb[2];
    const uint32_t allocation_length = load_be32(cdb.data() + 6);
    // SPC-4 6.33: select report 00h/02h list the LUNs; 01h (well-known LUNs only): none here.
    if (select_report > 0x02 && (select_report < 0x10 || select_report > 0x12)) {
      fail_without_unit(task, invalid_field_in_cdb(2), done);
      return;
    }
    if (allocation_length < 16) {
      fail_without_unit(task, invalid_field_in_cdb(6), done);
      return;
    }
    std::vector<uint8_t> out(8, 0);
    if (select_report != 0x01) {
      for (const auto& [lun, unit] : map) {
        const auto bytes = encode_lun(lun);
        out.insert(out.end(), bytes.begin(), bytes.end());
      }
    }
    store_be32(out.data(), static_cast<uint32_t>(out.size() - 8));
    respond_with_data(task, out, allocation_length);
    finish_without_unit(task, done);
  }

  // SPC-4 6.29: REQUEST SENSE returns (and clears) a pending unit attention, else NO SENSE.
  void request_sense(NexusState& nexus, ScsiTask& task, LogicalUnit* unit, UniqueFunction<void()>& done) const {
    const auto cdb = task.cdb();
    const bool descriptor = (cdb[1] & 0x01) != 0;
    const uint32_t allocation_length = cdb[4];
    SenseData sense;
    if (unit == nullptr) {
      sense = illegal_request(asc::kLogicalUnitNotSupported);
    } else if (auto condition = nexus.take_unit_attention(task.lun)) {
      sense = SenseData{SenseKey::unit_attention, *condition, std::nullopt, std::nullopt};
    } else if (auto sanitizing = unit->sanitize_state().pending_condition()) {
      sense = *sanitizing;  // SBC-3 4.11.2: the progress of a sanitize in progress
    }
    respond_with_data(task, encode_sense(sense, descriptor), allocation_length);
    finish_without_unit(task, done);
  }

  // SPC-4 6.6.2: a LUN with no logical unit answers INQUIRY with peripheral qualifier 011b.
  void inquiry_without_unit(ScsiTask& task, UniqueFunction<void()>& done) const {
    const auto cdb = task.cdb();
    if ((cdb[1] & 0x01) != 0) {
      fail_without_unit(task, illegal_request(asc::kLogicalUnitNotSupported), done);
      return;
    }
    std::vector<uint8_t> out(36, 0);
    out[0] = 0x7f;
    out[2] = 0x06;
    out[3] = 0x12;
    out[4] = 31;
    respond_with_data(task, out, load_be16(cdb.data() + 3));
    finish_without_unit(task, done);
  }
};

ScsiTarget::ScsiTarget() : impl_(std::make_unique<Impl>()) {}
ScsiTarget::~ScsiTarget() = default;

void ScsiTarget::add_lun(uint64_t lun, std::shared_ptr<LogicalUnit> unit) {
  std::lock_guard lock(impl_->nexus_mutex);
  auto map = std::make_shared<UnitMap>(*impl_->snapshot());
  (*map)[lun] = unit;
  Impl::publish_copy_directory(*map);
  const std::shared_ptr<const UnitMap> now = map;
  impl_->units.store(std::move(map), std::memory_order_release);
  // SPC-4 6.33 / SAM-5 5.14: every nexus already attached learns that the LUN inventory changed
  // (a host rescans on REPORTED LUNS DATA HAS CHANGED); to it the new unit has just powered on.
  for (const auto& nexus : impl_->live_nexuses()) {
    auto attachment = std::make_shared<LunAttachment>(nexus, lun);
    unit->attach(attachment);
    nexus->add_attachment(std::move(attachment));
    nexus->raise_unit_attention(lun, asc::kPowerOnResetOccurred);
    for (const auto& [number, other] : *now) nexus->raise_unit_attention(number, asc::kReportedLunsDataChanged);
  }
}

std::shared_ptr<LogicalUnit> ScsiTarget::remove_lun(uint64_t lun) {
  std::lock_guard lock(impl_->nexus_mutex);
  auto map = std::make_shared<UnitMap>(*impl_->snapshot());
  auto it = map->find(lun);
  if (it == map->end()) return nullptr;
  auto removed = std::move(it->second);
  map->erase(it);
  Impl::publish_copy_directory(*map);
  const std::shared_ptr<const UnitMap> now = map;
  impl_->units.store(std::move(map), std::memory_order_release);
  for (const auto& nexus : impl_->live_nexuses()) {
    for (const auto& [number, other] : *now) nexus->raise_unit_attention(number, asc::kReportedLunsDataChanged);
  }
  return removed;
}

std::vector<uint64_t> ScsiTarget::luns() const {
  std::vector<uint64_t> out;
  const auto map = impl_->snapshot();
  for (const auto& [lun, unit] : *map) out.push_back(lun);
  return out;
}

std::shared_ptr<LogicalUnit> ScsiTarget::unit(uint64_t lun) const {
  const auto map = impl_->snapshot();
  auto it = map->find(lun);
  return it == map->end() ? nullptr : it->second;
}

std::shared_ptr<NexusState> ScsiTarget::attach(const ItNexus& nexus) {
  std::shared_ptr<NexusState> state;
  std::lock_guard lock(impl_->nexus_mutex);
  ++impl_->attached[nexus.key()];
  auto it = impl_->detached.find(nexus.key());
  if (it != impl_->detached.end()) {
    state = std::move(it->second);
    impl_->detached.erase(it);
  }
  const bool fresh = !state;
  if (fresh) state = std::make_shared<NexusState>(nexus);
  impl_->live[state.get()] = state;
  std::vector<std::shared_ptr<Attachment>> attachments;
  const auto units = impl_->snapshot();
  for (const auto& [lun, unit] : *units) {
    attachments.push_back(std::make_shared<LunAttachment>(state, lun));
    unit->attach(attachments.back());
    // SAM-5 5.14: a new nexus first sees POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    if (fresh) state->raise_unit_attention(lun, asc::kPowerOnResetOccurred);
  }
  state->keep_attachments(std::move(attachments));
  return state;
}

void ScsiTarget::detach(const std::shared_ptr<NexusState>& nexus) {
  if (!nexus) return;
  const std::string key = nexus->nexus().key();
  nexus->drop_attachments();  // units stop raising unit attentions for it
  bool lost = false;
  {
    std::lock_guard lock(impl_->nexus_mutex);
    impl_->live.erase(nexus.get());
    if (impl_->detached.size() >= kMaxDetachedNexuses) impl_->detached.erase(impl_->detached.begin());
    impl_->detached[key] = nexus;
    auto it = impl_->attached.find(key);
    if (it != impl_->attached.end() && --it->second == 0) {
      impl_->attached.erase(it);
      lost = true;
    }
  }
  if (!lost) return;
  // SAM-5 6.3.4: I_T nexus loss ends the SPC-2 reservations the nexus holds.
  const auto units = impl_->snapshot();
  for (const auto& [lun, unit] : *units) {
    unit->release_spc2_reservation_of(key, [name = unit->config().name](bool stored) {
      if (!stored) spdlog::error("{}: reservation of a lost nexus not released", name);
    });
  }
}

void ScsiTarget::admit(ScsiTask& task) {
  const auto units = impl_->snapshot();
  if (LogicalUnit* unit = Impl::find(*units, task.lun)) {
    task.core.admitted = true;
    task.core.arrival_abort_epoch = unit->abort_epoch();
  }
}

uint64_t ScsiTarget::buffer_estimate(const ScsiTask& task) const {
  const auto units = impl_->snapshot();
  const LogicalUnit* unit = Impl::find(*units, task.lun);
  if (unit == nullptr) return kSmallCommandBufferBytes;  // answered without a unit
  return core_buffer_bytes(task.cdb(), unit->block_size(), unit->device().info().max_transfer_bytes);
}

void ScsiTarget::execute(NexusState& nexus, ScsiTask& task, Executor& executor, UniqueFunction<void()> done) {
  task.outcome = TaskOutcome::completed;
  task.status = ScsiStatus::good;
  task.sense.clear();
  task.data_in_length = 0;
  task.data_in_placed = false;
  task.data_out_length_needed = 0;
  const auto cdb = task.cdb();
  const uint8_t opcode = cdb[0];
  const auto units = impl_->snapshot();
  LogicalUnit* unit = Impl::find(*units, task.lun);

  if (opcode == op::kReportLuns) {
    // SAM-5 5.14: REPORT LUNS is not blocked by a unit attention and clears REPORTED LUNS DATA
    // HAS CHANGED.
    if (unit != nullptr) nexus.clear_unit_attention(task.lun, asc::kReportedLunsDataChanged);
    impl_->report_luns(*units, task, done);
    return;
  }
  if (opcode == op::kRequestSense) {
    impl_->request_sense(nexus, task, unit, done);
    return;
  }
  if (unit == nullptr) {
    if (opcode == op::kInquiry) {
      impl_->inquiry_without_unit(task, done);
    } else {
      fail_without_unit(task, illegal_request(asc::kLogicalUnitNotSupported), done);
    }
    return;
  }
  // A task aborted while it collected data-out ends as aborted, ahead of any unit attention.
  if (bool silent = false; unit->aborted_while_waiting(task, nexus, silent)) {
    unit->execute(task, nexus, executor, std::move(done));
    return;
  }
  if (opcode != op::kInquiry) {
    if (auto condition = nexus.take_unit_attention(task.lun)) {
      task.status = ScsiStatus::check_condition;
      task.sense = encode_sense(SenseData{SenseKey::unit_attention, *condition, std::nullopt, std::nullopt},
                                unit->mode().descriptor_sense);
      finish_without_unit(task, done);
      return;
    }
  }
  unit->execute(task, nexus, executor, std::move(done));
}

void ScsiTarget::task_management(NexusState& nexus, TmfFunction function, uint64_t lun, uint64_t referenced_tag,
                                 Executor& executor, UniqueFunction<void(TmfResponse)> done) {
  const bool target_wide = function == TmfFunction::i_t_nexus_reset || function == TmfFunction::target_warm_reset ||
                           function == TmfFunction::target_cold_reset;
  const auto units = impl_->snapshot();
  if (!target_wide) {
    LogicalUnit* unit = Impl::find(*units, lun);
    if (unit == nullptr) {
      done(TmfResponse::lun_does_not_exist);
      return;
    }
    if (function == TmfFunction::query_async_event) {
      // SAM-5 7.10: succeeded when a unit attention is pending for this nexus on this LUN.
      done(nexus.peek_unit_attention(lun) ? TmfResponse::function_succeeded : TmfResponse::function_complete);
      return;
    }
    unit->task_management(nexus, function, referenced_tag, executor, std::move(done));
    return;
  }
  // Target-wide functions run per logical unit; the response waits for all of them.
  struct Join {
    std::atomic<size_t> remaining{1};
    std::atomic<bool> failed{false};
    UniqueFunction<void(TmfResponse)> done;
    void release() {
      if (remaining.fetch_sub(1) == 1) done(failed ? TmfResponse::function_rejected : TmfResponse::function_complete);
    }
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  for (const auto& [number, unit] : *units) {
    join->remaining.fetch_add(1);
    if (function == TmfFunction::i_t_nexus_reset) {
      // SAM-5 7.8: abort this nexus's tasks everywhere and report I_T NEXUS LOSS OCCURRED to it;
      // as for any I_T nexus loss, its SPC-2 reservations end (SAM-5 6.3.4).
      auto waiter = std::make_shared<AbortWaiter>();
      unit->abort_nexus_tasks(nexus, waiter);
      nexus.raise_unit_attention(number, asc::kItNexusLossOccurred);
      waiter->executor = &executor;
      waiter->done = [join, unit = unit, key = nexus.nexus().key(), &executor]() {
        unit->release_spc2_reservation_of(key, [join, &executor](bool stored) {
          executor.post([join, stored]() {
            if (!stored) join->failed = true;
            join->release();
          });
        });
      };
      waiter->release();
    } else {
      unit->task_management(nexus, TmfFunction::logical_unit_reset, 0, executor, [join](TmfResponse response) {
        if (response != TmfResponse::function_complete) join->failed = true;
        join->release();
      });
    }
  }
  join->release();
}

}  // namespace portico::scsi
