// Reservation Register, Acquire, Release and Report (NVMe Base 2.0, "Reservations") on the
// shared model: the rules are the core's engine (core/reservations/), the same that SCSI
// PERSISTENT RESERVE OUT follows, so a registration or reservation made by either command set
// binds the other. Where NVMe's rules differ from SPC-4's, this file checks them first, as
// Linux's nvmet does (drivers/nvme/target/pr.c):
//   - Register when already registered succeeds only with the same key (SPC-4 would need the old
//     key); Unregister and Replace need a registration, and the current key unless IEKEY;
//   - IEKEY in Acquire or Release is Invalid Field;
//   - releasing a reservation of another type is a Reservation Conflict (SPC-4: INVALID RELEASE).
// A host registers for every controller it has, on every gateway (all target ports).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/common/little_endian.h"
#include "core/nvme/controller.h"
#include "core/nvme/reservation_report.h"
#include "core/nvme/reservation_types.h"
#include "core/unit.h"

namespace portico::nvme {
namespace {

constexpr uint32_t kIgnoreExistingKey = 1u << 3;  // CDW10 IEKEY

CompletionStatus no_retry(GenericStatus status) { return CompletionStatus(status).no_retry(); }

CompletionStatus status_of(const ReservationOutcome& outcome) {
  switch (outcome.verdict) {
    case ReservationVerdict::done: return GenericStatus::success;
    case ReservationVerdict::conflict:
    case ReservationVerdict::type_mismatch: return no_retry(GenericStatus::reservation_conflict);
    case ReservationVerdict::invalid_field: break;
  }
  return no_retry(GenericStatus::invalid_field);
}

ReservationOutcome verdict(ReservationVerdict v) {
  ReservationOutcome out;
  out.verdict = v;
  return out;
}

}  // namespace

// Stores a change (or finds none), then completes `command` with what the engine said. A
// change this gateway could not store, or stored without every gateway applying it, ends with
// a path status: the host retries through another controller, whose answer reflects what is
// stored.
static void run_change(Controller& controller, NvmeCommand& command, Unit& unit, std::string origin,
                       std::function<ReservationOutcome(ReservationState&)> change,
                       std::function<void(NvmeCommand&, CompletionStatus)> finish) {
  auto outcome = std::make_shared<ReservationOutcome>();
  auto self = controller.shared_from_this();
  unit.update_record(
      std::move(origin),
      [outcome, change = std::move(change)](ReservationState& state) -> const ReservationOutcome& {
        *outcome = change(state);
        return *outcome;
      },
      [self, &command, outcome, finish = std::move(finish)](RecordUpdate result) {
        CompletionStatus status = status_of(*outcome);
        if (result != RecordUpdate::stored) {
          spdlog::error("{}: controller {}: reservation change {}: command failed", command.unit->name(), self->id(),
                        result == RecordUpdate::unannounced ? "stored but not applied on every gateway"
                                                            : "not stored");
          status = PathStatus::ana_transition;
        }
        command.core.executor->post([&command, status, finish]() { finish(command, status); });
      });
}

void Controller::reservation_register(NvmeCommand& command, Unit& unit) {
  const uint32_t cdw10 = command.sqe.cdw(10);
  const uint8_t action = cdw10 & 0x7;  // RREGA: 0 register, 1 unregister, 2 replace
  const bool ignore_key = (cdw10 & kIgnoreExistingKey) != 0;
  const uint8_t cptpl = static_cast<uint8_t>(cdw10 >> 30);  // 0 no change, 2 clear PTPL, 3 set PTPL
  if (action > 2 || cptpl == 1) return finish_io(command, no_retry(GenericStatus::invalid_field));
  if (command.data_out.size() < 16) return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
  const uint64_t current_key = load_le64(command.data_out.data());
  const uint64_t new_key = load_le64(command.data_out.data() + 8);
  if (action != 1 && new_key == 0) return finish_io(command, no_retry(GenericStatus::invalid_field));
  const Initiator who = initiator_;
  run_change(
      *this, command, unit, key_,
      [who, action, ignore_key, cptpl, current_key, new_key](ReservationState& state) {
        const Registrant* mine = state.registration_of(who);
        ReservationRequest request;
        request.action = ReservationAction::register_and_ignore_existing_key;
        request.all_tg_pt = true;
        request.aptpl = cptpl == 0 ? state.aptpl : cptpl == 3;
        switch (action) {
          case 0:  // Register: a second one with the same key changes nothing
            if (mine != nullptr) {
              return verdict(mine->key == new_key ? ReservationVerdict::done : ReservationVerdict::conflict);
            }
            request.service_action_key = new_key;
            break;
          case 1:  // Unregister
          default:  // Replace
            if (mine == nullptr || (!ignore_key && mine->key != current_key)) {
              return verdict(ReservationVerdict::conflict);
            }
            request.service_action_key = action == 1 ? 0 : new_key;
            break;
        }
        return apply_reservation_request(state, who, request);
      },
      [self = shared_from_this()](NvmeCommand& c, CompletionStatus status) { self->finish_io(c, status); });
}

void Controller::reservation_acquire(NvmeCommand& command, Unit& unit) {
  const uint32_t cdw10 = command.sqe.cdw(10);
  const uint8_t action = cdw10 & 0x7;  // RACQA: 0 acquire, 1 preempt, 2 preempt and abort
  auto type = reservation_type_from_nvme(static_cast<uint8_t>(cdw10 >> 8));
  if ((cdw10 & kIgnoreExistingKey) != 0 || action > 2 || !type) {
    return finish_io(command, no_retry(GenericStatus::invalid_field));
  }
  if (command.data_out.size() < 16) return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
  ReservationRequest request;
  request.action = action == 0   ? ReservationAction::reserve
                   : action == 1 ? ReservationAction::preempt
                                 : ReservationAction::preempt_and_abort;
  request.type = static_cast<uint8_t>(*type);
  request.key = load_le64(command.data_out.data());
  request.service_action_key = load_le64(command.data_out.data() + 8);
  request.all_tg_pt = true;
  run_request(command, unit, request);
}

void Controller::run_request(NvmeCommand& command, Unit& unit, const ReservationRequest& request) {
  const Initiator who = initiator_;
  run_change(
      *this, command, unit, key_,
      [who, request](ReservationState& state) {
        // Acquire and Release do not change PTPL: keep what the record says.
        ReservationRequest r = request;
        r.aptpl = state.aptpl;
        return apply_reservation_request(state, who, r);
      },
      [self = shared_from_this()](NvmeCommand& c, CompletionStatus status) { self->finish_io(c, status); });
}

void Controller::reservation_release(NvmeCommand& command, Unit& unit) {
  const uint32_t cdw10 = command.sqe.cdw(10);
  const uint8_t action = cdw10 & 0x7;  // RRELA: 0 release, 1 clear
  const uint8_t rtype = static_cast<uint8_t>(cdw10 >> 8);
  auto type = reservation_type_from_nvme(rtype);
  if ((cdw10 & kIgnoreExistingKey) != 0 || action > 1 || (action == 0 && !type)) {
    return finish_io(command, no_retry(GenericStatus::invalid_field));
  }
  if (command.data_out.size() < 8) return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
  ReservationRequest request;
  request.action = action == 0 ? ReservationAction::release : ReservationAction::clear;
  request.type = type ? static_cast<uint8_t>(*type) : 0;
  request.key = load_le64(command.data_out.data());
  run_request(command, unit, request);
}

void Controller::reservation_report(NvmeCommand& command, Unit& unit) {
  // CDW10 NUMD (0's based dwords), CDW11 EDS (bit 0): the extended format names hosts by their
  // 128-bit identifiers.
  const uint64_t wanted = (uint64_t{command.sqe.cdw(10)} + 1) * 4;
  const auto format = (command.sqe.cdw(11) & 0x1) != 0 ? ReportFormat::extended : ReportFormat::compact;
  if (wanted > command.data_in_limit()) {
    return finish_io(command, no_retry(GenericStatus::data_sgl_length_invalid));
  }
  auto report = nvme::reservation_report(unit.reservations(), registrant_lookup(), format);
  if (auto* status = std::get_if<CompletionStatus>(&report)) return finish_io(command, *status);
  const auto& bytes = std::get<std::vector<uint8_t>>(report);
  const size_t length = static_cast<size_t>(wanted);
  command.data_in = IoBuffer(length);
  std::memset(command.data_in.data(), 0, length);
  std::memcpy(command.data_in.data(), bytes.data(), std::min(bytes.size(), length));
  command.data_in_length = static_cast<uint32_t>(length);
  finish_io(command, GenericStatus::success);
}

}  // namespace portico::nvme
