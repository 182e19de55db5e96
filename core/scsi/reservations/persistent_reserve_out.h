// The PERSISTENT RESERVE OUT engine (SPC-4 5.12, 6.16): a pure function of the reservation
// state, the request and the I_T nexus it came through. It returns the SCSI result, whether the
// state changed (and must be stored), and what other nexuses must learn: unit attentions and,
// for PREEMPT AND ABORT, whose tasks to abort. Storing the state and delivering the events is
// the caller's (the logical unit's, through the cluster state).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/cluster_state.h"
#include "core/scsi/it_nexus.h"
#include "core/scsi/reservations/reservation_state.h"
#include "core/scsi/scsi_status.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

enum class PrOutAction : uint8_t {
  register_key = 0x0,
  reserve = 0x1,
  release = 0x2,
  clear = 0x3,
  preempt = 0x4,
  preempt_and_abort = 0x5,
  register_and_ignore_existing_key = 0x6,
  register_and_move = 0x7,
};

struct PrOutRequest {
  PrOutAction action = PrOutAction::register_key;
  uint8_t scope = 0;
  uint8_t type = 0;
  uint64_t key = 0;                 // RESERVATION KEY
  uint64_t service_action_key = 0;  // SERVICE ACTION RESERVATION KEY
  bool spec_i_pt = false;
  bool all_tg_pt = false;
  bool aptpl = false;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> specified;  // SPEC_I_PT: (initiator, TransportID)
  // REGISTER AND MOVE.
  bool unreg = false;
  uint16_t relative_target_port_id = 0;
  std::string move_initiator;
  std::vector<uint8_t> move_transport_id;
};

// Decodes the CDB and parameter list. Errors carry the field pointer.
std::variant<PrOutRequest, SenseData> decode_persistent_reserve_out(std::span<const uint8_t> cdb,
                                                                    std::span<const uint8_t> parameters);

// Who an event is for: one registrant identity (as in Registrant::matches), in the form the
// cluster's events carry.
using NexusSelector = LunEvent::NexusSelector;

struct PrOutOutcome {
  ScsiStatus status = ScsiStatus::good;
  std::optional<SenseData> sense;
  bool changed = false;  // the state was modified and must be stored
  std::vector<std::pair<NexusSelector, Asc>> unit_attentions;
  std::vector<NexusSelector> abort;  // PREEMPT AND ABORT: tasks of these nexuses end
  std::optional<Asc> unit_attention_for_others;  // for every nexus except the one that asked
};

PrOutOutcome apply_persistent_reserve_out(ReservationState& state, const ItNexus& nexus, const PrOutRequest& request);

}  // namespace portico::scsi
