// PERSISTENT RESERVE OUT (SPC-4 6.16): decodes the CDB and parameter list into the shared
// engine's request (core/reservations/reservation_engine.h) and turns its verdict into the SCSI
// status and sense data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/reservations/reservation_engine.h"
#include "core/reservations/reservation_state.h"
#include "core/scsi/it_nexus.h"
#include "core/scsi/scsi_status.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

using PrOutAction = ReservationAction;
using PrOutRequest = ReservationRequest;

// Decodes the CDB and parameter list. Errors carry the field pointer.
std::variant<PrOutRequest, SenseData> decode_persistent_reserve_out(std::span<const uint8_t> cdb,
                                                                    std::span<const uint8_t> parameters);

// The engine's outcome with the SCSI status and sense it ends the command with.
struct PrOutOutcome : ReservationOutcome {
  ScsiStatus status = ScsiStatus::good;
  std::optional<SenseData> sense;
};

PrOutOutcome apply_persistent_reserve_out(ReservationState& state, const ItNexus& nexus, const PrOutRequest& request);

}  // namespace portico::scsi
