#include "cli/render.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/nvme/host.h"

namespace portico::cli {

std::string reservation_type_name(ReservationType type) {
  switch (type) {
    case ReservationType::write_exclusive: return "Write Exclusive";
    case ReservationType::exclusive_access: return "Exclusive Access";
    case ReservationType::write_exclusive_registrants_only: return "Write Exclusive - Registrants Only";
    case ReservationType::exclusive_access_registrants_only: return "Exclusive Access - Registrants Only";
    case ReservationType::write_exclusive_all_registrants: return "Write Exclusive - All Registrants";
    case ReservationType::exclusive_access_all_registrants: return "Exclusive Access - All Registrants";
  }
  return fmt::format("type {}", static_cast<int>(type));
}

std::string registrant_protocol(const std::string& initiator) {
  return initiator.starts_with(nvme::kHostRegistrantPrefix) ? "nvme" : "scsi";
}

std::string gateways_text(const std::vector<GatewayStatus>& gateways) {
  if (gateways.empty()) return "no gateway has registered in this membership object\n";
  std::string out = fmt::format("{:<16} {:>5} {:>5} {:<7} {:>10} {:>8} {:>6}  {:<26} {}\n", "GATEWAY", "TPG", "PORT",
                                "STATE", "HEARD (s)", "LEASE", "CONFIG", "RADOS CLIENT", "PORTALS");
  for (const auto& g : gateways) {
    std::string portals;
    for (const auto& p : g.record.iscsi_portals) portals += (portals.empty() ? "iscsi " : ",") + p;
    for (size_t i = 0; i < g.record.nvme_listeners.size(); ++i) {
      portals += (i == 0 ? (portals.empty() ? "nvme " : " nvme ") : ",") + g.record.nvme_listeners[i];
    }
    out += fmt::format("{:<16} {:>5} {:>5} {:<7} {:>10.1f} {:>7.1f}s {:>6}  {:<26} {}\n", g.record.name,
                       g.record.target_port_group, g.record.relative_port_id, g.live ? "live" : "expired",
                       static_cast<double>(g.heartbeat_age_ms) / 1000.0, static_cast<double>(g.lease_ms) / 1000.0,
                       g.record.config_version == 0 ? std::string("file") : fmt::format("v{}", g.record.config_version),
                       fmt::format("client.{} {}", g.record.instance_id, g.record.address), portals);
  }
  return out;
}

namespace {

nlohmann::json sessions_json(const std::vector<cluster::rados::SessionLine>& lines) {
  auto list = nlohmann::json::array();
  for (const auto& s : lines) {
    list.push_back({{"protocol", s.protocol}, {"target", s.target}, {"initiator", s.initiator}, {"detail", s.detail}});
  }
  return list;
}

}  // namespace

std::string status_text(const std::vector<GatewayStatus>& gateways) {
  if (gateways.empty()) return "no gateway has registered in this membership object\n";
  std::string out;
  for (const auto& g : gateways) {
    // The other gateways report a gateway whose lease ran out unavailable (ALUA, ANA inaccessible).
    out += fmt::format("{}: {} (heard {:.1f} s ago, lease {:.1f} s), ALUA/ANA group {} {}, {}\n", g.record.name,
                       g.live ? "live" : "expired", static_cast<double>(g.heartbeat_age_ms) / 1000.0,
                       static_cast<double>(g.lease_ms) / 1000.0, g.record.target_port_group,
                       g.live ? "active/optimized" : "unavailable",
                       g.record.config_version == 0 ? std::string("serves its own file")
                                                    : fmt::format("serves configuration version {}", g.record.config_version));
    if (g.record.config_refused != 0) {
      out += fmt::format("  refused version {}: {}\n", g.record.config_refused, g.record.config_refused_why);
    }
    if (g.sessions.empty()) out += "  no session\n";
    for (const auto& s : g.sessions) {
      out += fmt::format("  {:<6} {}  <- {}  ({})\n", s.protocol, s.target, s.initiator, s.detail);
    }
  }
  return out;
}

std::string gateways_json(const std::vector<GatewayStatus>& gateways) {
  auto list = nlohmann::json::array();
  for (const auto& g : gateways) {
    list.push_back({{"name", g.record.name},
                    {"target_port_group", g.record.target_port_group},
                    {"relative_port_id", g.record.relative_port_id},
                    {"live", g.live},
                    {"heartbeat_age_ms", g.heartbeat_age_ms},
                    {"lease_ms", g.lease_ms},
                    {"config_version", g.record.config_version},
                    {"config_refused", g.record.config_refused},
                    {"config_refused_why", g.record.config_refused_why},
                    {"sessions", sessions_json(g.sessions)},
                    {"rados_instance", g.record.instance_id},
                    {"rados_address", g.record.address},
                    {"iscsi_portals", g.record.iscsi_portals},
                    {"nvme_listeners", g.record.nvme_listeners}});
  }
  return nlohmann::json{{"gateways", list}}.dump(2) + "\n";
}

namespace {

bool is_holder(const ReservationState& state, const Registrant& r) {
  return state.reservation.has_value() && state.holds(r);
}

}  // namespace

std::string reservations_text(const LunReservations& lun) {
  std::string out = fmt::format("LUN {} ({}), object {}\n", lun.image, lun.lun_key, lun.object);
  if (!lun.exists) return out + "no reservation record: no gateway has served this LUN\n";
  const auto& s = lun.state;
  out += fmt::format("record version {}, PR generation {}, APTPL {}\n", lun.version, s.generation,
                     s.aptpl ? "on" : "off");
  out += fmt::format("registrants: {}\n", s.registrants.size());
  for (const auto& r : s.registrants) {
    out += fmt::format("  key 0x{:x}  {:<4}  {}  via {}{}\n", r.key, registrant_protocol(r.initiator), r.initiator,
                       r.all_target_ports ? std::string("every target port") : r.target_port,
                       is_holder(s, r) ? "  [holder]" : "");
  }
  if (s.reservation) {
    out += fmt::format("reservation: {}", reservation_type_name(s.reservation->type));
    if (!is_all_registrants(s.reservation->type)) {
      out += fmt::format(", held by {} via {}", s.reservation->holder_initiator,
                         s.reservation->holder_target_port.empty() ? "every target port"
                                                                   : s.reservation->holder_target_port);
    }
    out += "\n";
  } else {
    out += "reservation: none\n";
  }
  if (!s.spc2_holder.empty()) out += "SPC-2 reservation held by " + s.spc2_holder + "\n";
  return out;
}

std::string reservations_json(const LunReservations& lun) {
  nlohmann::json j = {{"image", lun.image}, {"lun_key", lun.lun_key}, {"object", lun.object}, {"exists", lun.exists}};
  if (lun.exists) {
    const auto& s = lun.state;
    j["version"] = lun.version;
    j["generation"] = s.generation;
    j["aptpl"] = s.aptpl;
    auto registrants = nlohmann::json::array();
    for (const auto& r : s.registrants) {
      registrants.push_back({{"key", fmt::format("0x{:x}", r.key)},
                             {"protocol", registrant_protocol(r.initiator)},
                             {"initiator", r.initiator},
                             {"target_port", r.target_port},
                             {"all_target_ports", r.all_target_ports},
                             {"holder", is_holder(s, r)}});
    }
    j["registrants"] = registrants;
    if (s.reservation) {
      j["reservation"] = {{"type", reservation_type_name(s.reservation->type)},
                          {"type_code", static_cast<int>(s.reservation->type)},
                          {"holder_initiator", s.reservation->holder_initiator},
                          {"holder_target_port", s.reservation->holder_target_port}};
    } else {
      j["reservation"] = nullptr;
    }
    j["spc2_holder"] = s.spc2_holder;
  }
  return j.dump(2) + "\n";
}

}  // namespace portico::cli
