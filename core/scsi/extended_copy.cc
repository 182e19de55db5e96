// EXTENDED COPY (LID1) (SPC-4 6.4): block -> block copies between the logical units of this
// SCSI target device (or within one), run by the copy manager of the unit that received the
// command. The data moves through one buffer of at most copy_limits::kChunkBytes: a read from the
// source's backend, then a write to the destination's, then the next chunk, all on the task's
// executor.
//
// A copy target other than the unit the command came to is checked as if this nexus had sent it
// the reads or writes itself: its ALUA state, its reservations and its write protection. The
// command's own unit was checked by LogicalUnit::execute(), where EXTENDED COPY counts as a
// command that writes.
#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <variant>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/copy_manager.h"
#include "core/scsi/extended_copy_params.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/opcodes.h"
#include "core/scsi/reservations/access_rules.h"

namespace portico::scsi {
namespace {

// SPC-4 6.4.4: a failure after the parameter list was accepted ends the command with COPY
// ABORTED. A copy target that this copy manager cannot use is COPY TARGET DEVICE NOT REACHABLE;
// a failed read or write, or a range the copy target would refuse, carries no more specific code.
SenseData copy_aborted(Asc a = asc::kNoAdditionalSense) { return {SenseKey::copy_aborted, a, std::nullopt, std::nullopt}; }
SenseData unreachable() { return copy_aborted(asc::kCopyTargetDeviceNotReachable); }

// One segment with its copy targets resolved and its length in bytes.
struct PlannedSegment {
  std::shared_ptr<LogicalUnit> source;
  std::shared_ptr<LogicalUnit> destination;
  uint64_t source_offset = 0;
  uint64_t destination_offset = 0;
  uint64_t bytes = 0;
};

// What stops a copy before any data moves: a sense, or a status without sense.
struct Refusal {
  std::optional<SenseData> sense;
  ScsiStatus status = ScsiStatus::check_condition;
};

bool range_fits(const LogicalUnit& unit, uint64_t offset, uint64_t bytes) {
  const uint64_t capacity = unit.device().capacity_bytes();
  return offset <= capacity && bytes <= capacity - offset;
}

// Would this nexus's own READ (16) / WRITE (16) to `unit` be refused? (SPC-4 5.12 table of
// commands allowed under reservations; SPC-4 5.16.2.4 ALUA.)
std::optional<Refusal> check_access(LogicalUnit& own, LogicalUnit& unit, const ScsiTask& task, bool writes) {
  if (&unit == &own) return std::nullopt;
  const NexusState& nexus = *task.nexus;
  if (unit.access_state_refusal(task, nexus)) return Refusal{unreachable()};
  std::array<uint8_t, 16> cdb{};
  cdb[0] = writes ? op::kWrite16 : op::kRead16;
  if (reservation_conflict(unit.reservations(), nexus.nexus(), cdb)) {
    return Refusal{std::nullopt, ScsiStatus::reservation_conflict};
  }
  return std::nullopt;
}

std::variant<std::vector<PlannedSegment>, Refusal> plan(LogicalUnit& unit, const ScsiTask& task,
                                                        const CopyParameters& params) {
  // Resolve each target descriptor once; a unit that cannot be found fails only the segments
  // that use it (SPC-4 6.4.5.1).
  std::vector<std::shared_ptr<LogicalUnit>> units;
  for (const auto& target : params.targets) {
    std::shared_ptr<LogicalUnit> found;
    if (!target.null_device && target.naa) {
      found = *target.naa == unit.identity().naa ? unit.shared_self() : unit.copy_manager().find_unit_by_naa(*target.naa);
    }
    if (found && target.disk_block_length != found->block_size()) {
      return Refusal{invalid_field_in_parameter_list(static_cast<uint16_t>(target.offset + 29))};
    }
    units.push_back(std::move(found));
  }
  std::vector<PlannedSegment> planned;
  for (const auto& segment : params.segments) {
    if (segment.source >= units.size() || segment.destination >= units.size()) return Refusal{unreachable()};
    PlannedSegment p{units[segment.source], units[segment.destination], 0, 0, 0};
    if (!p.source || !p.destination) return Refusal{unreachable()};
    const uint32_t source_block = p.source->block_size();
    const uint32_t destination_block = p.destination->block_size();
    // SPC-4 6.4.6.5: DC selects whose blocks BLOCK DEVICE NUMBER OF BLOCKS counts; the bytes
    // must be whole blocks of the other copy target too.
    p.bytes = uint64_t{segment.blocks} * (segment.destination_count ? destination_block : source_block);
    const auto blocks_field = static_cast<uint16_t>(segment.offset + 10);
    if (p.bytes % source_block != 0 || p.bytes % destination_block != 0 || p.bytes > copy_limits::kMaxSegmentBytes) {
      return Refusal{invalid_field_in_parameter_list(blocks_field)};
    }
    p.source_offset = segment.source_lba * source_block;
    p.destination_offset = segment.destination_lba * destination_block;
    if (segment.source_lba > p.source->block_count() || segment.destination_lba > p.destination->block_count() ||
        !range_fits(*p.source, p.source_offset, p.bytes) || !range_fits(*p.destination, p.destination_offset, p.bytes)) {
      return Refusal{copy_aborted()};
    }
    if (p.destination->config().read_only) {
      // SBC-3 4.10: the write protection of the destination refuses the copy.
      return Refusal{SenseData{SenseKey::data_protect, asc::kWriteProtected, std::nullopt, std::nullopt}};
    }
    if (auto refusal = check_access(unit, *p.source, task, false)) return *refusal;
    if (auto refusal = check_access(unit, *p.destination, task, true)) return *refusal;
    planned.push_back(std::move(p));
  }
  return planned;
}

// A running copy. Owned by the completions of its backend I/O; ends the task exactly once.
class CopyJob : public std::enable_shared_from_this<CopyJob> {
 public:
  CopyJob(LogicalUnit& unit, ScsiTask& task, std::optional<uint8_t> list_id, std::vector<PlannedSegment> segments)
      : unit_(unit), task_(task), nexus_key_(task.nexus->nexus().key()), list_id_(list_id),
        segments_(std::move(segments)) {}

  void start() {
    uint64_t chunk = copy_limits::kChunkBytes;
    uint64_t largest = 0;
    for (const auto& s : segments_) {
      chunk = std::min<uint64_t>({chunk, s.source->device().info().max_transfer_bytes,
                                  s.destination->device().info().max_transfer_bytes});
      largest = std::max(largest, s.bytes);
    }
    // Whole blocks of 512 and of 4096 bytes (the block sizes a unit may have).
    chunk = std::max<uint64_t>(chunk - chunk % 4096, 4096);
    buffer_ = IoBuffer(static_cast<size_t>(std::min(chunk, std::max<uint64_t>(largest, 1))));
    next();
  }

 private:
  void next() {
    if (unit_.abort_requested(task_)) return finish(std::nullopt);  // complete() reports the abort
    while (segment_ < segments_.size() && done_in_segment_ == segments_[segment_].bytes) {
      ++segment_;
      done_in_segment_ = 0;
      unit_.copy_manager().progress(nexus_key_, list_id_, static_cast<uint16_t>(segment_), transferred_);
    }
    if (segment_ == segments_.size()) return finish(std::nullopt);
    const PlannedSegment& s = segments_[segment_];
    const auto length = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), s.bytes - done_in_segment_));
    // The capacity may have shrunk since the plan was made (a resize): never read past it.
    if (!range_fits(*s.source, s.source_offset + done_in_segment_, length) ||
        !range_fits(*s.destination, s.destination_offset + done_in_segment_, length)) {
      return finish(copy_aborted());
    }
    s.source->device().read(*task_.core.executor, s.source_offset + done_in_segment_, {buffer_.data(), length},
                            [self = shared_from_this(), length](IoStatus status) { self->on_read(status, length); });
  }

  void on_read(IoStatus status, size_t length) {
    if (!status.ok()) return finish(copy_aborted());
    const PlannedSegment& s = segments_[segment_];
    s.destination->device().write(*task_.core.executor, s.destination_offset + done_in_segment_,
                                  {buffer_.data(), length}, false,
                                  [self = shared_from_this(), length](IoStatus written) {
                                    self->on_written(written, length);
                                  });
  }

  void on_written(IoStatus status, size_t length) {
    if (!status.ok()) return finish(copy_aborted());
    done_in_segment_ += length;
    transferred_ += length;
    unit_.copy_manager().progress(nexus_key_, list_id_, static_cast<uint16_t>(segment_), transferred_);
    // Through the executor rather than from the completion: a backend that completes inline
    // would otherwise grow the stack by one read and one write per chunk.
    task_.core.executor->post([self = shared_from_this()]() { self->next(); });
  }

  void finish(const std::optional<SenseData>& failure) {
    std::vector<uint8_t> sense;
    if (failure) sense = encode_sense(*failure, unit_.mode().descriptor_sense);
    unit_.copy_manager().finish(nexus_key_, list_id_,
                                static_cast<uint8_t>(failure ? ScsiStatus::check_condition : ScsiStatus::good),
                                std::move(sense));
    buffer_ = IoBuffer();
    if (failure) {
      unit_.fail(task_, *failure);
    } else {
      task_.status = ScsiStatus::good;
      unit_.complete(task_);
    }
  }

  LogicalUnit& unit_;
  ScsiTask& task_;
  std::string nexus_key_;
  std::optional<uint8_t> list_id_;
  std::vector<PlannedSegment> segments_;
  size_t segment_ = 0;
  uint64_t done_in_segment_ = 0;
  uint64_t transferred_ = 0;
  IoBuffer buffer_;
};

}  // namespace

void handle_extended_copy(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  // LID4 copies (ROD tokens) are not offered: only service action 00h.
  if ((cdb[1] & 0x1f) != op::kSaExtendedCopyLid1) {
    unit.fail(task, invalid_field_in_cdb(1, 4));
    return;
  }
  const uint32_t parameter_list_length = load_be32(cdb.data() + 10);
  task.data_out_length_needed = parameter_list_length;
  // SPC-4 6.4.1: a zero parameter list length copies nothing and is not an error.
  if (parameter_list_length == 0) {
    unit.complete(task);
    return;
  }
  const auto list = task.data_out.first(std::min<size_t>(task.data_out.size(), parameter_list_length));
  auto parsed = parse_extended_copy_parameters(list);
  if (auto* sense = std::get_if<SenseData>(&parsed)) {
    unit.fail(task, *sense);
    return;
  }
  auto& params = std::get<CopyParameters>(parsed);
  const std::string nexus_key = task.nexus->nexus().key();
  const std::optional<uint8_t> list_id = params.keep_status ? std::optional<uint8_t>(params.list_id) : std::nullopt;
  switch (unit.copy_manager().begin(nexus_key, list_id)) {
    case CopyManager::Admission::admitted: break;
    case CopyManager::Admission::list_id_in_use:
      // SPC-4 6.4.3.2: the list identifier names a copy of this nexus that is still running.
      unit.fail(task, illegal_request(asc::kOperationInProgress));
      return;
    case CopyManager::Admission::too_many_copies:
      unit.fail(task, ScsiStatus::busy);
      return;
  }
  auto planned = plan(unit, task, params);
  if (auto* refusal = std::get_if<Refusal>(&planned)) {
    std::vector<uint8_t> sense;
    if (refusal->sense) sense = encode_sense(*refusal->sense, unit.mode().descriptor_sense);
    unit.copy_manager().finish(nexus_key, list_id, static_cast<uint8_t>(refusal->status), std::move(sense));
    if (refusal->sense) {
      unit.fail(task, *refusal->sense);
    } else {
      unit.fail(task, refusal->status);
    }
    return;
  }
  std::make_shared<CopyJob>(unit, task, list_id, std::move(std::get<std::vector<PlannedSegment>>(planned)))->start();
}

}  // namespace portico::scsi
