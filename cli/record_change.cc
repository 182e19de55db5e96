#include "cli/record_change.h"

#include <fmt/format.h>

#include <cstdio>
#include <map>

#include "daemon/config.h"

namespace portico::cli {
namespace {

constexpr int kAttempts = 8;
constexpr std::chrono::milliseconds kAnswerTimeout{30000};

int fail(const std::string& line) {
  std::fprintf(stderr, "portico: %s\n", line.c_str());
  return 1;
}

}  // namespace

int report_gateways(const ClusterView& view, uint64_t version, std::chrono::milliseconds timeout) {
  const auto started = std::chrono::steady_clock::now();
  auto acks = view.notify_config(timeout);
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (!acks.ok()) {
    std::fprintf(stderr, "portico: stored, but the gateways could not be told: %s (they read it within their lease)\n",
                 acks.status().message().c_str());
    return 3;
  }
  std::map<uint64_t, std::string> names;
  if (auto gateways = view.gateways(10000); gateways.ok()) {
    for (const auto& g : *gateways) names[g.record.instance_id] = g.record.name;
  }
  int status = 0;
  size_t applied = 0;
  for (const auto& ack : *acks) {
    auto name = names.find(ack.instance_id);
    const std::string who = name != names.end() ? name->second : fmt::format("client.{}", ack.instance_id);
    if (!ack.answered) {
      std::printf("  %s: no answer within %lld s\n", who.c_str(), static_cast<long long>(timeout.count() / 1000));
      status = 3;
    } else if (ack.answer.applied && ack.answer.version >= version) {
      std::printf("  %s: serves version %llu\n", who.c_str(), static_cast<unsigned long long>(ack.answer.version));
      ++applied;
    } else if (ack.answer.applied) {
      // It had applied an older version and has not read this one yet (it will at its next poll).
      std::printf("  %s: still serves version %llu\n", who.c_str(), static_cast<unsigned long long>(ack.answer.version));
      status = 3;
    } else {
      std::printf("  %s: refused version %llu: %s\n", who.c_str(), static_cast<unsigned long long>(ack.answer.version),
                  ack.answer.why.c_str());
      status = 3;
    }
  }
  std::printf("%zu of %zu gateway(s) serve version %llu (answers in %lld ms)\n", applied, acks->size(),
              static_cast<unsigned long long>(version), static_cast<long long>(waited));
  return status;
}

int change_record(const ClusterView& view, const std::string& what, const RecordEdit& edit,
                  const std::function<void()>& stored_hook) {
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    auto current = view.config_record();
    if (!current.ok() && current.status().code() == ErrorCode::busy) continue;  // written meanwhile: read again
    if (!current.ok()) return fail(what + ": " + current.status().message());
    YAML::Node record;
    try {
      record = current->data.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(current->data);
    } catch (const YAML::Exception& e) {
      return fail(what + ": " + view.config_where() + " version " + std::to_string(current->version) +
                  " is not YAML (" + e.msg + "): fix it with portico config import");
    }
    if (record.IsNull()) record = YAML::Node(YAML::NodeType::Map);
    if (!record.IsMap()) return fail(what + ": " + view.config_where() + " is not a mapping: fix it with portico config import");
    try {
      if (auto edited = edit(record); !edited.ok()) return fail(what + ": " + edited.message() + " (nothing stored)");
    } catch (const YAML::Exception& e) {
      // A record written by hand with a value of the wrong kind where the edit looks.
      return fail(what + ": " + view.config_where() + " version " + std::to_string(current->version) +
                  " cannot be edited (" + e.msg + "): fix it with portico config import; nothing stored");
    }
    YAML::Emitter out;
    out << record;
    const std::string yaml = std::string(out.c_str()) + "\n";
    if (auto checked = daemon::check_config_record(yaml); !checked.ok()) {
      return fail(what + ": the record would be invalid: " + checked.message() + " (nothing stored)");
    }
    auto stored = view.write_config_record(current->version, yaml);
    if (stored.code() == ErrorCode::busy) continue;  // someone else's change landed first: again, on it
    if (!stored.ok()) return fail(what + ": " + stored.message());
    const uint64_t version = current->version + 1;
    if (stored_hook) stored_hook();
    std::printf("%s: %s is now version %llu\n", what.c_str(), view.config_where().c_str(),
                static_cast<unsigned long long>(version));
    return report_gateways(view, version, kAnswerTimeout);
  }
  return fail(what + ": the record kept changing under " + std::to_string(kAttempts) + " attempts; nothing stored");
}

}  // namespace portico::cli
