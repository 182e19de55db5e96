#include "core/nvme/reservation_report.h"

#include <algorithm>
#include <string>

#include "core/common/little_endian.h"
#include "core/common/stable_hash.h"
#include "core/common/uuid.h"
#include "core/nvme/reservation_types.h"

namespace portico::nvme {
namespace {

constexpr size_t kExtendedHeaderSize = 64;
constexpr size_t kExtendedEntrySize = 64;
constexpr size_t kCompactHeaderSize = 24;
constexpr size_t kCompactEntrySize = 24;

}  // namespace

RegisteredController scsi_registrant_controller(std::string_view initiator_name) {
  const std::string text = "scsi-initiator:" + std::string(initiator_name);
  RegisteredController c;
  c.host_id = uuid_v8(stable_hash64(text), stable_hash64(text, 0x84222325cbf29ce4ull));
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
    e[2] = state.holds(r) ? 0x01 : 0x00;  // RCSTS
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
