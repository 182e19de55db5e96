#include "frontends/common/tcp_acceptor.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "runtime/loop_group.h"
#include "runtime/socket_address.h"

namespace portico::frontend {

TcpAcceptor::TcpAcceptor(AcceptorSettings settings, runtime::LoopGroup& loops, Factory factory)
    : settings_(std::move(settings)), loops_(loops), factory_(std::move(factory)),
      connections_by_address_(settings_.max_connections_per_address) {
  shards_.resize(loops.size());
  for (size_t i = 0; i < loops.size(); ++i) shards_[i].loop = &loops.loop(i);
}

TcpAcceptor::~TcpAcceptor() {
  for (int fd : listen_fds_) ::close(fd);
}

Status TcpAcceptor::start() {
  for (const auto& portal : settings_.portals) {
    auto address = runtime::SocketAddress::parse(portal);
    if (!address.ok()) return error(ErrorCode::invalid_argument, "portal " + portal + ": " + address.status().message());
    auto fd = runtime::listen_tcp(*address, 128);
    if (!fd.ok()) return error(fd.status().code(), "portal " + portal + ": " + fd.status().message());
    listen_fds_.push_back(*fd);
    bound_.push_back(address->to_string());
    spdlog::info("{}: listening on {}", settings_.protocol, address->to_string());
  }
  portal_connections_ = std::make_unique<std::atomic<unsigned>[]>(listen_fds_.size());
  auto& accept_loop = loops_.loop(0);
  for (size_t i = 0; i < listen_fds_.size(); ++i) {
    accept_loop.post([this, i]() { accept_next(i); });
  }
  return Status::ok_status();
}

void TcpAcceptor::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  // Stop accepting: closing the listening sockets ends the pending accepts.
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  loops_.loop(0).post([&]() {
    for (int fd : listen_fds_) {
      loops_.loop(0).cancel_fd(fd);
      ::shutdown(fd, SHUT_RDWR);
    }
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
  }
  // Each loop drains its connections: commands in the core finish, then sockets close.
  for_each_connection([](ServedConnection& c) { c.drain(); });
  wait_until_closed(std::chrono::steady_clock::now() + grace);
  if (open_connections_.load() > 0) {
    spdlog::warn("{}: {} connection(s) still busy after {} ms; closing them", settings_.protocol,
                 open_connections_.load(), grace.count());
    for_each_connection([](ServedConnection& c) { c.close("gateway shutting down"); });
    wait_until_closed(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  }
}

void TcpAcceptor::for_each_connection(void (*fn)(ServedConnection&)) {
  for (auto& shard : shards_) {
    shard.loop->post([s = &shard, fn]() {
      auto snapshot = s->connections;  // connections remove themselves while closing
      for (auto& [id, connection] : snapshot) fn(*connection);
    });
  }
}

void TcpAcceptor::wait_until_closed(std::chrono::steady_clock::time_point deadline) {
  while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void TcpAcceptor::accept_next(size_t portal) {
  if (stopping_) return;
  const int listen_fd = listen_fds_[portal];
  loops_.loop(0).accept(listen_fd, [this, portal](int result) {
    if (stopping_) {
      if (result >= 0) ::close(result);
      return;
    }
    if (result < 0) {
      if (result == -EMFILE || result == -ENFILE) {
        spdlog::error("{}: accept: out of file descriptors; retrying in 100 ms", settings_.protocol);
        loops_.loop(0).schedule_after(std::chrono::milliseconds(100), [this, portal]() { accept_next(portal); });
        return;
      }
      if (result != -ECANCELED && result != -EINVAL) {
        spdlog::warn("{}: accept failed: {}", settings_.protocol, std::strerror(-result));
      }
      if (result == -ECANCELED || result == -EINVAL || result == -EBADF) return;
    } else {
      hand_off(result, portal);
    }
    accept_next(portal);
  });
}

bool TcpAcceptor::admit_connection(int fd, size_t portal, const std::string& peer, const std::string& host) {
  std::string refused;
  if (portal_connections_[portal].load() >= settings_.max_connections_per_portal) {
    refused = std::to_string(settings_.max_connections_per_portal) + " connections on this portal";
  } else if (!connections_by_address_.try_add(host)) {
    refused = std::to_string(settings_.max_connections_per_address) + " connections from this address";
  } else {
    return true;
  }
  if (const auto log = refusal_log_.allow(); log.write) {
    spdlog::warn("{}: refused a connection from {} to {}: limit of {} reached{}", settings_.protocol, peer,
                 bound_[portal], refused, suppressed_note(log.suppressed_before));
  }
  ::close(fd);
  return false;
}

void TcpAcceptor::hand_off(int fd, size_t portal) {
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
    auto connection = factory_(*shard.loop, fd, id, runtime::local_address_of(fd), peer);
    shard.connections.emplace(id, connection);
    connection->start([this, index, portal, host](uint64_t closed_id) {
      shards_[index].connections.erase(closed_id);
      connections_by_address_.remove(host);
      --portal_connections_[portal];
      --open_connections_;
    });
  });
}

}  // namespace portico::frontend
