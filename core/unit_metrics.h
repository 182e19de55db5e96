// What a unit counts for the gateway's metrics endpoint: commands, bytes, errors and latency per
// front-end transport and kind of operation, reservation changes and task management functions.
// The command path adds with relaxed atomics (no lock, no allocation); the exporter reads a
// consistent-enough snapshot at a scrape (each counter is exact, counters are read one by one).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/common/latency_histogram.h"
#include "core/initiator.h"

namespace portico {

enum class IoClass : uint8_t { read, write, compare_and_write, other };
inline constexpr size_t kIoClassCount = 4;
inline const char* io_class_name(IoClass io_class) {
  switch (io_class) {
    case IoClass::read: return "read";
    case IoClass::write: return "write";
    case IoClass::compare_and_write: return "compare_and_write";
    case IoClass::other: return "other";
  }
  return "other";
}

// Task management functions as the unit saw them, whichever command set asked.
enum class TaskManagementKind : uint8_t { abort_task, abort_task_set, clear_task_set, lun_reset, other };
inline constexpr size_t kTaskManagementKindCount = 5;
inline const char* task_management_name(TaskManagementKind kind) {
  switch (kind) {
    case TaskManagementKind::abort_task: return "abort_task";
    case TaskManagementKind::abort_task_set: return "abort_task_set";
    case TaskManagementKind::clear_task_set: return "clear_task_set";
    case TaskManagementKind::lun_reset: return "lun_reset";
    case TaskManagementKind::other: return "other";
  }
  return "other";
}

struct OperationCounters {
  std::atomic<uint64_t> errors{0};  // ended with a status other than success (aborted ones too)
  std::atomic<uint64_t> bytes{0};   // data the successful ones moved
  LatencyHistogram latency;         // from admission (data in hand) to completion
};

class UnitMetrics {
 public:
  // A command from `transport` that the unit admitted and that has ended.
  void record(Transport transport, IoClass io_class, uint64_t bytes, uint64_t latency_ns, bool ok) {
    OperationCounters& c = operations_[static_cast<size_t>(transport)][static_cast<size_t>(io_class)];
    if (ok) {
      c.bytes.fetch_add(bytes, std::memory_order_relaxed);
    } else {
      c.errors.fetch_add(1, std::memory_order_relaxed);
    }
    c.latency.add(latency_ns);  // its count is the command count
  }
  void count_reservation_change() { reservation_changes_.fetch_add(1, std::memory_order_relaxed); }
  void count_task_management(TaskManagementKind kind) {
    task_management_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }

  [[nodiscard]] const OperationCounters& operations(Transport transport, IoClass io_class) const {
    return operations_[static_cast<size_t>(transport)][static_cast<size_t>(io_class)];
  }
  [[nodiscard]] uint64_t reservation_changes() const { return reservation_changes_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t task_management(TaskManagementKind kind) const {
    return task_management_[static_cast<size_t>(kind)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::array<OperationCounters, kIoClassCount>, kTransportCount> operations_{};
  std::atomic<uint64_t> reservation_changes_{0};
  std::array<std::atomic<uint64_t>, kTaskManagementKindCount> task_management_{};
};

}  // namespace portico
