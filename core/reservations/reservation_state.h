// The reservation state of one unit, one model for SCSI persistent reservations (SPC-4 5.12) and
// NVMe reservations (NVMe Base 2.0 §8.19): a registrant is an initiator (core/initiator.h: a SCSI
// initiator port, or an NVMe host) seen through one target port, or through every one (SCSI
// ALL_TG_PT; always for an NVMe host). The state is a plain value: the engine
// (reservation_engine.h) computes a new one per request, and the cluster stores it (serialize /
// parse) wherever the deployment keeps it. The same record keeps the other unit state that every
// gateway must apply alike (mode parameters, a sanitize operation, an SPC-2 reservation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/initiator.h"

namespace portico {

// The six reservation types of SPC-4 6.16.2 Table 171, which NVMe Base 2.0 §8.19 defines alike
// (numbered 1h..6h there: the NVMe command set maps them). The values are SPC-4's codes, which
// the stored record uses too.
enum class ReservationType : uint8_t {
  write_exclusive = 0x1,
  exclusive_access = 0x3,
  write_exclusive_registrants_only = 0x5,
  exclusive_access_registrants_only = 0x6,
  write_exclusive_all_registrants = 0x7,
  exclusive_access_all_registrants = 0x8,
};

bool is_valid_reservation_type(uint8_t type);
bool is_all_registrants(ReservationType type);
bool is_registrants_only(ReservationType type);

struct Registrant {
  std::string initiator;    // initiator port name ("iqn...,i,0x<isid>")
  std::string target_port;  // target port name; "" when all_target_ports
  bool all_target_ports = false;
  uint16_t relative_target_port_id = 0;
  uint64_t key = 0;
  std::vector<uint8_t> transport_id;  // as READ FULL STATUS reports it

  // Who this registration is: `initiator` names one initiator port, or (TransportID format 00b)
  // an initiator device and so every port of it.
  [[nodiscard]] InitiatorSelector selector() const { return {initiator, all_target_ports ? "" : target_port}; }
  [[nodiscard]] bool matches(const Initiator& who) const { return selector().matches(who); }

  bool operator==(const Registrant&) const = default;
};

struct PersistentReservation {
  ReservationType type = ReservationType::write_exclusive;
  // The holding initiator (ignored for the all-registrants types, where every registrant holds).
  std::string holder_initiator;
  std::string holder_target_port;

  [[nodiscard]] InitiatorSelector holder() const { return {holder_initiator, holder_target_port}; }

  bool operator==(const PersistentReservation&) const = default;
};

// The logical unit's changeable mode parameters (SPC-4 7.5: they belong to the unit, not to a
// port), kept in the same record so that every gateway applies what the last MODE SELECT set,
// changed under the same guarded update.
struct SharedModeParameters {
  bool descriptor_sense = false;
  bool task_aborted_status = true;
  bool write_cache_enabled = false;
  bool software_write_protect = false;

  bool operator==(const SharedModeParameters&) const = default;
};

// A sanitize operation (SBC-3 4.11) as every gateway must see it: medium access is refused on
// every gateway while it runs on one, and after it failed until a successful sanitize or EXIT
// FAILURE MODE, wherever those are sent. Kept in the same record and changed under the same
// guarded update.
struct SharedSanitize {
  bool running = false;      // false: it failed (or its gateway died before it ended)
  bool ause = false;         // requested with AUSE=1: EXIT FAILURE MODE may leave the failed state
  uint16_t owner_group = 0;  // target port group of the gateway running it
  uint16_t progress = 0;     // fraction done over 65536, as last stored by that gateway

  bool operator==(const SharedSanitize&) const = default;
};

struct ReservationState {
  uint32_t generation = 0;  // PRgeneration (SPC-4 6.15.2)
  bool aptpl = false;       // activate persist through power loss
  std::vector<Registrant> registrants;
  std::optional<PersistentReservation> reservation;
  std::string spc2_holder;  // Initiator::key() of an SPC-2 RESERVE holder, "" when none
  std::optional<SharedModeParameters> mode;  // empty until the first MODE SELECT: the defaults
  std::optional<SharedSanitize> sanitize;    // empty: none running, none failed

  [[nodiscard]] const Registrant* registration_of(const Initiator& who) const;
  [[nodiscard]] bool is_registered(const Initiator& who) const { return registration_of(who) != nullptr; }
  [[nodiscard]] bool is_holder(const Initiator& who) const;
  // Whether registration `r` holds the reservation: every registration for the all-registrants
  // types (SPC-4 5.12.10), else the holder's.
  [[nodiscard]] bool holds(const Registrant& r) const;
  // The reservation key READ RESERVATION reports (0 for the all-registrants types).
  [[nodiscard]] uint64_t holder_key() const;

  bool operator==(const ReservationState&) const = default;
};

// A stable text form ("portico-pr 1" header, one line per item), readable in a RADOS object
// dump. parse() rejects anything malformed with a message naming the line.
std::string serialize(const ReservationState& state);
Result<ReservationState> parse_reservation_state(std::string_view text);

}  // namespace portico
