#include "core/nvme/reservation_report.h"

#include <algorithm>
#include <string>

#include "core/common/little_endian.h"
#include "core/nvme/reservation_types.h"

namespace portico::nvme {
namespace {

constexpr size_t kExtendedHeaderSize = 64;
constexpr size_t kExtendedEntrySize = 64;
constexpr size_t kCompactHeaderSize = 24;
constexpr size_t kCompactEntrySize = 24;

uint64_t fnv1a64(std::string_view text, uint64_t basis) {
  uint64_t h = basis;
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Holds the reservation: every registrant for the all-registrants types, else the holder's
// registration (the rule of ReservationState::holder_key).
bool holds(const ReservationState& state, const Registrant& r) {
  if (!state.reservation) return false;
  if (is_all_registrants(state.reservation->type)) return true;
  return r.initiator == state.reservation->holder_initiator &&
         (r.all_target_ports || r.target_port == state.reservation->holder_target_port);
}

}  // namespace

RegisteredController scsi_registrant_controller(std::string_view initiator_name) {
  const std::string text = "scsi-initiator:" + std::string(initiator_name);
  const uint64_t high = fnv1a64(text, 0xcbf29ce484222325ull);  // the FNV-1a 64 offset basis
  const uint64_t low = fnv1a64(text, 0x84222325cbf29ce4ull);
  RegisteredController c;
  for (size_t i = 0; i < 8; ++i) {
    c.host_id[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
    c.host_id[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  }
  c.host_id[6] = static_cast<uint8_t>((c.host_id[6] & 0x0f) | 0x80);  // version 8
  c.host_id[8] = static_cast<uint8_t>((c.host_id[8] & 0x3f) | 0x80);  // variant 10b
  c.host_id_128_bit = false;  // it has a meaningful 64-bit form too
  return c;
}

std::variant<std::vector<uint8_t>, CompletionStatus> reservation_report(const ReservationState& state,
                                                                         const RegistrantLookup& lookup,
                                                                         ReportFormat format) {
  const bool extended = format == ReportFormat::extended;
  std::vector<RegisteredController> controllers;
  controllers.reserve(state.registrants.size());
  for (const auto& r : state.registrants) {
    auto c = lookup ? lookup(r) : std::nullopt;
    controllers.push_back(c ? *c : scsi_registrant_controller(r.initiator));
    if (!extended && controllers.back().host_id_128_bit) {
      return CompletionStatus(GenericStatus::host_identifier_inconsistent).no_retry();
    }
  }
  const size_t header = extended ? kExtendedHeaderSize : kCompactHeaderSize;
  const size_t entry = extended ? kExtendedEntrySize : kCompactEntrySize;
  std::vector<uint8_t> out(header + entry * state.registrants.size(), 0);
  store_le32(out.data(), state.generation);
  if (state.reservation) out[4] = static_cast<uint8_t>(to_nvme(state.reservation->type));
  store_le16(out.data() + 5, static_cast<uint16_t>(std::min<size_t>(state.registrants.size(), 0xffff)));
  out[9] = state.aptpl ? 1 : 0;  // PTPLS
  for (size_t i = 0; i < state.registrants.size(); ++i) {
    const Registrant& r = state.registrants[i];
    const RegisteredController& c = controllers[i];
    uint8_t* e = out.data() + header + entry * i;
    store_le16(e, c.controller_id);
    e[2] = holds(state, r) ? 0x01 : 0x00;  // RCSTS
    if (extended) {
      store_le64(e + 8, r.key);
      std::copy(c.host_id.begin(), c.host_id.end(), e + 16);
    } else {
      std::copy_n(c.host_id.begin(), 8, e + 8);
      store_le64(e + 16, r.key);
    }
  }
  return out;
}

}  // namespace portico::nvme
