// A unit's state per event loop, so that its command path takes no lock and writes no
// cache line that another loop writes too.
//
// Each single-threaded executor (an event loop) that runs commands on the unit claims a slot the
// first time it does. The slot holds the tasks that loop is executing (the unit's task set is the
// union of every slot's list and one locked list for other executors) and the loop's copy of the
// reservation snapshot. Only the owning loop touches `head` and the copy; another thread that
// must see the loop's tasks (a task management function, a cluster event) posts to the loop.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/executor.h"
#include "core/reservations/reservation_state.h"

namespace portico {

class Task;

struct alignas(64) UnitLoopSlot {
  // Tasks in `head`, written by the owner only. An abort posts only to slots that have some: a
  // loop with none may have stopped (task_set.cc says what a racing task sees).
  std::atomic<uint32_t> linked{0};
  Task* head = nullptr;  // the owner's thread only
  // The owner's copy of the unit's reservation snapshot, and the version it was copied at.
  uint64_t reservations_version = 0;
  std::shared_ptr<const ReservationState> reservations;
};

class UnitLoopSlots {
 public:
  static constexpr uint16_t kNone = UINT16_MAX;
  // More loops than a gateway runs; past this, commands take the locked path.
  static constexpr size_t kSlots = 64;

  // The slot of `executor`, claimed on first use; kNone for an executor that is not single
  // threaded, or when every slot is taken.
  uint16_t slot_of(Executor& executor) {
    if (!executor.single_threaded()) return kNone;
    for (size_t i = 0; i < kSlots; ++i) {
      Executor* owner = owners_[i].load(std::memory_order_acquire);
      if (owner == nullptr && owners_[i].compare_exchange_strong(owner, &executor, std::memory_order_acq_rel)) {
        return static_cast<uint16_t>(i);
      }
      if (owner == &executor) return static_cast<uint16_t>(i);  // after a failed claim: the winner
    }
    return kNone;
  }

  UnitLoopSlot& operator[](uint16_t slot) { return slots_[slot]; }
  // The loop that claimed `slot` (set before its first task is counted in it).
  [[nodiscard]] Executor* owner(uint16_t slot) const { return owners_[slot].load(std::memory_order_acquire); }
  [[nodiscard]] static constexpr size_t size() { return kSlots; }

 private:
  // Apart from the slots: every command reads these, only a loop's first command writes one.
  alignas(64) std::array<std::atomic<Executor*>, kSlots> owners_{};
  std::array<UnitLoopSlot, kSlots> slots_;
};

}  // namespace portico
