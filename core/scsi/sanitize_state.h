// Whether a logical unit is being sanitized, or is left in the failed state by a sanitize
// operation that did not complete (SBC-3 4.11). Shared by every nexus and loop that reaches the
// unit: the gate in LogicalUnit::execute() reads it on every command, so the idle case is one
// relaxed atomic load.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

#include "core/scsi/sense.h"

namespace portico::scsi {

class SanitizeState {
 public:
  // The sense a command gets because of a running or failed sanitize, if any (sanitize.cc).
  [[nodiscard]] std::optional<SenseData> refusal(std::span<const uint8_t> cdb) const;
  // What REQUEST SENSE reports when no other condition is pending (SPC-4 6.29: the progress of
  // a sanitize in progress).
  [[nodiscard]] std::optional<SenseData> pending_condition() const;

  [[nodiscard]] bool in_progress() const { return in_progress_.load(std::memory_order_acquire); }
  [[nodiscard]] bool failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }
  // SBC-3 5.30.1: EXIT FAILURE MODE is only accepted after a failure of a sanitize requested
  // with AUSE=1 (the unrestricted completion mode).
  [[nodiscard]] bool failure_exit_allowed() const {
    std::lock_guard lock(mutex_);
    return failed_ && failed_ause_;
  }
  // Fraction done as a numerator over 65536 (SPC-4 4.5.2.4.4 progress indication).
  [[nodiscard]] uint16_t progress() const { return progress_.load(std::memory_order_relaxed); }

  // Starts an operation; false when one is already running.
  bool begin() {
    std::lock_guard lock(mutex_);
    if (in_progress_.load(std::memory_order_relaxed)) return false;
    progress_.store(0, std::memory_order_relaxed);
    in_progress_.store(true, std::memory_order_release);
    active_.store(true, std::memory_order_release);
    return true;
  }
  void set_progress(uint16_t value) { progress_.store(value, std::memory_order_relaxed); }
  // Ends the running operation: success clears the failed state (SBC-3 4.11.4), failure enters it.
  void finish(bool ok, bool ause) {
    std::lock_guard lock(mutex_);
    failed_ = !ok;
    failed_ause_ = ause;
    in_progress_.store(false, std::memory_order_release);
    active_.store(failed_, std::memory_order_release);
  }
  void exit_failure_mode() {
    std::lock_guard lock(mutex_);
    failed_ = false;
    active_.store(in_progress_.load(std::memory_order_relaxed), std::memory_order_release);
  }

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> active_{false};  // in progress or failed: the gate has something to check
  std::atomic<bool> in_progress_{false};
  std::atomic<uint16_t> progress_{0};
  bool failed_ = false;
  bool failed_ause_ = false;
};

}  // namespace portico::scsi
