#include "core/scsi/reservations/persistent_reserve_out.h"

#include "core/common/big_endian.h"
#include "core/scsi/reservations/transport_id.h"

namespace portico::scsi {
namespace {

constexpr Asc kInvalidReleaseOfPersistentReservation{0x26, 0x04};

// The sense data that names the refused field of the CDB or parameter list (SPC-4 6.16).
SenseData refusal_sense(const ReservationOutcome& outcome) {
  if (outcome.verdict == ReservationVerdict::type_mismatch) {
    return SenseData{SenseKey::illegal_request, kInvalidReleaseOfPersistentReservation, std::nullopt, std::nullopt};
  }
  switch (outcome.field) {
    case RequestField::action: return invalid_field_in_cdb(1, 4);
    case RequestField::scope: return invalid_field_in_cdb(2, 7);
    case RequestField::type: return invalid_field_in_cdb(2, 3);
    case RequestField::spec_i_pt: return invalid_field_in_parameter_list(20, 3);
    case RequestField::service_action_key: return invalid_field_in_parameter_list(8);
    case RequestField::relative_target_port: return invalid_field_in_parameter_list(18);
    case RequestField::move_initiator: return invalid_field_in_parameter_list(24);
  }
  return invalid_field_in_cdb(1, 4);
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
  PrOutOutcome out;
  static_cast<ReservationOutcome&>(out) = apply_reservation_request(state, nexus, request);
  switch (out.verdict) {
    case ReservationVerdict::done: break;
    case ReservationVerdict::conflict: out.status = ScsiStatus::reservation_conflict; break;
    case ReservationVerdict::invalid_field:
    case ReservationVerdict::type_mismatch:
      out.status = ScsiStatus::check_condition;
      out.sense = refusal_sense(out);
      break;
  }
  return out;
}

}  // namespace portico::scsi
