#include "tools/nvme_tcp/tcp_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace portico::nvme_host {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

}  // namespace

TcpSocket::TcpSocket(TcpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), peer_(std::move(other.peer_)) {}

TcpSocket& TcpSocket::operator=(TcpSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    peer_ = std::move(other.peer_);
  }
  return *this;
}

TcpSocket::~TcpSocket() { close(); }

void TcpSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<TcpSocket> TcpSocket::connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  const std::string peer = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return error(ErrorCode::not_found, "nvme/tcp " + peer + ": cannot resolve: " + gai_strerror(rc));
  int last_errno = 0;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    TcpSocket socket(fd, peer);
    // The connect itself honours the send timeout (Linux applies SO_SNDTIMEO to connect()).
    if (!socket.set_timeout(timeout).ok() || ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(found);
    return socket;
  }
  ::freeaddrinfo(found);
  return error(ErrorCode::io_error, "nvme/tcp " + peer + ": connect failed: " + errno_text(last_errno));
}

Status TcpSocket::set_timeout(std::chrono::milliseconds timeout) {
  const timeval tv = to_timeval(timeout);
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return error(ErrorCode::io_error, "nvme/tcp " + peer_ + ": setsockopt: " + errno_text(errno));
  }
  return {};
}

Status TcpSocket::send_all(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a controller that closed the connection is an error here, not SIGPIPE.
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return error(ErrorCode::timed_out, "nvme/tcp " + peer_ + ": send timed out (the controller reads nothing)");
    }
    if (n < 0) return error(ErrorCode::closed, "nvme/tcp " + peer_ + ": send: " + errno_text(errno));
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

Result<size_t> TcpSocket::receive_some(std::span<uint8_t> bytes) {
  for (;;) {
    const ssize_t n = ::recv(fd_, bytes.data(), bytes.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return error(ErrorCode::timed_out, "nvme/tcp " + peer_ + ": no data from the controller within the timeout");
    }
    if (n < 0) return error(ErrorCode::closed, "nvme/tcp " + peer_ + ": receive: " + errno_text(errno));
    if (n == 0) return error(ErrorCode::closed, "nvme/tcp " + peer_ + ": the controller closed the connection");
    return static_cast<size_t>(n);
  }
}

Status TcpSocket::receive_exact(std::span<uint8_t> bytes) {
  while (!bytes.empty()) {
    auto n = receive_some(bytes);
    if (!n.ok()) return n.status();
    bytes = bytes.subspan(*n);
  }
  return {};
}

}  // namespace portico::nvme_host
