#include "core/scsi/reservations/persistent_reserve_in.h"

#include "core/common/big_endian.h"
#include "core/scsi/reservations/transport_id.h"

namespace portico::scsi {
namespace {

void append_be64(std::vector<uint8_t>& out, uint64_t v) {
  out.resize(out.size() + 8);
  store_be64(out.data() + out.size() - 8, v);
}

std::vector<uint8_t> header(const ReservationState& state) {
  std::vector<uint8_t> out(8, 0);
  store_be32(out.data(), state.generation);
  return out;
}

void finish(std::vector<uint8_t>& out) { store_be32(out.data() + 4, static_cast<uint32_t>(out.size() - 8)); }

}  // namespace

std::optional<std::vector<uint8_t>> persistent_reserve_in_data(const ReservationState& state, uint8_t service_action) {
  switch (service_action) {
    case 0x00: {  // READ KEYS (6.15.2)
      auto out = header(state);
      for (const auto& r : state.registrants) append_be64(out, r.key);
      finish(out);
      return out;
    }
    case 0x01: {  // READ RESERVATION (6.15.3)
      auto out = header(state);
      if (state.reservation) {
        append_be64(out, state.holder_key());
        out.resize(out.size() + 8, 0);
        out[out.size() - 3] = static_cast<uint8_t>(state.reservation->type);  // scope 0 (LU), type
      }
      finish(out);
      return out;
    }
    case 0x02: {  // REPORT CAPABILITIES (6.15.4)
      std::vector<uint8_t> out(8, 0);
      store_be16(out.data(), 8);
      out[2] = 0x10 | 0x08 | 0x04 | 0x01;  // CRH, SIP_C, ATP_C, PTPL_C
      out[3] = 0x80 | (state.aptpl ? 0x01 : 0x00);  // TMV (type mask valid), PTPL_A
      out[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;    // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
      out[5] = 0x01;                                 // EX_AC_AR
      return out;
    }
    case 0x03: {  // READ FULL STATUS (6.15.5)
      auto out = header(state);
      for (const auto& r : state.registrants) {
        const auto tid = r.transport_id.empty() ? iscsi_transport_id(r.initiator) : r.transport_id;
        const size_t at = out.size();
        out.resize(at + 24, 0);
        store_be64(out.data() + at, r.key);
        const bool holder = state.reservation && (is_all_registrants(state.reservation->type) ||
                                                  (state.reservation->holder_initiator == r.initiator &&
                                                   (r.all_target_ports ||
                                                    state.reservation->holder_target_port == r.target_port)));
        out[at + 12] = static_cast<uint8_t>((r.all_target_ports ? 0x02 : 0x00) | (holder ? 0x01 : 0x00));
        if (holder) out[at + 13] = static_cast<uint8_t>(state.reservation->type);
        store_be16(out.data() + at + 18, r.relative_target_port_id);
        store_be32(out.data() + at + 20, static_cast<uint32_t>(tid.size()));
        out.insert(out.end(), tid.begin(), tid.end());
      }
      finish(out);
      return out;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace portico::scsi
