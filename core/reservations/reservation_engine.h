// The reservation engine (SPC-4 5.12 PERSISTENT RESERVE OUT; NVMe Base 2.0 §8.19 Reservation
// Register / Acquire / Release): a pure function of the reservation state, the request and the
// initiator it came from. It returns a verdict, whether the state changed (and must be stored),
// and what other initiators must learn: notices and, for PREEMPT AND ABORT, whose commands end.
// Storing the state and delivering the events is the caller's (the unit's, through the cluster
// state); turning the verdict into a status is the command set's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/initiator.h"
#include "core/notice.h"
#include "core/reservations/reservation_state.h"

namespace portico {

// The request kinds; the values are SPC-4's service action codes. NVMe Register is
// register_key (or register_and_ignore_existing_key with IEKEY), Acquire is reserve / preempt /
// preempt_and_abort, Release is release / clear.
enum class ReservationAction : uint8_t {
  register_key = 0x0,
  reserve = 0x1,
  release = 0x2,
  clear = 0x3,
  preempt = 0x4,
  preempt_and_abort = 0x5,
  register_and_ignore_existing_key = 0x6,
  register_and_move = 0x7,  // SCSI only
};

struct ReservationRequest {
  ReservationAction action = ReservationAction::register_key;
  uint8_t scope = 0;                // SCSI SCOPE; 0 (logical unit) for NVMe
  uint8_t type = 0;                 // a ReservationType value
  uint64_t key = 0;                 // current reservation key (NVMe CRKEY)
  uint64_t service_action_key = 0;  // new key (NVMe NRKEY) or the key to preempt (NVMe PRKEY)
  bool spec_i_pt = false;
  bool all_tg_pt = false;
  bool aptpl = false;               // persist through power loss (NVMe CPTPL)
  std::vector<std::pair<std::string, std::vector<uint8_t>>> specified;  // SPEC_I_PT: (initiator, TransportID)
  // REGISTER AND MOVE.
  bool unreg = false;
  uint16_t relative_target_port_id = 0;
  std::string move_initiator;
  std::vector<uint8_t> move_transport_id;
};

enum class ReservationVerdict : uint8_t {
  done,           // carried out (or nothing to do)
  conflict,       // reservation conflict
  invalid_field,  // `field` is not acceptable
  type_mismatch,  // RELEASE of a type other than the reservation's
};

// The request field an invalid_field verdict names (SCSI points at it in the sense data).
enum class RequestField : uint8_t {
  action,
  scope,
  type,
  spec_i_pt,
  service_action_key,
  relative_target_port,
  move_initiator,
};

struct ReservationOutcome {
  ReservationVerdict verdict = ReservationVerdict::done;
  RequestField field = RequestField::action;  // for invalid_field
  bool changed = false;                       // the state was modified and must be stored
  std::vector<std::pair<InitiatorSelector, Notice>> notices;
  std::vector<InitiatorSelector> abort;       // PREEMPT AND ABORT: commands of these initiators end
  std::optional<Notice> notice_for_others;    // for every initiator except the one that asked
};

ReservationOutcome apply_reservation_request(ReservationState& state, const Initiator& initiator,
                                             const ReservationRequest& request);

}  // namespace portico
