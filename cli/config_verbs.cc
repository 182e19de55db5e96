#include "cli/config_verbs.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/record_change.h"
#include "daemon/config.h"

namespace portico::cli {
namespace {

Result<std::string> read_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) return error(ErrorCode::not_found, file + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t lun_count(const daemon::Config& config) {
  size_t luns = 0;
  for (const auto& t : config.targets) luns += t.luns.size();
  return luns;
}

std::string image_of(const daemon::LunConfig& lun) {
  return lun.rbd_pool.empty() ? lun.rbd_image : lun.rbd_pool + "/" + lun.rbd_image;
}

int fail(const std::string& line) {
  std::fprintf(stderr, "portico: %s\n", line.c_str());
  return 1;
}

}  // namespace

int config_check(const std::string& file) {
  auto text = read_file(file);
  if (!text.ok()) return fail("config check: " + text.status().message());
  auto config = daemon::parse_config_record(*text);
  if (!config.ok()) return fail("config check: " + file + ": " + config.status().message());
  std::printf("%s: a valid configuration record (%zu target(s), %zu LUN(s))\n", file.c_str(), config->targets.size(),
              lun_count(*config));
  return 0;
}

int config_import(const ClusterView& view, const std::string& file, std::optional<uint64_t> expect_version) {
  auto text = read_file(file);
  if (!text.ok()) return fail("config import: " + text.status().message());
  auto config = daemon::parse_config_record(*text);
  if (!config.ok()) return fail("config import: " + file + ": " + config.status().message() + " (nothing stored)");
  uint64_t expected = 0;
  if (expect_version) {
    expected = *expect_version;
  } else {
    auto current = view.config_record();
    if (!current.ok()) return fail("config import: " + current.status().message());
    expected = current->version;
  }
  if (auto stored = view.write_config_record(expected, *text); !stored.ok()) {
    if (stored.code() == ErrorCode::busy) {
      return fail("config import: " + stored.message() + "; nothing stored: read it again (portico config show) and retry");
    }
    return fail("config import: " + stored.message());
  }
  std::printf("%s is now version %llu (%zu target(s), %zu LUN(s))\n", view.config_where().c_str(),
              static_cast<unsigned long long>(expected + 1), config->targets.size(), lun_count(*config));
  return report_gateways(view, expected + 1, std::chrono::seconds(30));
}

int config_export(const ClusterView& view) {
  auto record = view.config_record();
  if (!record.ok()) return fail("config export: " + record.status().message());
  if (!record->exists || record->version == 0) return fail("config export: " + view.config_where() + " does not exist yet");
  std::cout << record->data;
  return 0;
}

int config_show(const ClusterView& view, bool json) {
  auto record = view.config_record();
  if (!record.ok()) return fail("config show: " + record.status().message());
  if (!record->exists || record->version == 0) {
    if (json) {
      std::cout << nlohmann::json{{"record", view.config_where()}, {"version", 0}, {"targets", nlohmann::json::array()}}.dump(2)
                << "\n";
    } else {
      std::printf("%s: no configuration record yet (portico config import FILE creates it)\n", view.config_where().c_str());
    }
    return 0;
  }
  auto config = daemon::parse_config_record(record->data);
  if (!config.ok()) {
    // Written by hand (rados put): every gateway refuses it; say why here too.
    return fail("config show: " + view.config_where() + " version " + std::to_string(record->version) +
                " is invalid: " + config.status().message());
  }
  if (json) {
    auto targets = nlohmann::json::array();
    for (const auto& t : config->targets) {
      auto luns = nlohmann::json::array();
      for (const auto& l : t.luns) {
        luns.push_back({{"lun", l.lun}, {"image", image_of(l)},
                        {"nsid", t.nvme ? nlohmann::json(l.nsid) : nlohmann::json(nullptr)}});
      }
      targets.push_back({{"iqn", t.iqn},
                         {"nqn", t.nvme ? nlohmann::json(t.nvme->nqn) : nlohmann::json(nullptr)},
                         {"any_initiator", t.any_initiator},
                         {"allowed_initiators", t.allowed_initiators},
                         {"luns", luns}});
    }
    std::cout << nlohmann::json{{"record", view.config_where()}, {"version", record->version}, {"targets", targets}}.dump(2)
              << "\n";
    return 0;
  }
  std::printf("%s version %llu: %zu target(s)\n", view.config_where().c_str(),
              static_cast<unsigned long long>(record->version), config->targets.size());
  // Which live gateway serves which version: one behind has not been restarted since an import.
  if (auto gateways = view.gateways(10000); gateways.ok() && !gateways->empty()) {
    std::string line;
    for (const auto& g : *gateways) {
      if (!g.live) continue;
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", g.record.name,
                          g.record.config_version == 0 ? std::string("(its own file)")
                                                       : fmt::format("v{}", g.record.config_version));
    }
    if (!line.empty()) std::printf("  served by: %s\n", line.c_str());
  }
  for (const auto& t : config->targets) {
    std::printf("  %s%s%s\n", t.iqn.c_str(), t.nvme ? (" + " + t.nvme->nqn).c_str() : "",
                t.chap ? fmt::format("  CHAP {}{}", t.chap->username, t.chap->mutual_username.empty() ? "" : " (mutual)").c_str()
                       : "");
    for (const auto& l : t.luns) {
      std::printf("    LUN %llu  %s%s\n", static_cast<unsigned long long>(l.lun), image_of(l).c_str(),
                  t.nvme ? fmt::format("  (namespace {})", l.nsid).c_str() : "");
    }
    if (t.any_initiator) {
      std::printf("    initiators: any\n");
    } else {
      for (const auto& name : t.allowed_initiators) {
        auto own = t.initiator_chap.find(name);
        std::printf("    initiator %s%s\n", name.c_str(),
                    own != t.initiator_chap.end() ? fmt::format("  CHAP {}", own->second.username).c_str() : "");
      }
    }
    if (t.nvme && !t.nvme->any_host) {
      for (const auto& host : t.nvme->allowed_hosts) std::printf("    host %s\n", host.c_str());
    }
  }
  return 0;
}

}  // namespace portico::cli
