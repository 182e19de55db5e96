// The NVMe/TCP server: the shared TCP acceptor (frontends/common/tcp_acceptor.h) makes a
// QueueConnection for each accepted socket, on the loop that owns it for life.
#include "frontends/nvmeof/server/nvme_tcp_server.h"

#include <algorithm>

#include "frontends/common/tcp_acceptor.h"
#include "frontends/nvmeof/server/discovery_service.h"
#include "frontends/nvmeof/server/queue_connection.h"
#include "frontends/nvmeof/server/server_context.h"

namespace portico::nvmeof {
namespace {

class NvmeTcpServerImpl final : public NvmeTcpServer {
 public:
  NvmeTcpServerImpl(NvmeTcpServerSettings settings, runtime::LoopGroup& loops)
      : context_(std::make_unique<ServerContext>(std::move(settings))),
        acceptor_(frontend::AcceptorSettings{"nvme-tcp", all_listeners(context_->settings),
                                             context_->settings.max_connections_per_listener,
                                             context_->settings.max_connections_per_address},
                  loops, [this](runtime::EventLoop& loop, int fd, uint64_t id, std::string local, std::string peer) {
                    return std::make_shared<QueueConnection>(*context_, loop, fd, id, std::move(local),
                                                             std::move(peer));
                  }) {
    std::vector<nvme::Subsystem*> subsystems;
    for (const auto& s : context_->settings.subsystems) subsystems.push_back(s.get());
    const auto& first = *context_->settings.subsystems.front();
    context_->add_discovery(
        make_discovery_subsystem(std::move(subsystems), first.cluster(), context_->settings.listeners, first.config()));
  }

  Status start() override { return acceptor_.start(); }
  [[nodiscard]] const std::vector<std::string>& bound_listeners() const override {
    return acceptor_.bound_addresses();
  }
  [[nodiscard]] size_t connection_count() const override { return acceptor_.open_connections(); }
  [[nodiscard]] size_t controller_count() const override {
    size_t controllers = 0;
    for (const auto& s : context_->settings.subsystems) controllers += s->controller_count();
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

Result<std::unique_ptr<NvmeTcpServer>> NvmeTcpServer::create(NvmeTcpServerSettings settings,
                                                             runtime::LoopGroup& loops) {
  if (settings.listeners.empty()) return error(ErrorCode::invalid_argument, "nvme-tcp: no listener configured");
  if (settings.subsystems.empty()) return error(ErrorCode::invalid_argument, "nvme-tcp: no subsystem configured");
  if (settings.max_h2c_data < kMinMaxH2cData || settings.max_h2c_data % 4 != 0) {
    return error(ErrorCode::invalid_argument, "nvme-tcp: MAXH2CDATA must be a multiple of 4 of at least 4096");
  }
  return std::unique_ptr<NvmeTcpServer>(std::make_unique<NvmeTcpServerImpl>(std::move(settings), loops));
}

}  // namespace portico::nvmeof
