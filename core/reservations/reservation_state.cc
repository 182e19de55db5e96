#include "core/reservations/reservation_state.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>

namespace portico {

bool is_valid_reservation_type(uint8_t type) {
  return type == 0x1 || type == 0x3 || type == 0x5 || type == 0x6 || type == 0x7 || type == 0x8;
}

bool is_all_registrants(ReservationType type) {
  return type == ReservationType::write_exclusive_all_registrants ||
         type == ReservationType::exclusive_access_all_registrants;
}

bool is_registrants_only(ReservationType type) {
  return type == ReservationType::write_exclusive_registrants_only ||
         type == ReservationType::exclusive_access_registrants_only;
}

const Registrant* ReservationState::registration_of(const Initiator& who) const {
  for (const auto& r : registrants) {
    if (r.matches(who)) return &r;
  }
  return nullptr;
}

bool ReservationState::is_holder(const Initiator& who) const {
  if (!reservation) return false;
  // SPC-4 5.12.10, NVMe Base 2.0 §8.19.7: for the all-registrants types every registrant holds.
  if (is_all_registrants(reservation->type)) return is_registered(who);
  return reservation->holder().matches(who);
}

bool ReservationState::holds(const Registrant& r) const {
  if (!reservation) return false;
  if (is_all_registrants(reservation->type)) return true;
  return r.initiator == reservation->holder_initiator &&
         (r.all_target_ports || r.target_port == reservation->holder_target_port);
}

uint64_t ReservationState::holder_key() const {
  if (!reservation || is_all_registrants(reservation->type)) return 0;
  for (const auto& r : registrants) {
    if (holds(r)) return r.key;
  }
  return 0;
}

namespace {

std::string hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out.empty() ? "-" : out;
}

bool unhex(const std::string& text, std::vector<uint8_t>& out) {
  out.clear();
  if (text == "-") return true;
  if (text.size() % 2 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    if (std::sscanf(text.c_str() + i, "%2x", &value) != 1) return false;
    out.push_back(static_cast<uint8_t>(value));
  }
  return true;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }
std::string from_dash(const std::string& s) { return s == "-" ? std::string() : s; }

}  // namespace

std::string serialize(const ReservationState& state) {
  std::ostringstream out;
  out << "portico-pr 1\n";
  out << "generation " << state.generation << "\n";
  out << "aptpl " << (state.aptpl ? 1 : 0) << "\n";
  out << "spc2 " << or_dash(state.spc2_holder) << "\n";
  if (state.mode) {
    out << "mode " << (state.mode->descriptor_sense ? 1 : 0) << " " << (state.mode->task_aborted_status ? 1 : 0) << " "
        << (state.mode->write_cache_enabled ? 1 : 0) << " " << (state.mode->software_write_protect ? 1 : 0) << "\n";
  }
  if (state.sanitize) {
    out << "sanitize " << (state.sanitize->running ? "running" : "failed") << " " << (state.sanitize->ause ? 1 : 0)
        << " " << state.sanitize->owner_group << " " << state.sanitize->progress << "\n";
  }
  if (state.reservation) {
    out << "reservation " << static_cast<unsigned>(state.reservation->type) << " "
        << or_dash(state.reservation->holder_initiator) << " " << or_dash(state.reservation->holder_target_port)
        << "\n";
  }
  for (const auto& r : state.registrants) {
    char key[17];
    std::snprintf(key, sizeof key, "%016" PRIx64, r.key);
    out << "registrant " << key << " " << (r.all_target_ports ? 1 : 0) << " " << r.relative_target_port_id << " "
        << or_dash(r.initiator) << " " << or_dash(r.target_port) << " " << hex(r.transport_id) << "\n";
  }
  return out.str();
}

Result<ReservationState> parse_reservation_state(std::string_view text) {
  ReservationState state;
  if (text.empty()) return state;  // never written: no registrations
  std::istringstream in{std::string(text)};
  std::string line;
  size_t number = 0;
  auto bad = [&number](const std::string& why) {
    return error(ErrorCode::invalid_argument, "reservation record line " + std::to_string(number) + ": " + why);
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string word;
    fields >> word;
    if (number == 1) {
      std::string version;
      fields >> version;
      if (word != "portico-pr" || version != "1") return bad("not a version 1 reservation record");
      continue;
    }
    if (word == "generation") {
      if (!(fields >> state.generation)) return bad("bad generation");
    } else if (word == "aptpl") {
      int v = 0;
      if (!(fields >> v)) return bad("bad aptpl");
      state.aptpl = v != 0;
    } else if (word == "spc2") {
      std::string holder;
      if (!(fields >> holder)) return bad("bad spc2 holder");
      state.spc2_holder = from_dash(holder);
    } else if (word == "reservation") {
      unsigned type = 0;
      std::string initiator;
      std::string port;
      if (!(fields >> type >> initiator >> port) || !is_valid_reservation_type(static_cast<uint8_t>(type))) {
        return bad("bad reservation");
      }
      state.reservation = PersistentReservation{static_cast<ReservationType>(type), from_dash(initiator), from_dash(port)};
    } else if (word == "mode") {
      int flags[4] = {};
      if (!(fields >> flags[0] >> flags[1] >> flags[2] >> flags[3])) return bad("bad mode parameters");
      for (int f : flags) {
        if (f != 0 && f != 1) return bad("bad mode parameters");
      }
      state.mode = SharedModeParameters{flags[0] == 1, flags[1] == 1, flags[2] == 1, flags[3] == 1};
    } else if (word == "sanitize") {
      std::string what;
      int ause = 0;
      unsigned owner = 0;
      unsigned progress = 0;
      if (!(fields >> what >> ause >> owner >> progress) || (what != "running" && what != "failed") ||
          (ause != 0 && ause != 1) || owner > 0xffff || progress > 0xffff) {
        return bad("bad sanitize state");
      }
      state.sanitize = SharedSanitize{what == "running", ause == 1, static_cast<uint16_t>(owner),
                                      static_cast<uint16_t>(progress)};
    } else if (word == "registrant") {
      Registrant r;
      std::string key;
      int all = 0;
      std::string initiator;
      std::string port;
      std::string tid;
      if (!(fields >> key >> all >> r.relative_target_port_id >> initiator >> port >> tid)) {
        return bad("bad registrant");
      }
      char* end = nullptr;
      r.key = std::strtoull(key.c_str(), &end, 16);
      if (end == nullptr || *end != '\0' || !unhex(tid, r.transport_id)) return bad("bad registrant key or id");
      r.all_target_ports = all != 0;
      r.initiator = from_dash(initiator);
      r.target_port = from_dash(port);
      state.registrants.push_back(std::move(r));
    } else {
      return bad("unknown item '" + word + "'");
    }
  }
  return state;
}

}  // namespace portico
