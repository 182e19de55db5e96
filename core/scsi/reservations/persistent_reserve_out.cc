#include "core/scsi/reservations/persistent_reserve_out.h"

#include <algorithm>

#include "core/common/big_endian.h"
#include "core/scsi/reservations/transport_id.h"

namespace portico::scsi {
namespace {

constexpr Asc kInvalidReleaseOfPersistentReservation{0x26, 0x04};

PrOutOutcome conflict() {
  PrOutOutcome out;
  out.status = ScsiStatus::reservation_conflict;
  return out;
}

PrOutOutcome check(const SenseData& sense) {
  PrOutOutcome out;
  out.status = ScsiStatus::check_condition;
  out.sense = sense;
  return out;
}

NexusSelector selector_of(const Registrant& r) { return {r.initiator, r.all_target_ports ? "" : r.target_port}; }

Registrant registrant_for(const ItNexus& nexus, uint64_t key, bool all_tg_pt) {
  Registrant r;
  r.initiator = nexus.initiator_port_name;
  r.target_port = all_tg_pt ? "" : nexus.target_port_name;
  r.all_target_ports = all_tg_pt;
  r.relative_target_port_id = nexus.relative_target_port_id;
  r.key = key;
  r.transport_id = nexus.transport_id;
  return r;
}

bool same_registrant(const Registrant& r, const ItNexus& nexus) { return r.matches(nexus); }

// SPC-4 5.12.11.2.3-ish: everyone registered except `nexus` gets `condition`.
void notify_other_registrants(const ReservationState& state, const ItNexus& nexus, Asc condition, PrOutOutcome& out) {
  for (const auto& r : state.registrants) {
    if (!same_registrant(r, nexus)) out.unit_attentions.push_back({selector_of(r), condition});
  }
}

void release_reservation(ReservationState& state, const ItNexus& nexus, PrOutOutcome& out) {
  const auto type = state.reservation->type;
  state.reservation.reset();
  // SPC-4 5.12.11.2.2: releasing a registrants-only or all-registrants reservation tells every
  // other registrant RESERVATIONS RELEASED.
  if (is_registrants_only(type) || is_all_registrants(type)) {
    notify_other_registrants(state, nexus, asc::kReservationsReleased, out);
  }
}

// Removes `nexus`'s registration; a holder that unregisters releases its reservation
// (SPC-4 5.12.11.2.3), except that all-registrants reservations last while anyone is registered.
void unregister(ReservationState& state, const ItNexus& nexus, PrOutOutcome& out) {
  const bool was_holder = state.is_holder(nexus);
  std::erase_if(state.registrants, [&](const Registrant& r) { return same_registrant(r, nexus); });
  if (!state.reservation) return;
  if (is_all_registrants(state.reservation->type)) {
    if (state.registrants.empty()) state.reservation.reset();
    return;
  }
  if (was_holder) release_reservation(state, nexus, out);
}

PrOutOutcome do_register(ReservationState& state, const ItNexus& nexus, const PrOutRequest& req, bool ignore_key) {
  const Registrant* existing = state.registration_of(nexus);
  if (existing == nullptr) {
    if (!ignore_key && req.key != 0) return conflict();
    if (req.service_action_key == 0) return {};  // nothing to register (SPC-4 5.12.7)
    if (req.spec_i_pt && ignore_key) return check(invalid_field_in_parameter_list(20, 3));
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
    PrOutOutcome out;
    out.changed = true;
    return out;
  }
  if (!ignore_key && existing->key != req.key) return conflict();
  if (req.spec_i_pt) return check(invalid_field_in_parameter_list(20, 3));
  PrOutOutcome out;
  if (req.service_action_key == 0) {
    unregister(state, nexus, out);
  } else {
    for (auto& r : state.registrants) {
      if (same_registrant(r, nexus)) r.key = req.service_action_key;
    }
  }
  state.aptpl = req.aptpl;
  ++state.generation;
  out.changed = true;
  return out;
}

PrOutOutcome do_reserve(ReservationState& state, const ItNexus& nexus, const PrOutRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  if (req.scope != 0) return check(invalid_field_in_cdb(2, 7));
  if (!is_valid_reservation_type(req.type)) return check(invalid_field_in_cdb(2, 3));
  const auto type = static_cast<ReservationType>(req.type);
  if (state.reservation) {
    // SPC-4 5.12.9: the holder may repeat its reservation; anything else conflicts.
    if (state.is_holder(nexus) && state.reservation->type == type) return {};
    return conflict();
  }
  state.reservation = PersistentReservation{type, nexus.initiator_port_name,
                                            self->all_target_ports ? "" : nexus.target_port_name};
  PrOutOutcome out;
  out.changed = true;  // PRgeneration does not change for RESERVE (SPC-4 6.15.2)
  return out;
}

PrOutOutcome do_release(ReservationState& state, const ItNexus& nexus, const PrOutRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  if (!state.reservation || !state.is_holder(nexus)) return {};  // SPC-4 5.12.11.2.2: nothing to do
  if (req.scope != 0) return check(invalid_field_in_cdb(2, 7));
  if (static_cast<uint8_t>(state.reservation->type) != req.type) {
    return check(SenseData{SenseKey::illegal_request, kInvalidReleaseOfPersistentReservation, std::nullopt,
                           std::nullopt});
  }
  PrOutOutcome out;
  release_reservation(state, nexus, out);
  out.changed = true;
  return out;
}

PrOutOutcome do_clear(ReservationState& state, const ItNexus& nexus, const PrOutRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  PrOutOutcome out;
  // SPC-4 5.12.11.6: everyone else learns RESERVATIONS PREEMPTED.
  notify_other_registrants(state, nexus, asc::kReservationsPreempted, out);
  state.registrants.clear();
  state.reservation.reset();
  ++state.generation;
  out.changed = true;
  return out;
}

// Removes every registration with `key` except the caller's; returns how many went.
size_t remove_registrations_with_key(ReservationState& state, const ItNexus& nexus, uint64_t key, bool abort,
                                     PrOutOutcome& out) {
  size_t removed = 0;
  std::erase_if(state.registrants, [&](const Registrant& r) {
    if (r.key != key || same_registrant(r, nexus)) return false;
    out.unit_attentions.push_back({selector_of(r), asc::kRegistrationsPreempted});
    if (abort) out.abort.push_back(selector_of(r));
    ++removed;
    return true;
  });
  return removed;
}

PrOutOutcome do_preempt(ReservationState& state, const ItNexus& nexus, const PrOutRequest& req, bool abort) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  PrOutOutcome out;
  const bool caller_has_key = self->key == req.service_action_key;
  auto finish = [&]() {
    ++state.generation;
    out.changed = true;
    return out;
  };

  if (!state.reservation) {
    // SPC-4 5.12.11.4.3: no reservation: PREEMPT removes registrations.
    if (req.service_action_key == 0) return check(invalid_field_in_parameter_list(8));
    if (remove_registrations_with_key(state, nexus, req.service_action_key, abort, out) == 0 && !caller_has_key) {
      return conflict();
    }
    return finish();
  }
  if (!is_valid_reservation_type(req.type)) return check(invalid_field_in_cdb(2, 3));
  if (req.scope != 0) return check(invalid_field_in_cdb(2, 7));
  const auto new_type = static_cast<ReservationType>(req.type);

  if (is_all_registrants(state.reservation->type)) {
    // SPC-4 5.12.11.4.4: key 0 preempts everyone else and takes a new reservation.
    if (req.service_action_key == 0) {
      std::erase_if(state.registrants, [&](const Registrant& r) {
        if (same_registrant(r, nexus)) return false;
        out.unit_attentions.push_back({selector_of(r), asc::kRegistrationsPreempted});
        if (abort) out.abort.push_back(selector_of(r));
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
    if (req.service_action_key == 0) return check(invalid_field_in_parameter_list(8));
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
      if (!same_registrant(r, nexus)) out.unit_attentions.push_back({selector_of(r), asc::kReservationsReleased});
    }
  }
  return finish();
}

PrOutOutcome do_register_and_move(ReservationState& state, const ItNexus& nexus, const PrOutRequest& req) {
  const Registrant* self = state.registration_of(nexus);
  if (self == nullptr || self->key != req.key) return conflict();
  // SPC-4 5.12.8: only the holder of a reservation that is not all-registrants may move it.
  if (!state.reservation || !state.is_holder(nexus) || is_all_registrants(state.reservation->type)) {
    return conflict();
  }
  if (req.service_action_key == 0) return check(invalid_field_in_parameter_list(8));
  if (req.relative_target_port_id != nexus.relative_target_port_id) {
    return check(invalid_field_in_parameter_list(18));  // other ports are not known to this node
  }
  if (req.move_initiator == nexus.initiator_port_name) return check(invalid_field_in_parameter_list(24));
  ItNexus destination = nexus;
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
  PrOutOutcome out;
  if (req.unreg) std::erase_if(state.registrants, [&](const Registrant& r) { return same_registrant(r, nexus); });
  state.aptpl = req.aptpl;
  ++state.generation;
  out.changed = true;
  return out;
}

}  // namespace

std::variant<PrOutRequest, SenseData> decode_persistent_reserve_out(std::span<const uint8_t> cdb,
                                                                    std::span<const uint8_t> parameters) {
  PrOutRequest req;
  const uint8_t action = cdb[1] & 0x1f;
  if (action > 0x07) return invalid_field_in_cdb(1, 4);
  req.action = static_cast<PrOutAction>(action);
  req.scope = cdb[2] >> 4;
  req.type = cdb[2] & 0x0f;
  const uint32_t length = load_be32(cdb.data() + 5);
  if (parameters.size() < length) return illegal_request(asc::kParameterListLengthError);
  const auto p = parameters.first(length);
  if (req.action == PrOutAction::register_and_move) {
    // SPC-4 6.16.4: the REGISTER AND MOVE parameter list.
    if (length < 24) return illegal_request(asc::kParameterListLengthError);
    req.key = load_be64(p.data());
    req.service_action_key = load_be64(p.data() + 8);
    req.unreg = (p[17] & 0x02) != 0;
    req.aptpl = (p[17] & 0x01) != 0;
    req.relative_target_port_id = load_be16(p.data() + 18);
    const uint32_t tid_length = load_be32(p.data() + 20);
    if (24 + uint64_t{tid_length} > length || tid_length < 24) return illegal_request(asc::kParameterListLengthError);
    auto parsed = parse_transport_id(p.subspan(24, tid_length), 24);
    if (auto* sense = std::get_if<SenseData>(&parsed)) return *sense;
    req.move_initiator = std::get<ParsedTransportId>(parsed).initiator;
    req.move_transport_id = std::get<ParsedTransportId>(parsed).bytes;
    return req;
  }
  // SPC-4 6.16.3: 24 bytes, plus TransportIDs only with SPEC_I_PT.
  if (length < 24) return illegal_request(asc::kParameterListLengthError);
  req.key = load_be64(p.data());
  req.service_action_key = load_be64(p.data() + 8);
  req.spec_i_pt = (p[20] & 0x08) != 0;
  req.all_tg_pt = (p[20] & 0x04) != 0;
  req.aptpl = (p[20] & 0x01) != 0;
  const bool registering =
      req.action == PrOutAction::register_key || req.action == PrOutAction::register_and_ignore_existing_key;
  if (req.spec_i_pt && !registering) return invalid_field_in_parameter_list(20, 3);
  if (req.all_tg_pt && !registering) return invalid_field_in_parameter_list(20, 2);
  if (!req.spec_i_pt) {
    if (length != 24) return illegal_request(asc::kParameterListLengthError);
    return req;
  }
  if (length < 28) return illegal_request(asc::kParameterListLengthError);
  const uint32_t tid_bytes = load_be32(p.data() + 24);
  if (28 + uint64_t{tid_bytes} != length) return illegal_request(asc::kParameterListLengthError);
  size_t at = 28;
  while (at < length) {
    auto parsed = parse_transport_id(p.subspan(at), static_cast<uint16_t>(at));
    if (auto* sense = std::get_if<SenseData>(&parsed)) return *sense;
    auto& id = std::get<ParsedTransportId>(parsed);
    at += id.length;
    req.specified.emplace_back(std::move(id.initiator), std::move(id.bytes));
  }
  return req;
}

PrOutOutcome apply_persistent_reserve_out(ReservationState& state, const ItNexus& nexus, const PrOutRequest& request) {
  // SPC-2 5.5.1: while an SPC-2 RESERVE is in effect every PERSISTENT RESERVE OUT conflicts,
  // whichever nexus sends it.
  if (!state.spc2_holder.empty()) return conflict();
  switch (request.action) {
    case PrOutAction::register_key: return do_register(state, nexus, request, false);
    case PrOutAction::register_and_ignore_existing_key: return do_register(state, nexus, request, true);
    case PrOutAction::reserve: return do_reserve(state, nexus, request);
    case PrOutAction::release: return do_release(state, nexus, request);
    case PrOutAction::clear: return do_clear(state, nexus, request);
    case PrOutAction::preempt: return do_preempt(state, nexus, request, false);
    case PrOutAction::preempt_and_abort: return do_preempt(state, nexus, request, true);
    case PrOutAction::register_and_move: return do_register_and_move(state, nexus, request);
  }
  return check(invalid_field_in_cdb(1, 4));
}

}  // namespace portico::scsi
