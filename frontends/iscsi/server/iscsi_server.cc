// The iSCSI server: the shared TCP acceptor (frontends/common/tcp_acceptor.h) makes a Connection
// for each accepted socket, on the loop that owns it for life.
#include "frontends/iscsi/server/iscsi_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "frontends/common/tcp_acceptor.h"
#include "frontends/iscsi/server/connection.h"
#include "frontends/iscsi/server/server_context.h"

namespace portico::iscsi {
namespace {

class IscsiServerImpl final : public IscsiServer {
 public:
  IscsiServerImpl(IscsiServerSettings settings, runtime::LoopGroup& loops)
      : context_(std::make_unique<ServerContext>(std::move(settings))),
        acceptor_(acceptor_settings(context_->settings), loops,
                  [this](runtime::EventLoop& loop, int fd, uint64_t id, std::string local, std::string peer) {
                    return std::make_shared<Connection>(*context_, loop, fd, id, std::move(local), std::move(peer));
                  }) {}

  Status start() override {
    if (auto started = acceptor_.start(); !started.ok()) return started;
    // SendTargets lists the portals as bound. Connections exist only after this returns (the
    // accepts run on the first loop once posted), so they read it without a lock.
    context_->portal_addresses = acceptor_.bound_addresses();
    return {};
  }

  void set_targets(std::vector<IscsiTargetSettings> targets) override {
    auto map = std::make_shared<TargetMap>();
    for (auto& target : targets) {
      std::string iqn = target.iqn;  // not target.iqn: the argument below moves from target first
      map->emplace(std::move(iqn), std::make_shared<const IscsiTargetSettings>(std::move(target)));
    }
    const std::shared_ptr<const TargetMap> now = map;
    context_->targets_by_iqn.store(std::move(map), std::memory_order_release);
    const size_t closed = context_->sessions.close_matching([&now](const SessionKey& key) {
      auto it = now->find(key.target_name);
      return it == now->end() || !acl_allows(*it->second, key.initiator_name);
    });
    if (closed != 0) spdlog::info("iscsi: {} session(s) closed: their target is gone or no longer admits them", closed);
  }

  [[nodiscard]] std::vector<SessionSummary> sessions() const override {
    std::vector<SessionSummary> out;
    for (const auto& [key, tsih] : context_->sessions.snapshot()) {
      std::string isid;
      for (const uint8_t b : key.isid) isid += fmt::format("{:02x}", b);
      out.push_back({key.target_name, key.initiator_name, std::move(isid), tsih});
    }
    return out;
  }

  [[nodiscard]] size_t connection_count() const override { return acceptor_.open_connections(); }
  [[nodiscard]] size_t session_count() const override { return context_->sessions.size(); }

  void stop(std::chrono::milliseconds grace) override {
    context_->stopping = true;
    acceptor_.stop(grace);
  }

 private:
  static frontend::AcceptorSettings acceptor_settings(const IscsiServerSettings& settings) {
    return {"iscsi", settings.portals, settings.max_connections_per_portal, settings.max_connections_per_address};
  }

  std::unique_ptr<ServerContext> context_;
  frontend::TcpAcceptor acceptor_;
};

}  // namespace

Result<std::unique_ptr<IscsiServer>> IscsiServer::create(IscsiServerSettings settings, runtime::LoopGroup& loops) {
  if (settings.portals.empty()) return error(ErrorCode::invalid_argument, "iscsi: no portal configured");
  // No target yet is allowed: a gateway of a group being set up gets them with the configuration.
  for (const auto& target : settings.targets) {
    if (!target.scsi_target) return error(ErrorCode::invalid_argument, "iscsi: target " + target.iqn + " has no LUNs");
  }
  return std::unique_ptr<IscsiServer>(std::make_unique<IscsiServerImpl>(std::move(settings), loops));
}

}  // namespace portico::iscsi
