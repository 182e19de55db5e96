// Whether a logical unit is being sanitized, or is left in the failed state by a sanitize
// operation that did not complete (SBC-3 4.11), here or on any gateway of the cluster. Shared by
// every nexus and loop that reaches the unit: the gate in LogicalUnit::execute() reads it on
// every command, so the idle case is one relaxed atomic load.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

#include "core/reservations/reservation_state.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

class SanitizeState {
 public:
  // The sense a command gets because of a running or failed sanitize, if any (sanitize.cc).
  [[nodiscard]] std::optional<SenseData> refusal(std::span<const uint8_t> cdb) const;
  // What REQUEST SENSE reports when no other condition is pending (SPC-4 6.29: the progress of
  // a sanitize in progress).
  [[nodiscard]] std::optional<SenseData> pending_condition() const;

  // Running here or on another gateway.
  [[nodiscard]] bool in_progress() const { return in_progress_.load(std::memory_order_acquire); }
  // Running on this gateway.
  [[nodiscard]] bool running_here() const {
    std::lock_guard lock(mutex_);
    return running_here_;
  }
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

  // Starts an operation on this gateway; false when one is already running anywhere.
  bool begin() {
    std::lock_guard lock(mutex_);
    if (running_here_ || running_elsewhere_) return false;
    running_here_ = true;
    progress_.store(0, std::memory_order_relaxed);
    publish_flags();
    return true;
  }
  // Undoes begin() when the cluster refused the operation (another gateway started one first).
  void abandon() {
    std::lock_guard lock(mutex_);
    running_here_ = false;
    publish_flags();
  }
  void set_progress(uint16_t value) { progress_.store(value, std::memory_order_relaxed); }
  // Ends this gateway's operation: success clears the failed state (SBC-3 4.11.4), failure
  // enters it.
  void finish(bool ok, bool ause) {
    std::lock_guard lock(mutex_);
    running_here_ = false;
    failed_ = !ok;
    failed_ause_ = ause;
    publish_flags();
  }
  void exit_failure_mode() {
    std::lock_guard lock(mutex_);
    failed_ = false;
    publish_flags();
  }
  // The cluster's record, as every gateway sees it (`local_group`: this gateway's target port
  // group). A record that says this gateway runs an operation it does not run (it was
  // restarted meanwhile) reads as failed: the medium was left partly sanitized.
  void apply_shared(const std::optional<SharedSanitize>& shared, uint16_t local_group) {
    std::lock_guard lock(mutex_);
    running_elsewhere_ = shared && shared->running && shared->owner_group != local_group;
    if (running_elsewhere_) progress_.store(shared->progress, std::memory_order_relaxed);
    if (!running_here_) {
      failed_ = shared && (!shared->running || shared->owner_group == local_group);
      failed_ause_ = failed_ && shared->ause;
    }
    publish_flags();
  }

 private:
  void publish_flags() {  // with mutex_ held
    const bool running = running_here_ || running_elsewhere_;
    in_progress_.store(running, std::memory_order_release);
    active_.store(running || failed_, std::memory_order_release);
  }

  mutable std::mutex mutex_;
  std::atomic<bool> active_{false};  // in progress or failed: the gate has something to check
  std::atomic<bool> in_progress_{false};
  std::atomic<uint16_t> progress_{0};
  bool running_here_ = false;
  bool running_elsewhere_ = false;
  bool failed_ = false;
  bool failed_ause_ = false;
};

}  // namespace portico::scsi
