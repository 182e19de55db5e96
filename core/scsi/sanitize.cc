// SANITIZE (SBC-3 5.30) and the sanitize operation (SBC-3 4.11): OVERWRITE, BLOCK ERASE,
// CRYPTOGRAPHIC ERASE and EXIT FAILURE MODE.
//
// The operation belongs to the logical unit, not to the command: it runs in bounded chunks on
// the executor of the task that started it, posting itself between chunks so that the loop keeps
// serving other connections, and it goes on when the SANITIZE command ends early (IMMED=1, or an
// ABORT TASK / LUN RESET / connection loss, SBC-3 4.11.1: a sanitize operation is not stopped by
// a task management function or a reset). Meanwhile the gate in LogicalUnit::execute() answers
// other commands NOT READY, SANITIZE IN PROGRESS with the progress indication.
//
// The unit is the same on every gateway, so the operation is also recorded in the cluster's
// record of the unit (guarded update, applied everywhere before the command goes on): the other
// gateways refuse medium access while it runs, with the progress it last stored, and report the
// failed state wherever it is; an operation whose gateway died reads as failed (SBC-3 4.11.4).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/medium_access.h"
#include "core/scsi/opcodes.h"
#include "core/scsi/pacing.h"
#include "core/scsi/sanitize_state.h"

namespace portico::scsi {
namespace {

// Largest piece of one backend call: a bounded buffer for OVERWRITE, and a step small enough
// that progress moves and the loop is not held long by one deallocation.
constexpr uint64_t kOverwriteChunkBytes = 1u << 20;
constexpr uint64_t kEraseChunkBytes = 16u << 20;
constexpr uint16_t kParameterListLengthByte = 7;
// How often the running gateway stores its progress for the other gateways' progress indication.
constexpr auto kSharedProgressInterval = std::chrono::seconds(5);

// Commands that read or write user data: refused while the unit is in the failed state.
bool reads_or_writes_medium(std::span<const uint8_t> cdb) {
  if (cdb.empty()) return false;
  switch (cdb[0]) {
    case op::kRead6:
    case op::kRead10:
    case op::kRead12:
    case op::kRead16:
    case op::kVerify10:
    case op::kVerify12:
    case op::kVerify16:
    case op::kPreFetch10:
    case op::kPreFetch16:
    case op::kSynchronizeCache10:
    case op::kSynchronizeCache16:
      return true;
    case op::kServiceActionIn16:
      return cdb.size() > 1 && (cdb[1] & 0x1f) == op::kSaGetLbaStatus;
    case op::kSanitize:
      return false;  // the way out of the failed state
    default:
      return modifies_medium(cdb);
  }
}

class SanitizeOperation : public std::enable_shared_from_this<SanitizeOperation> {
 public:
  enum class Method { overwrite, erase };

  std::shared_ptr<LogicalUnit> unit;
  Executor* executor = nullptr;
  ScsiTask* task = nullptr;  // the SANITIZE command while it waits for the end (IMMED=0)
  Method method = Method::erase;
  bool ause = false;
  // OVERWRITE: how many passes, and for each the chunk of replicated pattern to write.
  uint32_t passes = 1;
  std::shared_ptr<IoBuffer> pattern_chunk;
  std::shared_ptr<IoBuffer> inverted_chunk;  // null unless INVERT=1

  void start() {
    capacity_ = unit->device().capacity_bytes();
    started_ = std::chrono::steady_clock::now();
    progress_stored_ = started_;
    step();
  }

 private:
  uint64_t chunk_bytes() const { return method == Method::overwrite ? kOverwriteChunkBytes : kEraseChunkBytes; }

  // SBC-3 5.30.2: with INVERT=1 the pattern is inverted between consecutive passes, and the
  // last pass writes the pattern as given.
  const IoBuffer& pass_buffer() const {
    const bool inverted = inverted_chunk && (passes - 1 - pass_) % 2 == 1;
    return inverted ? *inverted_chunk : *pattern_chunk;
  }

  void step() {
    if (task != nullptr && unit->abort_requested(*task)) {
      // The command ends (reported per TAS by complete()); the operation does not.
      ScsiTask* aborted = std::exchange(task, nullptr);
      unit->complete(*aborted);
    }
    if (position_ == capacity_) {
      finish(true);
      return;
    }
    const uint64_t length = std::min(chunk_bytes(), capacity_ - position_);
    auto on_done = [self = shared_from_this(), length](IoStatus status) { self->chunk_done(status, length); };
    BlockDevice& device = unit->device();
    if (method == Method::overwrite) {
      device.write(*executor, position_, {pass_buffer().data(), static_cast<size_t>(length)}, false,
                   std::move(on_done));
    } else if (device.info().thin_provisioned && device.info().discard_zeroes) {
      device.discard(*executor, position_, length, std::move(on_done));
    } else {
      device.write_zeroes(*executor, position_, length, std::move(on_done));
    }
  }

  void chunk_done(const IoStatus& status, uint64_t length) {
    if (!status.ok()) {
      error_ = status.error;
      spdlog::warn("{}: sanitize failed at byte {}: {}: {}", unit->config().name, position_, errno_text(error_),
                   io_failure_text(io_error_answer(error_, IoDirection::write).failure));
      finish(false);
      return;
    }
    position_ += length;
    if (position_ == capacity_ && pass_ + 1 < passes) {
      ++pass_;
      position_ = 0;
    }
    const uint64_t total = capacity_ * passes;
    const uint64_t done = capacity_ * pass_ + position_;
    const auto progress = static_cast<uint16_t>(std::min<uint64_t>(0xffff, done * 0x10000 / total));
    unit->sanitize_state().set_progress(progress);
    store_progress(progress);
    // Through the executor, never inline: the loop serves other work between chunks and a
    // backend that completes inline does not grow the stack. Paced to the unit's sanitize
    // rate, if it has one.
    const auto delay = pacing_delay(done, unit->config().sanitize_bytes_per_second,
                                    std::chrono::steady_clock::now() - started_);
    if (delay.count() > 0) {
      executor->post_after(delay, [self = shared_from_this()]() { self->step(); });
    } else {
      executor->post([self = shared_from_this()]() { self->step(); });
    }
  }

  void store_progress(uint16_t progress) {
    const auto now = std::chrono::steady_clock::now();
    if (now - progress_stored_ < kSharedProgressInterval) return;
    progress_stored_ = now;
    const uint16_t group = unit->cluster().local_target_port_group();
    unit->update_shared_sanitize(
        [group, progress](std::optional<SharedSanitize>& record) {
          if (!record || !record->running || record->owner_group != group) return false;
          record->progress = progress;
          return true;
        },
        [](bool) {});  // best effort: only the other gateways' progress indication lags
  }

  // The record first, so that no gateway (this one included) ever reads the operation as
  // running after it ended, nor as orphaned while it ends.
  void finish(bool ok) {
    const uint16_t group = unit->cluster().local_target_port_group();
    const bool unrestricted = ause;
    unit->update_shared_sanitize(
        [group, ok, unrestricted](std::optional<SharedSanitize>& record) {
          // Another gateway judged this one gone meanwhile (and maybe a new operation began):
          // only this operation's own record is ended here.
          if (!record || record->owner_group != group) return false;
          if (ok) {
            record.reset();  // SBC-3 4.11.4: success also leaves any failed state
          } else {
            *record = SharedSanitize{false, unrestricted, group, record->progress};
          }
          return true;
        },
        [self = shared_from_this(), ok](bool stored) {
          if (!stored) {
            spdlog::error("{}: the end of the sanitize could not be stored in the cluster; other gateways see it "
                          "running until this one restarts",
                          self->unit->config().name);
          }
          self->executor->post([self, ok]() { self->end(ok); });
        });
  }

  void end(bool ok) {
    unit->sanitize_state().finish(ok, ause);
    spdlog::info("{}: sanitize {}", unit->config().name, ok ? "completed" : "failed");
    if (ScsiTask* waiting = std::exchange(task, nullptr)) {
      if (ok) {
        waiting->status = ScsiStatus::good;
        unit->complete(*waiting);
      } else if (io_error_answer(error_, IoDirection::write).failure == IoFailure::path_lost) {
        // This gateway lost the backend, the medium did not fail: the host retries the
        // SANITIZE through another path (the unit is in the failed state meanwhile, where a new
        // SANITIZE is allowed, SBC-3 4.11.4).
        unit->fail_io(*waiting, error_, IoDirection::write);
      } else {
        unit->fail(*waiting, SenseData{SenseKey::medium_error, asc::kSanitizeCommandFailed, std::nullopt, std::nullopt});
      }
    }
  }

  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point progress_stored_;
  uint64_t capacity_ = 0;
  uint64_t position_ = 0;
  uint32_t pass_ = 0;
  int error_ = 0;  // the backend error that failed the operation
};

// Fills a chunk with `pattern` repeated from the start of every logical block (SBC-3 5.30.2:
// the initialization pattern is repeated to fill each block), optionally inverted.
std::shared_ptr<IoBuffer> replicate(std::span<const uint8_t> pattern, uint32_t block_size, uint64_t chunk,
                                    bool invert) {
  std::vector<uint8_t> block(block_size);
  for (size_t i = 0; i < block.size(); ++i) {
    const uint8_t byte = pattern[i % pattern.size()];
    block[i] = invert ? static_cast<uint8_t>(~byte) : byte;
  }
  auto buffer = std::make_shared<IoBuffer>(static_cast<size_t>(chunk));
  for (uint64_t at = 0; at < chunk; at += block_size) std::memcpy(buffer->data() + at, block.data(), block_size);
  return buffer;
}

// SBC-3 5.30.2: the OVERWRITE parameter list. Fills the operation's passes and pattern, or says
// what is wrong.
std::optional<SenseData> decode_overwrite(LogicalUnit& unit, const ScsiTask& task, uint32_t parameter_length,
                                          SanitizeOperation& operation) {
  const uint32_t block_size = unit.block_size();
  // The list is a 4-byte header and a pattern of 1 to one logical block.
  if (parameter_length < 5 || parameter_length > block_size + 4) return invalid_field_in_cdb(kParameterListLengthByte);
  if (task.data_out.size() < parameter_length) return illegal_request(asc::kParameterListLengthError);
  const auto list = task.data_out.first(parameter_length);
  const bool invert = (list[0] & 0x80) != 0;
  const uint32_t count = list[0] & 0x1f;
  const uint32_t pattern_length = load_be16(list.data() + 2);
  if (count == 0) return invalid_field_in_parameter_list(0, 4);
  if (pattern_length == 0 || pattern_length > block_size || pattern_length > parameter_length - 4) {
    return invalid_field_in_parameter_list(2);
  }
  const auto pattern = list.subspan(4, pattern_length);
  const uint64_t chunk = std::min<uint64_t>(kOverwriteChunkBytes, unit.device().capacity_bytes());
  operation.method = SanitizeOperation::Method::overwrite;
  operation.passes = count;
  operation.pattern_chunk = replicate(pattern, block_size, chunk, false);
  if (invert && count > 1) operation.inverted_chunk = replicate(pattern, block_size, chunk, true);
  return std::nullopt;
}

}  // namespace

std::optional<SenseData> SanitizeState::refusal(std::span<const uint8_t> cdb) const {
  if (!active_.load(std::memory_order_acquire) || cdb.empty()) return std::nullopt;
  if (in_progress()) {
    // SBC-3 4.11.2: only INQUIRY, REPORT LUNS and REQUEST SENSE are served during a sanitize
    // (the last two never reach a logical unit's gate).
    if (cdb[0] == op::kInquiry) return std::nullopt;
    return sanitize_in_progress(progress());
  }
  // SBC-3 4.11.4: after a failed sanitize, medium access waits for a successful one or for
  // EXIT FAILURE MODE.
  if (failed() && reads_or_writes_medium(cdb)) {
    return SenseData{SenseKey::medium_error, asc::kSanitizeCommandFailed, std::nullopt, std::nullopt};
  }
  return std::nullopt;
}

std::optional<SenseData> SanitizeState::pending_condition() const {
  if (!in_progress()) return std::nullopt;
  return sanitize_in_progress(progress());
}

namespace {

// SBC-3 5.30.1 EXIT FAILURE MODE, on every gateway: the failed state leaves the cluster's record.
void exit_failure_mode(LogicalUnit& unit, ScsiTask& task) {
  unit.update_shared_sanitize(
      [](std::optional<SharedSanitize>& record) {
        if (!record || record->running) return false;
        record.reset();
        return true;
      },
      [self = unit.shared_self(), &task](bool stored) {
        task.core.executor->post([self, &task, stored]() {
          if (!stored) {
            self->fail(task, cluster_state_unavailable());
            return;
          }
          self->sanitize_state().exit_failure_mode();
          self->complete(task);
        });
      });
}

}  // namespace

void handle_sanitize(LogicalUnit& unit, ScsiTask& task) {
  const auto cdb = task.cdb();
  const bool immed = (cdb[1] & 0x80) != 0;
  const bool ause = (cdb[1] & 0x20) != 0;
  const uint8_t service_action = cdb[1] & 0x1f;
  const uint32_t parameter_length = load_be16(cdb.data() + kParameterListLengthByte);
  task.data_out_length_needed = parameter_length;
  if ((cdb[1] & 0x40) != 0) {
    unit.fail(task, invalid_field_in_cdb(1, 6));
    return;
  }
  for (uint16_t byte = 2; byte <= 6; ++byte) {
    if (cdb[byte] != 0) {
      unit.fail(task, invalid_field_in_cdb(byte));
      return;
    }
  }
  SanitizeState& state = unit.sanitize_state();
  auto operation = std::make_shared<SanitizeOperation>();
  switch (service_action) {
    case op::kSaSanitizeOverwrite:
      if (auto bad = decode_overwrite(unit, task, parameter_length, *operation)) {
        unit.fail(task, *bad);
        return;
      }
      break;
    case op::kSaSanitizeBlockErase:
    case op::kSaSanitizeCryptographicErase:
      // BLOCK ERASE: every block deallocated (thin backends) or zeroed; reads then return zeroes
      // (WABEREQ = 01b in the Block Device Characteristics page).
      // CRYPTOGRAPHIC ERASE: these backends keep no media encryption key to change, so the only
      // way to make the user data unrecoverable is the same deallocation / zeroing of every block
      // (WACEREQ = 01b).
      if (parameter_length != 0) {
        unit.fail(task, invalid_field_in_cdb(kParameterListLengthByte));
        return;
      }
      operation->method = SanitizeOperation::Method::erase;
      break;
    case op::kSaSanitizeExitFailureMode:
      if (parameter_length != 0) {
        unit.fail(task, invalid_field_in_cdb(kParameterListLengthByte));
        return;
      }
      if (state.failed()) {
        // SBC-3 5.30.1: a failure in the restricted completion mode (AUSE=0) is only left by a
        // successful sanitize.
        if (!state.failure_exit_allowed()) {
          unit.fail(task, invalid_field_in_cdb(1, 4));
          return;
        }
        exit_failure_mode(unit, task);
        return;
      }
      unit.complete(task);
      return;
    default:
      unit.fail(task, invalid_field_in_cdb(1, 4));
      return;
  }
  // SBC-3 4.11.3: after a failure in the restricted completion mode, a sanitize that asks for
  // the unrestricted mode is refused.
  if (ause && state.failed() && !state.failure_exit_allowed()) {
    unit.fail(task, invalid_field_in_cdb(1, 5));
    return;
  }
  if (!state.begin()) {
    unit.fail(task, sanitize_in_progress(state.progress()));
    return;
  }
  operation->unit = unit.shared_self();
  operation->executor = task.core.executor;
  operation->ause = ause;
  // Recorded in the cluster before the first block changes; refused when another gateway began
  // one first.
  const uint16_t group = unit.cluster().local_target_port_group();
  auto elsewhere = std::make_shared<std::optional<SharedSanitize>>();
  unit.update_shared_sanitize(
      [group, ause, elsewhere](std::optional<SharedSanitize>& record) {
        if (record && record->running) {
          *elsewhere = record;
          return false;
        }
        record = SharedSanitize{true, ause, group, 0};
        return true;
      },
      [operation, &task, immed, service_action, elsewhere](bool stored) {
        task.core.executor->post([operation, &task, immed, service_action, elsewhere, stored]() {
          LogicalUnit& lu = *operation->unit;
          if (!stored || elsewhere->has_value()) {
            lu.sanitize_state().abandon();
            lu.fail(task, stored ? sanitize_in_progress((*elsewhere)->progress) : cluster_state_unavailable());
            return;
          }
          spdlog::info("{}: sanitize (service action {:#04x}) started by {}", lu.config().name, service_action,
                       task.nexus->nexus().key());
          if (immed) {
            // SBC-3 5.30.1: IMMED=1 returns status once the command is validated; the progress
            // is then read with REQUEST SENSE.
            lu.complete(task);
          } else {
            operation->task = &task;
          }
          operation->start();
        });
      });
}

}  // namespace portico::scsi
