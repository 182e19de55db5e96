// Listeners and per-loop connection sets. Accepting happens on the first loop; each accepted
// socket is handed, as a message, to the next loop round-robin, which owns it for life.
#include "frontends/iscsi/server/iscsi_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "frontends/iscsi/server/connection.h"
#include "frontends/iscsi/server/server_context.h"
#include "runtime/loop_group.h"
#include "runtime/socket_address.h"

namespace portico::iscsi {
namespace {

// The connections owned by one loop. Touched only on that loop.
struct LoopShard {
  runtime::EventLoop* loop = nullptr;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections;
};

class IscsiServerImpl final : public IscsiServer {
 public:
  IscsiServerImpl(IscsiServerSettings settings, runtime::LoopGroup& loops) : loops_(loops) {
    context_ = std::make_unique<ServerContext>(std::move(settings));
    for (const auto& target : context_->settings.targets) context_->targets_by_iqn.emplace(target.iqn, &target);
    shards_.resize(loops.size());
    for (size_t i = 0; i < loops.size(); ++i) shards_[i].loop = &loops.loop(i);
  }

  ~IscsiServerImpl() override {
    for (int fd : listen_fds_) ::close(fd);
  }

  Status start() override {
    for (const auto& portal : context_->settings.portals) {
      auto address = runtime::SocketAddress::parse(portal);
      if (!address.ok()) return error(ErrorCode::invalid_argument, "portal " + portal + ": " + address.status().message());
      auto fd = runtime::listen_tcp(*address, 128);
      if (!fd.ok()) return error(fd.status().code(), "portal " + portal + ": " + fd.status().message());
      listen_fds_.push_back(*fd);
      context_->portal_addresses.push_back(address->to_string());
      spdlog::info("iscsi: listening on {}", address->to_string());
    }
    portal_connections_ = std::make_unique<std::atomic<unsigned>[]>(listen_fds_.size());
    auto& accept_loop = loops_.loop(0);
    for (size_t i = 0; i < listen_fds_.size(); ++i) {
      accept_loop.post([this, i]() { accept_next(i); });
    }
    return {};
  }

  void stop(std::chrono::milliseconds grace) override {
    context_->stopping = true;
    // Stop accepting: closing the listening sockets ends the pending accepts.
    std::mutex mutex;
    std::condition_variable cv;
    size_t pending = 0;
    {
      std::lock_guard lock(mutex);
      pending = 1;
    }
    loops_.loop(0).post([&]() {
      for (int fd : listen_fds_) {
        loops_.loop(0).cancel_fd(fd);
        ::shutdown(fd, SHUT_RDWR);
      }
      std::lock_guard lock(mutex);
      --pending;
      cv.notify_all();
    });
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return pending == 0; });
    }
    // Each loop drains its connections: commands in the core finish, then sockets close.
    for (auto& shard : shards_) {
      shard.loop->post([s = &shard]() {
        auto snapshot = s->connections;  // connections remove themselves while draining
        for (auto& [id, connection] : snapshot) connection->drain();
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (open_connections_.load() > 0) {
      spdlog::warn("iscsi: {} connection(s) still busy after {} ms; closing them", open_connections_.load(),
                   grace.count());
      for (auto& shard : shards_) {
        shard.loop->post([s = &shard]() {
          auto snapshot = s->connections;
          for (auto& [id, connection] : snapshot) connection->close("gateway shutting down");
        });
      }
      const auto hard_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < hard_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }

 private:
  void accept_next(size_t portal) {
    if (context_->stopping) return;
    const int listen_fd = listen_fds_[portal];
    loops_.loop(0).accept(listen_fd, [this, portal](int result) {
      if (context_->stopping) {
        if (result >= 0) ::close(result);
        return;
      }
      if (result < 0) {
        if (result == -EMFILE || result == -ENFILE) {
          spdlog::error("iscsi: accept: out of file descriptors; retrying in 100 ms");
          loops_.loop(0).schedule_after(std::chrono::milliseconds(100), [this, portal]() { accept_next(portal); });
          return;
        }
        if (result != -ECANCELED && result != -EINVAL) spdlog::warn("iscsi: accept failed: {}", std::strerror(-result));
        if (result == -ECANCELED || result == -EINVAL || result == -EBADF) return;
      } else {
        hand_off(result, portal);
      }
      accept_next(portal);
    });
  }

  // Caps connections per portal and per source address before a Connection exists: beyond a
  // cap the socket is closed at once, costing one descriptor for an instant.
  bool admit_connection(int fd, size_t portal, const std::string& peer, const std::string& host) {
    const auto& settings = context_->settings;
    std::string refused;
    if (portal_connections_[portal].load() >= settings.max_connections_per_portal) {
      refused = std::to_string(settings.max_connections_per_portal) + " connections on this portal";
    } else if (!context_->connections_by_address.try_add(host)) {
      refused = std::to_string(settings.max_connections_per_address) + " connections from this address";
    } else {
      return true;
    }
    if (const auto log = context_->unauthenticated_log.allow(); log.write) {
      spdlog::warn("iscsi: refused a connection from {} to {}: limit of {} reached{}", peer,
                   context_->portal_addresses[portal], refused, suppressed_note(log.suppressed_before));
    }
    ::close(fd);
    return false;
  }

  void hand_off(int fd, size_t portal) {
    std::string peer = runtime::peer_address_of(fd);
    std::string host = runtime::host_of(peer);
    if (!admit_connection(fd, portal, peer, host)) return;
    ++portal_connections_[portal];
    runtime::set_tcp_nodelay(fd);
    const uint64_t id = next_connection_id_++;
    const size_t index = next_shard_++ % shards_.size();
    ++open_connections_;
    shards_[index].loop->post([this, fd, id, index, portal, peer = std::move(peer), host = std::move(host)]() {
      LoopShard& shard = shards_[index];
      auto connection =
          std::make_shared<Connection>(*context_, *shard.loop, fd, id, runtime::local_address_of(fd), peer);
      shard.connections.emplace(id, connection);
      connection->start([this, index, portal, host](uint64_t closed_id) {
        shards_[index].connections.erase(closed_id);
        context_->connections_by_address.remove(host);
        --portal_connections_[portal];
        --open_connections_;
      });
    });
  }

  runtime::LoopGroup& loops_;
  std::unique_ptr<ServerContext> context_;
  std::vector<LoopShard> shards_;
  std::vector<int> listen_fds_;
  std::unique_ptr<std::atomic<unsigned>[]> portal_connections_;  // open connections per portal
  uint64_t next_connection_id_ = 1;
  size_t next_shard_ = 0;
  std::atomic<size_t> open_connections_{0};
};

}  // namespace

Result<std::unique_ptr<IscsiServer>> IscsiServer::create(IscsiServerSettings settings, runtime::LoopGroup& loops) {
  if (settings.portals.empty()) return error(ErrorCode::invalid_argument, "iscsi: no portal configured");
  if (settings.targets.empty()) return error(ErrorCode::invalid_argument, "iscsi: no target configured");
  for (const auto& target : settings.targets) {
    if (!target.scsi_target) return error(ErrorCode::invalid_argument, "iscsi: target " + target.iqn + " has no LUNs");
  }
  return std::unique_ptr<IscsiServer>(std::make_unique<IscsiServerImpl>(std::move(settings), loops));
}

}  // namespace portico::iscsi
