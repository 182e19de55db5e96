// The listening side every TCP front-end shares (iSCSI, NVMe/TCP): binds the configured portals,
// accepts on the first loop, bounds what connections cost before they have proven anything (a cap
// per portal and per source address: beyond it a socket is closed at once), and hands each
// accepted socket to the next loop round-robin, which owns its connection for life. Stopping
// drains connections (commands in the core finish) for a grace period, then closes the rest.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/common/log_rate_limiter.h"
#include "core/common/result.h"
#include "core/common/unique_function.h"
#include "runtime/peer_limits.h"

namespace portico::runtime {
class EventLoop;
class LoopGroup;
}  // namespace portico::runtime

namespace portico::frontend {

// A connection as the acceptor manages it; it lives on one loop and is touched only there.
class ServedConnection {
 public:
  virtual ~ServedConnection() = default;
  // `on_closed(id)` runs on the loop once the connection is fully quiesced; it drops the
  // acceptor's reference (which destroys the connection).
  virtual void start(UniqueFunction<void(uint64_t)> on_closed) = 0;
  // Server shutdown: stop taking commands, let the core finish those it has, then close.
  virtual void drain() = 0;
  virtual void close(const std::string& reason) = 0;
};

struct AcceptorSettings {
  std::string protocol;               // "iscsi", "nvme-tcp": for log lines
  std::vector<std::string> portals;   // "127.0.0.1:3260", "[::1]:4420"
  unsigned max_connections_per_portal = 1024;
  unsigned max_connections_per_address = 64;
};

class TcpAcceptor {
 public:
  // Makes the connection for an accepted socket, on the loop that will own it.
  using Factory = std::function<std::shared_ptr<ServedConnection>(runtime::EventLoop& loop, int fd, uint64_t id,
                                                                  std::string local_address, std::string peer_address)>;

  TcpAcceptor(AcceptorSettings settings, runtime::LoopGroup& loops, Factory factory);
  ~TcpAcceptor();
  TcpAcceptor(const TcpAcceptor&) = delete;
  TcpAcceptor& operator=(const TcpAcceptor&) = delete;

  // Binds every portal and starts accepting. Fails (naming the portal) if one cannot be bound.
  Status start();
  // The portals as bound ("127.0.0.1:3260"), in configuration order; valid after start().
  [[nodiscard]] const std::vector<std::string>& bound_addresses() const { return bound_; }
  // Stops accepting, drains every connection for up to `grace`, then closes what is left.
  // Blocks until done. Call from a thread that is not a loop.
  void stop(std::chrono::milliseconds grace);
  [[nodiscard]] size_t open_connections() const { return open_connections_.load(); }

 private:
  // The connections owned by one loop. Touched only on that loop.
  struct LoopShard {
    runtime::EventLoop* loop = nullptr;
    std::unordered_map<uint64_t, std::shared_ptr<ServedConnection>> connections;
  };

  void accept_next(size_t portal);
  bool admit_connection(int fd, size_t portal, const std::string& peer, const std::string& host);
  void hand_off(int fd, size_t portal);
  // Runs `fn` on every connection of every loop, on its loop.
  void for_each_connection(void (*fn)(ServedConnection&));
  void wait_until_closed(std::chrono::steady_clock::time_point deadline);

  AcceptorSettings settings_;
  runtime::LoopGroup& loops_;
  Factory factory_;
  std::vector<LoopShard> shards_;
  std::vector<int> listen_fds_;
  std::vector<std::string> bound_;
  std::unique_ptr<std::atomic<unsigned>[]> portal_connections_;  // open connections per portal
  runtime::ConnectionCounter connections_by_address_;
  LogRateLimiter refusal_log_{20};  // lines per second
  uint64_t next_connection_id_ = 1;
  size_t next_shard_ = 0;
  std::atomic<size_t> open_connections_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace portico::frontend
