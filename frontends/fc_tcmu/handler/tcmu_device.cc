#include "frontends/fc_tcmu/handler/tcmu_device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <variant>

#include <spdlog/spdlog.h>

#include "core/scsi/opcodes.h"
#include "core/scsi/sense.h"

namespace portico::tcmu {
namespace {

// The READ commands, whose data area the kernel leaves for the handler to fill: their iovecs are
// never gathered as data-out. Every other command with data gets its data-out (a command that
// moves data-in ignores it; those are small).
bool is_read(std::span<const uint8_t> cdb) {
  if (cdb.empty()) return false;
  switch (cdb[0]) {
    case scsi::op::kRead6:
    case scsi::op::kRead10:
    case scsi::op::kRead12:
    case scsi::op::kRead16:
      return true;
    default: return false;
  }
}

// WRITE (6/10/12/16): the core takes their data in pieces (ScsiTask::data_out_segments).
bool is_write(std::span<const uint8_t> cdb) {
  if (cdb.empty()) return false;
  switch (cdb[0]) {
    case scsi::op::kWrite6:
    case scsi::op::kWrite10:
    case scsi::op::kWrite12:
    case scsi::op::kWrite16:
      return true;
    default: return false;
  }
}

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

Result<std::shared_ptr<TcmuDevice>> TcmuDevice::open(TcmuDeviceSettings settings, runtime::EventLoop& loop) {
  const int fd = ::open(settings.uio_device.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return error(ErrorCode::io_error, settings.name + ": cannot open " + settings.uio_device + ": " + errno_text(e));
  }
  void* map = ::mmap(nullptr, settings.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    const int e = errno;
    ::close(fd);
    return error(ErrorCode::io_error, settings.name + ": cannot map " + std::to_string(settings.map_size) +
                                          " bytes of " + settings.uio_device + ": " + errno_text(e));
  }
  auto* bytes = static_cast<uint8_t*>(map);
  auto ring = CommandRing::attach(std::span<uint8_t>(bytes, settings.map_size));
  if (!ring.ok()) {
    ::munmap(map, settings.map_size);
    ::close(fd);
    return error(ring.status().code(), settings.name + ": " + settings.uio_device + ": " + ring.status().message());
  }
  return std::shared_ptr<TcmuDevice>(new TcmuDevice(std::move(settings), loop, fd, bytes, std::move(*ring)));
}

TcmuDevice::TcmuDevice(TcmuDeviceSettings settings, runtime::EventLoop& loop, int fd, uint8_t* map, CommandRing ring)
    : settings_(std::move(settings)), loop_(loop), fd_(fd), map_(map), ring_(std::move(ring)) {}

TcmuDevice::~TcmuDevice() {
  ::munmap(map_, settings_.map_size);
  ::close(fd_);
}

void TcmuDevice::start() {
  loop_.post([self = shared_from_this()]() {
    self->nexus_state_ = self->settings_.target->attach(self->settings_.nexus);
    spdlog::info("tcmu {}: serving {} for initiator {} through {} (LUN {})", self->settings_.name,
                 self->settings_.uio_device, self->settings_.nexus.initiator_port_name,
                 self->settings_.nexus.target_port_name, self->settings_.lun);
    self->drain();  // commands queued before this handler came
    self->arm();
  });
}

void TcmuDevice::stop(UniqueFunction<void()> done) {
  loop_.post([self = shared_from_this(), done = std::move(done)]() mutable {
    self->stopping_ = true;
    self->stopped_ = std::move(done);
    if (self->armed_) self->loop_.cancel_fd(self->fd_);
    self->maybe_finish_stop();
  });
}

void TcmuDevice::arm() {
  if (stopping_ || ring_broken_ || armed_) return;
  armed_ = true;
  loop_.poll(fd_, POLLIN, [self = shared_from_this()](int result) { self->on_ready(result); });
}

void TcmuDevice::on_ready(int result) {
  armed_ = false;
  if (stopping_) return maybe_finish_stop();
  if (result < 0 && result != -EINTR) {
    spdlog::error("tcmu {}: waiting on {} failed: {}; the device is no longer served", settings_.name,
                  settings_.uio_device, errno_text(-result));
    ring_broken_ = true;
    return;
  }
  // uio: reading takes the interrupt count, so the next poll waits for a newer kick; a kick that
  // comes while the ring is drained below makes the next poll ready at once.
  uint32_t count = 0;
  while (::read(fd_, &count, sizeof count) == static_cast<ssize_t>(sizeof count)) {
  }
  drain();
  arm();
}

void TcmuDevice::drain() {
  while (!stopping_ && !ring_broken_) {
    auto entry = ring_.next();
    if (!entry) break;
    if (auto* command = std::get_if<RingCommand>(&*entry)) {
      run(std::move(*command));
    } else if (auto* tmr = std::get_if<RingTmr>(&*entry)) {
      notify(*tmr);
    } else {
      // The kernel wrote something no kernel writes: stop reading rather than guess. The
      // kernel times the commands out (the backstore's cmd_time_out) and reports them.
      spdlog::error("tcmu {}: command ring of {} is corrupt ({}); the device is no longer served", settings_.name,
                    settings_.uio_device, std::get<RingFault>(*entry).reason);
      ring_broken_ = true;
    }
  }
}

void TcmuDevice::run(RingCommand entry) {
  if (!entry.malformed.empty()) {
    spdlog::error("tcmu {}: command {} refused: {}", settings_.name, entry.cmd_id, entry.malformed);
    const auto sense = scsi::encode_sense(
        scsi::SenseData{scsi::SenseKey::hardware_error, scsi::asc::kInternalTargetFailure, std::nullopt, std::nullopt},
        false);
    return answer(entry.cmd_id, static_cast<uint8_t>(scsi::ScsiStatus::check_condition), sense, std::nullopt);
  }
  const uint16_t id = entry.cmd_id;
  auto owned = std::make_unique<Command>();
  Command* command = owned.get();
  command->entry = std::move(entry);
  scsi::ScsiTask& task = command->task;
  task.tag = id;
  task.lun = settings_.lun;
  const auto& cdb = command->entry.cdb;
  if (cdb.size() <= task.cdb_bytes.size()) {
    std::copy(cdb.begin(), cdb.end(), task.cdb_bytes.begin());
  } else {
    task.extended_cdb = cdb;
  }
  const uint64_t bytes = command->entry.data_bytes();
  task.expected_transfer_length = static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX));
  const bool reading = is_read(cdb);
  const auto& data = command->entry.data;
  // The data area's iovecs, for a READ to fill in place (other data-in is copied back below).
  task.data_in_segments = data;
  if (!reading && !data.empty()) {
    if (data.size() == 1) {
      task.data_out = data.front();
    } else if (is_write(cdb)) {
      command->data_out_segments.assign(data.begin(), data.end());
      task.data_out_segments = command->data_out_segments;
    } else {
      command->gathered = IoBuffer(bytes);
      size_t at = 0;
      for (const auto& part : data) {
        std::memcpy(command->gathered.data() + at, part.data(), part.size());
        at += part.size();
      }
      task.data_out = command->gathered.span();
    }
  }
  // Kept before the core runs it: it may finish inline.
  const auto [slot, added] = commands_.emplace(id, std::move(owned));
  if (!added) {
    spdlog::error("tcmu {}: command id {} is already in the core: the ring is broken", settings_.name, id);
    ring_broken_ = true;
    return;
  }
  settings_.target->execute(*nexus_state_, task, loop_, [self = shared_from_this(), command]() {
    self->on_task_done(command);
  });
}

void TcmuDevice::on_task_done(Command* command) {
  const scsi::ScsiTask& task = command->task;
  auto status = static_cast<uint8_t>(task.status);
  // An aborted task still gets its completion: LIO waits for it, and answers the host itself.
  if (task.outcome == scsi::TaskOutcome::aborted_silently) status = static_cast<uint8_t>(scsi::ScsiStatus::task_aborted);
  if (status == static_cast<uint8_t>(scsi::ScsiStatus::task_aborted)) count_aborted();  // silent or TAS=1
  std::optional<uint32_t> read_len;
  if (task.data_in_placed) {
    if (task.data_in_length < command->entry.data_bytes()) read_len = task.data_in_length;
  } else if (task.data_in_length > 0) {
    const uint64_t capacity = command->entry.data_bytes();
    const auto length = static_cast<uint32_t>(std::min<uint64_t>(task.data_in_length, capacity));
    size_t at = 0;
    for (const auto& part : command->entry.data) {
      if (at >= length) break;
      const size_t n = std::min<size_t>(part.size(), length - at);
      std::memcpy(part.data(), task.data_in.data() + at, n);
      at += n;
    }
    if (length < capacity) read_len = length;  // LIO reports the underflow residual
  }
  answer(command->entry.cmd_id, status, task.sense, read_len);
  commands_.erase(command->entry.cmd_id);
  maybe_finish_stop();
}

void TcmuDevice::notify(const RingTmr& tmr) {
  // LIO has already aborted the commands itself and waits for each to complete; the core ends
  // them at once, and a LUN reset reaches every gateway (tasks aborted there, unit attention).
  std::optional<scsi::TmfFunction> function;
  switch (tmr.type) {
    case tmr::kAbortTask: function = scsi::TmfFunction::abort_task; break;
    case tmr::kAbortTaskSet: function = scsi::TmfFunction::abort_task_set; break;
    case tmr::kClearTaskSet: function = scsi::TmfFunction::clear_task_set; break;
    case tmr::kLunReset:
    case tmr::kTargetWarmReset:
    case tmr::kTargetColdReset: function = scsi::TmfFunction::logical_unit_reset; break;
    default: break;  // CLEAR ACA (no ACA here), LUN_RESET_PRO (LIO's own PR emulation, off)
  }
  spdlog::info("tcmu {}: task management {} for {} command(s)", settings_.name, tmr.type, tmr.cmd_ids.size());
  if (function) {
    auto report = [name = settings_.name, type = tmr.type](scsi::TmfResponse response) {
      spdlog::debug("tcmu {}: task management {} ended: {}", name, type, static_cast<int>(response));
    };
    if (*function == scsi::TmfFunction::abort_task) {
      for (uint16_t id : tmr.cmd_ids) {
        if (commands_.count(id) == 0) continue;  // answered already
        settings_.target->task_management(*nexus_state_, *function, settings_.lun, id, loop_, report);
      }
    } else {
      settings_.target->task_management(*nexus_state_, *function, settings_.lun, 0, loop_, report);
    }
  }
  ring_.release_consumed();
  kick_soon();
}

void TcmuDevice::answer(uint16_t cmd_id, uint8_t status, std::span<const uint8_t> sense,
                        std::optional<uint32_t> read_len) {
  if (!ring_.complete(cmd_id, status, sense, read_len)) {
    spdlog::error("tcmu {}: no ring slot for the answer of command {}", settings_.name, cmd_id);
    return;
  }
  kick_soon();
}

// One kick per batch of answers: the write makes the kernel reap every answer up to cmd_tail.
void TcmuDevice::kick_soon() {
  if (kick_posted_) return;
  kick_posted_ = true;
  loop_.post([self = shared_from_this()]() {
    self->kick_posted_ = false;
    self->kick();
  });
}

// An abort, a reset or a PREEMPT AND ABORT (from any gateway) ends a burst of commands, whose
// backend I/O finishes over some milliseconds: one line per burst, 100 ms after its first.
void TcmuDevice::count_aborted() {
  if (aborted_unlogged_++ > 0) return;
  loop_.post_after(std::chrono::milliseconds(100), [self = shared_from_this()]() {
    spdlog::info("tcmu {}: {} command(s) ended TASK ABORTED (task management, a reset or PREEMPT AND ABORT)",
                 self->settings_.name, self->aborted_unlogged_);
    self->aborted_unlogged_ = 0;
  });
}

void TcmuDevice::kick() {
  const uint32_t one = 1;
  if (::write(fd_, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
    spdlog::warn("tcmu {}: kicking {} failed: {}", settings_.name, settings_.uio_device, errno_text(errno));
  }
}

void TcmuDevice::maybe_finish_stop() {
  if (!stopping_ || armed_ || !commands_.empty() || !stopped_) return;
  settings_.target->detach(nexus_state_);
  nexus_state_.reset();
  kick();
  spdlog::info("tcmu {}: stopped", settings_.name);
  auto done = std::move(stopped_);
  done();
}

}  // namespace portico::tcmu
