// Losing and regaining the cluster's event channel (LunEvent state_unknown / state_current):
// a lost watch or RADOS session, or an event this gateway refused because it cannot decode it.
//
// While the channel is lost this gateway may miss reservation changes, resets and aborts that
// other gateways publish, so every command set refuses every command that could depend on them
// with its path-failing status (SCSI: NOT READY, LOGICAL UNIT COMMUNICATION FAILURE, TEST UNIT
// READY included, core/scsi/access_state.cc) until the state has been re-read. Notices
// that were published while it was away are reconstructed from the difference between the state
// it had and the state it reads back; a missed LOGICAL UNIT RESET cannot be reconstructed, but no
// task of this gateway ran during the gap, so nothing it would have aborted exists. (Tasks that
// were already running when a refused event arrived are stopped by its publisher, which fences a
// gateway that refused as it fences one that did not answer.)
#include <spdlog/spdlog.h>

#include "core/unit.h"

namespace portico {
namespace {

bool same_reservation(const ReservationState& a, const ReservationState& b) {
  return a.reservation == b.reservation && a.spc2_holder == b.spc2_holder;
}

}  // namespace

void Unit::on_state_unknown() {
  state_unknown_count_.fetch_add(1);
  if (!channel_lost_.exchange(true)) {
    spdlog::warn("{}: cluster state can no longer be proven current; refusing commands until it is re-read",
                 name_);
  }
}

void Unit::on_state_current(UniqueFunction<void()> applied) {
  auto self = shared_from_this();
  const ReservationState before = reservations();
  const uint64_t unknown_before = state_unknown_count_.load();
  reload_in_flight_.store(true);
  reload_reservations([self, before, unknown_before, applied = std::move(applied)](bool ok) mutable {
    self->reload_in_flight_.store(false);
    // The state became unknown again while this re-read ran (another refused event, a lost
    // watch): what it read may predate that change. Every state_unknown is followed by a
    // state_current of its own, whose re-read decides.
    if (self->state_unknown_count_.load() != unknown_before) return applied();
    if (!ok) {
      spdlog::error("{}: cluster channel is back but the reservation state cannot be read; still not serving",
                    self->name());
      self->reservations_stale_.store(true);
      self->channel_lost_.store(false);
      return applied();
    }
    const ReservationState after = self->reservations();
    for (auto& attachment : self->attachments()) {
      // SPC-4 5.12.11.4: what a preempting or releasing gateway would have raised here.
      const Initiator& who = attachment->initiator();
      if (before.is_registered(who) && !after.is_registered(who)) {
        attachment->notify(Notice::registrations_preempted);
      } else if (!same_reservation(before, after) && after.is_registered(who) && !after.is_holder(who)) {
        attachment->notify(Notice::reservations_released);
      }
    }
    self->reservations_stale_.store(false);
    self->channel_lost_.store(false);
    spdlog::info("{}: cluster state re-read (PRgeneration {}); serving again", self->name(), after.generation);
    applied();
  });
}

void Unit::retry_stale_reload() {
  // Only a failed re-read is retried from the command path; a lost channel waits for the
  // cluster's state_current.
  if (channel_lost_.load() || !reservations_stale_.load()) return;
  if (reload_in_flight_.exchange(true)) return;
  auto self = shared_from_this();
  reload_reservations([self](bool ok) {
    self->reload_in_flight_.store(false);
    if (ok) {
      self->reservations_stale_.store(false);
      spdlog::info("{}: reservation state re-read; serving again", self->name());
    }
  });
}

}  // namespace portico
