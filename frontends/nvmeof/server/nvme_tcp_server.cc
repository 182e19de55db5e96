// The NVMe/TCP server: the shared TCP acceptor (frontends/common/tcp_acceptor.h) makes a
// QueueConnection for each accepted socket, on the loop that owns it for life.
#include "frontends/nvmeof/server/nvme_tcp_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "frontends/common/tcp_acceptor.h"
#include "frontends/nvmeof/server/discovery_service.h"
#include "frontends/nvmeof/server/queue_connection.h"
#include "frontends/nvmeof/server/server_context.h"

namespace portico::nvmeof {
namespace {

class NvmeTcpServerImpl final : public NvmeTcpServer {
 public:
  NvmeTcpServerImpl(NvmeTcpServerSettings settings, ClusterState& cluster, runtime::LoopGroup& loops)
      : context_(std::make_unique<ServerContext>(std::move(settings))),
        acceptor_(frontend::AcceptorSettings{"nvme-tcp", all_listeners(context_->settings),
                                             context_->settings.max_connections_per_listener,
                                             context_->settings.max_connections_per_address},
                  loops, [this](runtime::EventLoop& loop, int fd, uint64_t id, std::string local, std::string peer) {
                    return std::make_shared<QueueConnection>(*context_, loop, fd, id, std::move(local),
                                                             std::move(peer));
                  }) {
    ServerContext* context = context_.get();  // outlives the discovery subsystem's controllers
    nvme::SubsystemConfig ids;
    ids.controller_id_first = context->settings.controller_id_first;
    ids.controller_id_count = context->settings.controller_id_count;
    context->discovery = make_discovery_subsystem(
        [context]() { return context->io_subsystems(); }, cluster,
        transport_listeners(context->settings.listeners, context->settings.rdma_listeners), ids);
    context->set_subsystems(context->settings.subsystems);
    context->settings.subsystems.clear();  // the snapshot holds them
  }

  void set_subsystems(std::vector<std::shared_ptr<nvme::Subsystem>> subsystems) override {
    const auto before = context_->subsystems();
    context_->set_subsystems(subsystems);
    const auto now = context_->subsystems();
    for (const auto& [nqn, subsystem] : *before) {
      if (now->count(nqn) != 0) continue;
      const size_t ended = subsystem->retire_controllers();
      spdlog::info("nvme-tcp: subsystem {} no longer served; {} controller(s) end", nqn, ended);
    }
  }

  Status start() override { return acceptor_.start(); }
  [[nodiscard]] const std::vector<std::string>& bound_listeners() const override {
    return acceptor_.bound_addresses();
  }
  [[nodiscard]] size_t connection_count() const override { return acceptor_.open_connections(); }
  ServerContext& context() override { return *context_; }
  [[nodiscard]] size_t controller_count() const override {
    size_t controllers = 0;
    for (const auto& s : context_->io_subsystems()) controllers += s->controller_count();
    return controllers;
  }
  void stop(std::chrono::milliseconds grace) override {
    context_->stopping = true;
    acceptor_.stop(grace);
  }

 private:
  // The I/O listeners, then the discovery listeners not among them.
  static std::vector<std::string> all_listeners(const NvmeTcpServerSettings& settings) {
    std::vector<std::string> all = settings.listeners;
    for (const auto& l : settings.discovery_listeners) {
      if (std::find(all.begin(), all.end(), l) == all.end()) all.push_back(l);
    }
    return all;
  }

  std::unique_ptr<ServerContext> context_;
  frontend::TcpAcceptor acceptor_;
};

}  // namespace

Result<std::unique_ptr<NvmeTcpServer>> NvmeTcpServer::create(NvmeTcpServerSettings settings, ClusterState& cluster,
                                                             runtime::LoopGroup& loops) {
  if (settings.listeners.empty() && settings.rdma_listeners.empty()) {
    return error(ErrorCode::invalid_argument, "nvme: no listener configured");
  }
  if (settings.max_h2c_data < kMinMaxH2cData || settings.max_h2c_data % 4 != 0) {
    return error(ErrorCode::invalid_argument, "nvme-tcp: MAXH2CDATA must be a multiple of 4 of at least 4096");
  }
  return std::unique_ptr<NvmeTcpServer>(std::make_unique<NvmeTcpServerImpl>(std::move(settings), cluster, loops));
}

}  // namespace portico::nvmeof
