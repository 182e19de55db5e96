// The reservation engine: the rules of SCSI PERSISTENT RESERVE OUT (SPC-4 5.12) and of NVMe
// Reservation Register / Acquire / Release (NVMe Base 2.0 §8.19), one model. Each command set
// decodes its command into a ReservationRequest and turns the outcome into its own status.
#include "core/reservations/reservation_engine.h"

#include <algorithm>

namespace portico {
namespace {

ReservationOutcome conflict() {
  ReservationOutcome out;
  out.verdict = ReservationVerdict::conflict;
  return out;
}

ReservationOutcome invalid(RequestField field) {
  ReservationOutcome out;
  out.verdict = ReservationVerdict::invalid_field;
  out.field = field;
  return out;
}

Registrant registrant_for(const Initiator& nexus, uint64_t key, bool all_tg_pt) {
  Registrant r;
  r.initiator = nexus.initiator_port_name;
  r.target_port = all_tg_pt ? "" : nexus.target_port_name;
  r.all_target_ports = all_tg_pt;
  r.relative_target_port_id = nexus.relative_target_port_id;
  r.key = key;
  r.transport_id = nexus.transport_id;
  return r;
}

// SPC-4 5.12.11.2.3-ish: everyone registered except `nexus` gets `condition`.
void notify_other_registrants(const ReservationState& state, const Initiator& nexus, Notice condition, ReservationOutcome& out) {
  for (const auto& r : state.registrants) {
    if (!r.matches(nexus)) out.notices.push_back({r.selector(), condition});
  }
}

void release_reservation(ReservationState& state, const Initiator& nexus, ReservationOutcome& out) {
  const auto type = state.reservation->type;
  state.reservation.reset();
  // SPC-4 5.12.11.2.2: releasing a registrants-only or all-registrants reservation tells every
  // other registrant RESERVATIONS RELEASED.
  if (is_registrants_only(type) || is_all_registrants(type)) {
    notify_other_registrants(state, nexus, Notice::reservations_released, out);
  }
}

// Removes `nexus`'s registration; a holder that unregisters releases its reservation
// (SPC-4 5.12.11.2.3), except that all-registrants reservations last while anyone is registered.
void unregister(ReservationState& state, const Initiator& nexus, ReservationOutcome& out) {
  const bool was_holder = state.is_holder(nexus);
  std::erase_if(state.registrants, [&](const Registrant& r) { return r.matches(nexus); });
  if (!state.reservation) return;
  if (is_all_registrants(state.reservation->type)) {
    if (state.registrants.empty()) state.reservation.reset();
    return;
  }
  if (was_holder) release_reservation(state, nexus, out);
}

ReservationOutcome do_register(ReservationState& state, const Initiator& nexus, const ReservationRequest& req, bool ignore_key) {
  const Registrant* existing = state.registration_of(nexus);
  if (existing == nullptr) {
    if (!ignore_key && req.key != 0) return conflict();
    if (req.service_action_key == 0) return {};  // nothing to register (SPC-4 5.12.7)
    if (req.spec_i_pt && ignore_key) return invalid(RequestField::spec_i_pt);
    std::vector<Registrant> added{registrant_for(nexus, req.service_action_key, req.all_tg_pt)};
    for (const auto& [initiator, tid] : req.specified) {
      // SPC-4 5.12.7: a specified I_T nexus that is already registered fails the whole command.
      Registrant r;
      r.initiator = initiator;
      r.target_port = req.all_tg_pt ? "" : nexus.target_port_name;
      r.all_target_ports = req.all_tg_pt;
      r.relative_target_port_id = nexus.relative_target_port_id;
      r.key = req.service_action_key;
      r.transport_id = tid;
      for (const auto& s : state.registrants) {
        if (s.initiator == r.initiator && (s.all_target_ports || r.all_target_ports || s.target_port == r.target_port)) {
          return conflict();
        }
      }
      added.push_back(std::move(r));
    }
    for (auto& r : added) state.registrants.push_back(std::move(r));
    state.aptpl = req.aptpl;
    ++state.generation;
    ReservationOutcome out;
    out.changed = true;
    return out;
  }
  if (!ignore_key && existing->key != req.key) return conflict();
  if (req.spec_i_pt) return invalid(RequestField::spec_i_pt);
  ReservationOutcome out;
  if (req.service_action_key == 0) {
    unregister(state, nexus, out);
  } else {
    for (auto& r : state.registrants) {
      if (r.matches(nexus)) r.key = req.service_action_key;
    }
  }
  state.aptpl = req.aptpl;
  ++state.generation;
  out.changed = true;
  return out;
}

ReservationOutcome do_reserve(ReservationState& state, const Initiator& nexus, const ReservationRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  if (req.scope != 0) return invalid(RequestField::scope);
  if (!is_valid_reservation_type(req.type)) return invalid(RequestField::type);
  const auto type = static_cast<ReservationType>(req.type);
  if (state.reservation) {
    // SPC-4 5.12.9: the holder may repeat its reservation; anything else conflicts.
    if (state.is_holder(nexus) && state.reservation->type == type) return {};
    return conflict();
  }
  state.reservation = PersistentReservation{type, nexus.initiator_port_name,
                                            self->all_target_ports ? "" : nexus.target_port_name};
  ReservationOutcome out;
  out.changed = true;  // PRgeneration does not change for RESERVE (SPC-4 6.15.2)
  return out;
}

ReservationOutcome do_release(ReservationState& state, const Initiator& nexus, const ReservationRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  if (!state.reservation || !state.is_holder(nexus)) return {};  // SPC-4 5.12.11.2.2: nothing to do
  if (req.scope != 0) return invalid(RequestField::scope);
  if (static_cast<uint8_t>(state.reservation->type) != req.type) {
    ReservationOutcome out;
    out.verdict = ReservationVerdict::type_mismatch;  // SPC-4 5.12.11.2.2; NVMe: Invalid Field
    return out;
  }
  ReservationOutcome out;
  release_reservation(state, nexus, out);
  out.changed = true;
  return out;
}

ReservationOutcome do_clear(ReservationState& state, const Initiator& nexus, const ReservationRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  ReservationOutcome out;
  // SPC-4 5.12.11.6: everyone else learns RESERVATIONS PREEMPTED.
  notify_other_registrants(state, nexus, Notice::reservations_preempted, out);
  state.registrants.clear();
  state.reservation.reset();
  ++state.generation;
  out.changed = true;
  return out;
}

// Removes every registration with `key` except the caller's; returns how many went.
size_t remove_registrations_with_key(ReservationState& state, const Initiator& nexus, uint64_t key, bool abort,
                                     ReservationOutcome& out) {
  size_t removed = 0;
  std::erase_if(state.registrants, [&](const Registrant& r) {
    if (r.key != key || r.matches(nexus)) return false;
    out.notices.push_back({r.selector(), Notice::registrations_preempted});
    if (abort) out.abort.push_back(r.selector());
    ++removed;
    return true;
  });
  return removed;
}

ReservationOutcome do_preempt(ReservationState& state, const Initiator& nexus, const ReservationRequest& req, bool abort) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  ReservationOutcome out;
  const bool caller_has_key = self->key == req.service_action_key;
  auto finish = [&]() {
    ++state.generation;
    out.changed = true;
    return out;
  };

  if (!state.reservation) {
    // SPC-4 5.12.11.4.3: no reservation: PREEMPT removes registrations.
    if (req.service_action_key == 0) return invalid(RequestField::service_action_key);
    if (remove_registrations_with_key(state, nexus, req.service_action_key, abort, out) == 0 && !caller_has_key) {
      return conflict();
    }
    return finish();
  }
  if (!is_valid_reservation_type(req.type)) return invalid(RequestField::type);
  if (req.scope != 0) return invalid(RequestField::scope);
  const auto new_type = static_cast<ReservationType>(req.type);

  if (is_all_registrants(state.reservation->type)) {
    // SPC-4 5.12.11.4.4: key 0 preempts everyone else and takes a new reservation.
    if (req.service_action_key == 0) {
      std::erase_if(state.registrants, [&](const Registrant& r) {
        if (r.matches(nexus)) return false;
        out.notices.push_back({r.selector(), Notice::registrations_preempted});
        if (abort) out.abort.push_back(r.selector());
        return true;
      });
      state.reservation = PersistentReservation{new_type, nexus.initiator_port_name,
                                                self->all_target_ports ? "" : nexus.target_port_name};
      return finish();
    }
    if (remove_registrations_with_key(state, nexus, req.service_action_key, abort, out) == 0 && !caller_has_key) {
      return conflict();
    }
    return finish();
  }

  const uint64_t holder_key = state.holder_key();
  if (req.service_action_key != holder_key) {
    // SPC-4 5.12.11.4.3: not the holder's key: only registrations go.
    if (req.service_action_key == 0) return invalid(RequestField::service_action_key);
    if (remove_registrations_with_key(state, nexus, req.service_action_key, abort, out) == 0 && !caller_has_key) {
      return conflict();
    }
    return finish();
  }
  // SPC-4 5.12.11.4.4: the holder's key: registrations with it go, and the caller takes the
  // reservation (type and scope as requested).
  const auto old = *state.reservation;
  remove_registrations_with_key(state, nexus, req.service_action_key, abort, out);
  state.reservation = PersistentReservation{new_type, nexus.initiator_port_name,
                                            self->all_target_ports ? "" : nexus.target_port_name};
  if (old.type != new_type) {
    // Remaining registrants see that the reservation they knew is gone.
    for (const auto& r : state.registrants) {
      if (!r.matches(nexus)) out.notices.push_back({r.selector(), Notice::reservations_released});
    }
  }
  return finish();
}

ReservationOutcome do_register_and_move(ReservationState& state, const Initiator& nexus, const ReservationRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  // SPC-4 5.12.8: only the holder of a reservation that is not all-registrants may move it.
  if (!state.reservation || !state.is_holder(nexus) || is_all_registrants(state.reservation->type)) {
    return conflict();
  }
  if (req.service_action_key == 0) return invalid(RequestField::service_action_key);
  if (req.relative_target_port_id != nexus.relative_target_port_id) {
    return invalid(RequestField::relative_target_port);  // other ports are not known to this node
  }
  if (req.move_initiator == nexus.initiator_port_name) return invalid(RequestField::move_initiator);
  Initiator destination = nexus;
  destination.initiator_port_name = req.move_initiator;
  destination.initiator_name = req.move_initiator.substr(0, req.move_initiator.find(','));
  destination.transport_id = req.move_transport_id;
  if (!state.is_registered(destination)) {
    Registrant r = registrant_for(destination, req.service_action_key, false);
    r.initiator = req.move_initiator;
    state.registrants.push_back(std::move(r));
  }
  state.reservation->holder_initiator = req.move_initiator;
  state.reservation->holder_target_port = nexus.target_port_name;
  ReservationOutcome out;
  if (req.unreg) std::erase_if(state.registrants, [&](const Registrant& r) { return r.matches(nexus); });
  state.aptpl = req.aptpl;
  ++state.generation;
  out.changed = true;
  return out;
}

}  // namespace

ReservationOutcome apply_reservation_request(ReservationState& state, const Initiator& nexus, const ReservationRequest& request) {
  // SPC-2 5.5.1: while an SPC-2 RESERVE is in effect every reservation request conflicts,
  // whichever initiator sends it.
  if (!state.spc2_holder.empty()) return conflict();
  switch (request.action) {
    case ReservationAction::register_key: return do_register(state, nexus, request, false);
    case ReservationAction::register_and_ignore_existing_key: return do_register(state, nexus, request, true);
    case ReservationAction::reserve: return do_reserve(state, nexus, request);
    case ReservationAction::release: return do_release(state, nexus, request);
    case ReservationAction::clear: return do_clear(state, nexus, request);
    case ReservationAction::preempt: return do_preempt(state, nexus, request, false);
    case ReservationAction::preempt_and_abort: return do_preempt(state, nexus, request, true);
    case ReservationAction::register_and_move: return do_register_and_move(state, nexus, request);
  }
  return invalid(RequestField::action);
}

}  // namespace portico
