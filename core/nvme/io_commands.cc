// The NVM command set's I/O commands on a namespace (NVM Command Set 1.0): Read, Write, Flush,
// Write Zeroes, Dataset Management, Compare, Verify, the fused Compare + Write, and the
// reservation commands (reservation_commands.cc). Each runs as a task of the namespace's unit:
// admitted to its task set (so aborts, resets and PREEMPT AND ABORT reach it, whichever command
// set asked), refused when this gateway cannot serve the unit, checked against the reservation.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "core/common/little_endian.h"
#include "core/nvme/controller.h"
#include "core/nvme/io_status.h"
#include "core/nvme/subsystem.h"
#include "core/unit.h"

namespace portico::nvme {
namespace {

// NVM Command Set opcodes (Linux: enum nvme_opcode).
constexpr uint8_t kFlush = 0x00;
constexpr uint8_t kWrite = 0x01;
constexpr uint8_t kRead = 0x02;
constexpr uint8_t kCompare = 0x05;
constexpr uint8_t kWriteZeroes = 0x08;
constexpr uint8_t kDatasetManagement = 0x09;
constexpr uint8_t kVerify = 0x0c;
constexpr uint8_t kReservationRegister = 0x0d;
constexpr uint8_t kReservationReport = 0x0e;
constexpr uint8_t kReservationAcquire = 0x11;
constexpr uint8_t kReservationRelease = 0x15;

constexpr uint32_t kForceUnitAccess = 1u << 30;  // CDW12 FUA
constexpr uint32_t kDeallocate = 1u << 25;       // Write Zeroes CDW12 DEAC
constexpr uint32_t kAttributeDeallocate = 1u << 2;  // Dataset Management CDW11 AD
constexpr size_t kDsmRangeSize = 16;
constexpr uint64_t kVerifyChunkBytes = 1u << 20;

CompletionStatus no_retry(GenericStatus status) { return CompletionStatus(status).no_retry(); }

MediumAccess access_of(uint8_t opcode) {
  switch (opcode) {
    case kRead:
    case kCompare:
    case kVerify: return MediumAccess::read;
    case kFlush:
    case kWrite:
    case kWriteZeroes:
    case kDatasetManagement: return MediumAccess::write;
    default: return MediumAccess::unrestricted;  // the reservation commands check their own rules
  }
}

bool modifies_medium(uint8_t opcode) { return access_of(opcode) == MediumAccess::write && opcode != kFlush; }

// SLBA (CDW10-11) and NLB (CDW12 15:0, 0's based) of a block command.
struct BlockRange {
  uint64_t lba = 0;
  uint64_t blocks = 0;
};

BlockRange range_of(const SubmissionEntry& sqe) {
  return {uint64_t{sqe.cdw(10)} | (uint64_t{sqe.cdw(11)} << 32), uint64_t{sqe.cdw(12) & 0xffff} + 1};
}

bool in_range(const Unit& unit, uint64_t lba, uint64_t blocks) {
  const uint64_t count = unit.block_count();
  return lba < count && blocks <= count - lba;
}

// Backend steps run one after another (the ranges of a Dataset Management, the pieces of a
// Verify): `issue(i, done)` starts step i; the first failure, or the end, calls `finished` once.
// Each step's callback holds the run, so a backend that completes inline (recursing into the
// next step) and one that completes later on a loop are alike.
class StepRun : public std::enable_shared_from_this<StepRun> {
 public:
  using Issue = std::function<void(size_t, IoCallback)>;
  StepRun(size_t count, Issue issue, UniqueFunction<void(IoStatus)> finished)
      : count_(count), issue_(std::move(issue)), finished_(std::move(finished)) {}
  void next() {
    if (index_ == count_) return finished_(IoStatus{});
    issue_(index_++, [self = shared_from_this()](IoStatus status) {
      if (!status.ok()) return self->finished_(status);
      self->next();
    });
  }

 private:
  size_t count_;
  size_t index_ = 0;
  Issue issue_;
  UniqueFunction<void(IoStatus)> finished_;
};

const char* opcode_name(uint8_t opcode) {
  switch (opcode) {
    case kFlush: return "NVMe Flush";
    case kWrite: return "NVMe Write";
    case kRead: return "NVMe Read";
    case kCompare: return "NVMe Compare";
    case kWriteZeroes: return "NVMe Write Zeroes";
    case kDatasetManagement: return "NVMe Dataset Management";
    case kVerify: return "NVMe Verify";
    default: return "NVMe command";
  }
}

}  // namespace

void Controller::execute_io(QueueContext& queue, NvmeCommand& command) {
  // A fused pair (NVMe Base 2.0, "Fused Operations"): the first command waits for the second,
  // which must be the next command on the same queue.
  if (queue.fused_first != nullptr) {
    NvmeCommand* first = queue.fused_first;
    queue.fused_first = nullptr;
    if (command.sqe.fuse != FusedOperation::second) {
      end_fused_missing(*first);
    } else {
      Unit* unit = first->unit;
      const BlockRange a = range_of(first->sqe);
      const BlockRange b = range_of(command.sqe);
      command.unit = unit;
      if (command.sqe.opcode != kWrite || command.sqe.nsid != first->sqe.nsid || a.lba != b.lba ||
          a.blocks != b.blocks) {
        // The pair is not a Compare and a Write of one range: both end.
        first->status = no_retry(GenericStatus::aborted_fused_failure);
        finish_io(*first, first->status);
        return finish(command, no_retry(GenericStatus::invalid_field));
      }
      if (!unit->admit(command, initiator_, key_, *command.core.executor, std::move(command.core.done))) {
        finish_io(*first, GenericStatus::abort_requested);
        return finish_io(command, GenericStatus::abort_requested);
      }
      return run_fused(*first, command, *unit);
    }
  }
  if (command.sqe.fuse == FusedOperation::second || command.sqe.fuse == FusedOperation::reserved) {
    return finish(command, no_retry(GenericStatus::aborted_fused_missing));
  }
  Unit* unit = subsystem_.namespace_unit(command.sqe.nsid);
  if (unit == nullptr) return finish(command, no_retry(GenericStatus::invalid_namespace));
  if (!unit->admit(command, initiator_, key_, *command.core.executor, std::move(command.core.done))) {
    command.unit = unit;
    return finish_io(command, GenericStatus::abort_requested);
  }
  command.unit = unit;
  start_io(queue, command, *unit);
}

void Controller::finish_io(NvmeCommand& command, CompletionStatus status) {
  Unit& unit = *command.unit;
  // Once unlinked, no abort can reach the command any more: its marks are read without a lock.
  unit.unlink(command);
  // An aborted command ends with Command Abort Requested (NVMe Base 2.0), whoever aborted it:
  // an Abort command, a reset, or a PREEMPT AND ABORT from either command set.
  command.status = command.core.aborted ? CompletionStatus(GenericStatus::abort_requested) : status;
  if (!command.status.ok()) command.data_in_length = 0;
  // A fused Compare and Write counts once, as its Compare (the first of the pair).
  if (command.sqe.fuse != FusedOperation::second) {
    const IoClass io_class = command.sqe.fuse == FusedOperation::first && command.sqe.opcode == kCompare
                                 ? IoClass::compare_and_write
                             : command.sqe.opcode == kRead  ? IoClass::read
                             : command.sqe.opcode == kWrite ? IoClass::write
                                                            : IoClass::other;
    const uint64_t bytes = io_class == IoClass::read ? command.data_in_length : command.data_out_length();
    unit.record_completion(command, io_class, bytes, command.status.ok());
  }
  Unit::finish(command);
}

void Controller::fail_io(NvmeCommand& command, int error, bool write) {
  const IoFailure failure = classify_io_error(error);
  const CompletionStatus status = io_failure_status(failure, write);
  io_error_log_.report(command.unit->name(), error, failure, [&command, status]() {
    return std::pair{std::string(opcode_name(command.sqe.opcode)),
                     fmt::format("status {:03x}h{}", status.combined(), status.do_not_retry ? " (DNR)" : "")};
  });
  finish_io(command, status);
}

bool Controller::reservation_conflict(NvmeCommand& command, Unit& unit, MediumAccess access) {
  if (access == MediumAccess::unrestricted) return false;
  return unit.reservation_conflict(command, [&](const ReservationState& state) {
    // An SPC-2 RESERVE taken through SCSI keeps every other initiator out, NVMe hosts included.
    if (!state.spc2_holder.empty() && state.spc2_holder != key_) return true;
    return reservation_blocks(state, initiator_, access);
  });
}

void Controller::start_io(QueueContext& queue, NvmeCommand& command, Unit& unit) {
  const uint8_t opcode = command.sqe.opcode;
  if (auto refusal = access_refusal(unit)) return finish_io(command, *refusal);
  if (reservation_conflict(command, unit, access_of(opcode))) {
    return finish_io(command, no_retry(GenericStatus::reservation_conflict));
  }
  if (modifies_medium(opcode) && unit.write_protected()) {
    return finish_io(command, no_retry(GenericStatus::namespace_write_protected));
  }
  if (command.sqe.fuse == FusedOperation::first) {
    // Only Compare + Write is supported, and only where the backend compares and writes
    // atomically (on RBD: in the OSD, so across gateways and protocols).
    const BlockRange range = range_of(command.sqe);
    const uint64_t bytes = range.blocks * unit.block_size();
    if (opcode != kCompare || !in_range(unit, range.lba, range.blocks) ||
        bytes > unit.device().info().max_compare_and_write_bytes || command.data_out.size() != bytes) {
      return finish_io(command, no_retry(GenericStatus::invalid_field));
    }
    queue.fused_first = &command;  // its completion waits for the Write
    return;
  }
  switch (opcode) {
    case kReservationRegister: return reservation_register(command, unit);
    case kReservationAcquire: return reservation_acquire(command, unit);
    case kReservationRelease: return reservation_release(command, unit);
    case kReservationReport: return reservation_report(command, unit);
    default: return run_io(command, unit);
  }
}

void Controller::run_io(NvmeCommand& command, Unit& unit) {
  const uint8_t opcode = command.sqe.opcode;
  Executor& executor = *command.core.executor;
  BlockDevice& device = unit.device();
  const uint32_t block_size = unit.block_size();
  auto self = shared_from_this();
  switch (opcode) {
    case kFlush:
      device.flush(executor, [self, &command](IoStatus status) {
        if (!status.ok()) return self->fail_io(command, status.error, true);
        self->finish_io(command, GenericStatus::success);
      });
      return;
    case kRead:
    case kWrite:
    case kCompare:
    case kVerify:
    case kWriteZeroes:
      break;
    case kDatasetManagement: {
      // CDW10 NR (7:0, 0's based ranges), CDW11 AD: deallocate. Each range: context attributes
      // (4), length in blocks (4), starting LBA (8). Without AD the ranges are only hints.
      const size_t ranges = (command.sqe.cdw(10) & 0xff) + 1;
      if (command.data_out.size() < ranges * kDsmRangeSize) {
        return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
      }
      if ((command.sqe.cdw(11) & kAttributeDeallocate) == 0) return finish_io(command, GenericStatus::success);
      for (size_t i = 0; i < ranges; ++i) {
        const uint8_t* r = command.data_out.data() + i * kDsmRangeSize;
        const uint64_t blocks = load_le32(r + 4);
        if (blocks != 0 && !in_range(unit, load_le64(r + 8), blocks)) {
          return finish_io(command, no_retry(GenericStatus::lba_out_of_range));
        }
      }
      // One range at a time, in order; the first failure ends the command. Empty ranges are no-ops.
      auto run = std::make_shared<StepRun>(
          ranges,
          [&command, &unit, block_size](size_t i, IoCallback done) {
            const uint8_t* r = command.data_out.data() + i * kDsmRangeSize;
            const uint64_t blocks = load_le32(r + 4);
            if (blocks == 0) return done(IoStatus{});
            unit.device().discard(*command.core.executor, load_le64(r + 8) * block_size, blocks * block_size,
                                  std::move(done));
          },
          [self, &command](IoStatus status) {
            if (!status.ok()) return self->fail_io(command, status.error, true);
            self->finish_io(command, GenericStatus::success);
          });
      run->next();
      return;
    }
    default:
      return finish_io(command, no_retry(GenericStatus::invalid_opcode));
  }

  const BlockRange range = range_of(command.sqe);
  if (!in_range(unit, range.lba, range.blocks)) return finish_io(command, no_retry(GenericStatus::lba_out_of_range));
  const uint64_t offset = range.lba * block_size;
  const uint64_t bytes = range.blocks * block_size;
  const uint32_t max_transfer = subsystem_.config().max_data_transfer_bytes;
  switch (opcode) {
    case kRead:
      if (bytes > max_transfer) return finish_io(command, no_retry(GenericStatus::invalid_field));
      if (command.data_in_limit() != bytes) {
        return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
      }
      command.data_in = IoBuffer(bytes);
      device.read(executor, offset, command.data_in.span().first(bytes), [self, &command, bytes](IoStatus status) {
        if (!status.ok()) return self->fail_io(command, status.error, false);
        command.data_in_length = static_cast<uint32_t>(bytes);
        self->finish_io(command, GenericStatus::success);
      });
      return;
    case kWrite:
      if (bytes > max_transfer) return finish_io(command, no_retry(GenericStatus::invalid_field));
      if (command.data_out.size() != bytes) return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
      device.write(executor, offset, command.data_out, (command.sqe.cdw(12) & kForceUnitAccess) != 0,
                   [self, &command](IoStatus status) {
                     if (!status.ok()) return self->fail_io(command, status.error, true);
                     self->finish_io(command, GenericStatus::success);
                   });
      return;
    case kCompare:
      if (bytes > max_transfer) return finish_io(command, no_retry(GenericStatus::invalid_field));
      if (command.data_out.size() != bytes) return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
      command.data_in = IoBuffer(bytes);  // the medium's data, compared here, never returned
      device.read(executor, offset, command.data_in.span().first(bytes), [self, &command, bytes](IoStatus status) {
        if (!status.ok()) return self->fail_io(command, status.error, false);
        const bool same = std::memcmp(command.data_in.data(), command.data_out.data(), bytes) == 0;
        command.data_in_length = 0;
        self->finish_io(command, same ? CompletionStatus(GenericStatus::success)
                                      : CompletionStatus(MediaStatus::compare_failure).no_retry());
      });
      return;
    case kWriteZeroes: {
      const bool deallocate = (command.sqe.cdw(12) & kDeallocate) != 0 && device.info().discard_zeroes;
      auto done = [self, &command](IoStatus status) {
        if (!status.ok()) return self->fail_io(command, status.error, true);
        self->finish_io(command, GenericStatus::success);
      };
      if (deallocate) {
        device.discard(executor, offset, bytes, std::move(done));
      } else {
        device.write_zeroes(executor, offset, bytes, std::move(done));
      }
      return;
    }
    case kVerify: {
      // Reads the range (in pieces of at most 1 MiB), checking that the medium returns it; an
      // abort ends it between pieces.
      const uint64_t chunk = std::min(bytes, kVerifyChunkBytes);
      command.data_in = IoBuffer(chunk);
      auto run = std::make_shared<StepRun>(
          static_cast<size_t>((bytes + chunk - 1) / chunk),
          [&command, &device, offset, bytes, chunk](size_t i, IoCallback done) {
            if (command.unit->abort_requested(command)) return done(IoStatus{ECANCELED});
            const uint64_t at = i * chunk;
            device.read(*command.core.executor, offset + at, command.data_in.span().first(std::min(chunk, bytes - at)),
                        std::move(done));
          },
          [self, &command](IoStatus status) {
            command.data_in_length = 0;
            if (status.error == ECANCELED) return self->finish_io(command, GenericStatus::abort_requested);
            if (!status.ok()) return self->fail_io(command, status.error, false);
            self->finish_io(command, GenericStatus::success);
          });
      run->next();
      return;
    }
    default:
      return finish_io(command, no_retry(GenericStatus::invalid_opcode));
  }
}

void Controller::run_fused(NvmeCommand& compare, NvmeCommand& write, Unit& unit) {
  // The Write was admitted just now; it meets the same refusals the Compare met.
  if (auto refusal = access_refusal(unit)) {
    finish_io(compare, no_retry(GenericStatus::aborted_fused_failure));
    return finish_io(write, *refusal);
  }
  if (reservation_conflict(write, unit, MediumAccess::write)) {
    finish_io(compare, no_retry(GenericStatus::aborted_fused_failure));
    return finish_io(write, no_retry(GenericStatus::reservation_conflict));
  }
  if (write.data_out.size() != compare.data_out.size()) {
    finish_io(compare, no_retry(GenericStatus::aborted_fused_failure));
    return finish_io(write, no_retry(GenericStatus::data_sgl_length_invalid));
  }
  const BlockRange range = range_of(compare.sqe);
  auto self = shared_from_this();
  unit.device().compare_and_write(
      *write.core.executor, range.lba * unit.block_size(), compare.data_out, write.data_out,
      [self, &compare, &write](IoStatus status) {
        if (status.miscompare) {
          // NVMe Base 2.0, "Fused Operations": a failed Compare ends the Write with Command
          // Aborted due to Failed Fused Command.
          self->finish_io(compare, CompletionStatus(MediaStatus::compare_failure).no_retry());
          return self->finish_io(write, no_retry(GenericStatus::aborted_fused_failure));
        }
        if (!status.ok()) {
          self->finish_io(compare, no_retry(GenericStatus::aborted_fused_failure));
          return self->fail_io(write, status.error, true);
        }
        self->finish_io(compare, GenericStatus::success);
        self->finish_io(write, GenericStatus::success);
      });
}

void Controller::end_fused_missing(NvmeCommand& first) {
  finish_io(first, no_retry(GenericStatus::aborted_fused_missing));
}

}  // namespace portico::nvme
