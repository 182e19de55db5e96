// A connected, blocking TCP socket: the transport under one NVMe/TCP queue. Each call either
// moves every byte it was asked to or fails with a Status that names the peer; a receive that
// waits longer than the timeout fails with timed_out, so a silent controller cannot hang a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "core/common/result.h"

namespace portico::nvme_host {

class TcpSocket {
 public:
  TcpSocket() = default;
  TcpSocket(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;
  TcpSocket(TcpSocket&& other) noexcept;
  TcpSocket& operator=(TcpSocket&& other) noexcept;
  ~TcpSocket();

  // Resolves `host` (a name or an IPv4/IPv6 literal) and connects to the first address that
  // answers. TCP_NODELAY is set: a capsule is small and waits for nothing.
  static Result<TcpSocket> connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

  Status send_all(std::span<const uint8_t> bytes);
  // Reads what is there, at least one byte (waiting up to the timeout), at most `bytes.size()`;
  // the count read.
  Result<size_t> receive_some(std::span<uint8_t> bytes);
  Status receive_exact(std::span<uint8_t> bytes);
  // Both directions wait at most this long for progress (SO_RCVTIMEO / SO_SNDTIMEO).
  Status set_timeout(std::chrono::milliseconds timeout);
  void close();

  [[nodiscard]] bool is_open() const { return fd_ >= 0; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const std::string& peer() const { return peer_; }

 private:
  int fd_ = -1;
  std::string peer_;  // "host:port", for messages
};

}  // namespace portico::nvme_host
