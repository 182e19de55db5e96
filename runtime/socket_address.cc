#include "runtime/socket_address.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace portico::runtime {
namespace {

Status bad(std::string_view text, const std::string& why) {
  return error(ErrorCode::invalid_argument, "address \"" + std::string(text) + "\": " + why);
}

// The sockaddr_storage viewed as the concrete family struct; memcpy keeps it free of aliasing casts.
sockaddr_in as_v4(const sockaddr_storage& s) {
  sockaddr_in a{};
  std::memcpy(&a, &s, sizeof(a));
  return a;
}

sockaddr_in6 as_v6(const sockaddr_storage& s) {
  sockaddr_in6 a{};
  std::memcpy(&a, &s, sizeof(a));
  return a;
}

}  // namespace

Result<SocketAddress> SocketAddress::parse(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  bool v6 = false;
  if (text.empty()) return bad(text, "empty");
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']' after IPv6 address");
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad(text, "missing \":port\" after ']'");
    port_text = rest.substr(1);
    v6 = true;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad(text, "missing \":port\"");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad(text, "IPv6 addresses need brackets: [addr]:port");
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) return bad(text, "missing host");
  if (port_text.empty()) return bad(text, "missing port");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) {
    return bad(text, "port \"" + std::string(port_text) + "\" is not a number");
  }
  if (port < 1 || port > 65535) return bad(text, "port " + std::string(port_text) + " out of range 1..65535");

  SocketAddress address;
  std::string host_string(host);
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host_string.c_str(), &a.sin6_addr) != 1) {
      return bad(text, "\"" + host_string + "\" is not an IPv6 address");
    }
    std::memcpy(&address.storage_, &a, sizeof(a));
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host_string.c_str(), &a.sin_addr) != 1) {
      return bad(text, "\"" + host_string + "\" is not an IPv4 address");
    }
    std::memcpy(&address.storage_, &a, sizeof(a));
  }
  return address;
}

Result<SocketAddress> SocketAddress::from_sockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  if (address == nullptr || length < sizeof(sa_family_t) || length > sizeof(result.storage_)) {
    return error(ErrorCode::invalid_argument, "socket address: bad length");
  }
  std::memcpy(&result.storage_, address, length);
  if (result.family() == AF_INET && length >= sizeof(sockaddr_in)) return result;
  if (result.family() == AF_INET6 && length >= sizeof(sockaddr_in6)) return result;
  return error(ErrorCode::unsupported, "socket address: family " + std::to_string(result.family()) +
                                           " is neither IPv4 nor IPv6");
}

const sockaddr* SocketAddress::sockaddr_ptr() const {
  return reinterpret_cast<const sockaddr*>(&storage_);  // NOLINT: the sockets API's own idiom
}

socklen_t SocketAddress::length() const {
  return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

uint16_t SocketAddress::port() const {
  return family() == AF_INET6 ? ntohs(as_v6(storage_).sin6_port) : ntohs(as_v4(storage_).sin_port);
}

std::string SocketAddress::host() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    auto a = as_v6(storage_);
    inet_ntop(AF_INET6, &a.sin6_addr, buffer, sizeof(buffer));
  } else {
    auto a = as_v4(storage_);
    inet_ntop(AF_INET, &a.sin_addr, buffer, sizeof(buffer));
  }
  return buffer;
}

// Appended piece by piece: `"[" + host()` (operator+ of a literal and a temporary string, an
// insert at 0) draws a false -Wrestrict from GCC 12 at -O3 (GCC bug 105651).
std::string SocketAddress::to_string() const {
  const bool v6 = family() == AF_INET6;
  std::string text;
  if (v6) text += '[';
  text += host();
  if (v6) text += ']';
  text += ':';
  text += std::to_string(port());
  return text;
}

Result<int> listen_tcp(const SocketAddress& address, int backlog) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    return error(ErrorCode::io_error, "listen " + address.to_string() + ": socket: " + std::strerror(errno));
  }
  auto fail = [&](const char* what) -> Status {
    int err = errno;
    ::close(fd);
    return error(ErrorCode::io_error, "listen " + address.to_string() + ": " + what + ": " + std::strerror(err));
  };
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return fail("SO_REUSEADDR");
  // A v6 portal serves v6 only, so that "0.0.0.0:3260" and "[::]:3260" can both be configured.
  if (address.family() == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return fail("IPV6_V6ONLY");
  }
  if (::bind(fd, address.sockaddr_ptr(), address.length()) != 0) return fail("bind");
  if (::listen(fd, backlog) != 0) return fail("listen");
  return fd;
}

void set_tcp_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

namespace {

template <typename Getter>
std::string address_of(int fd, Getter getter) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  auto* sa = reinterpret_cast<sockaddr*>(&storage);  // NOLINT: the sockets API's own idiom
  if (getter(fd, sa, &length) != 0) return {};
  auto address = SocketAddress::from_sockaddr(sa, length);
  return address.ok() ? address->to_string() : std::string();
}

}  // namespace

std::string local_address_of(int fd) { return address_of(fd, ::getsockname); }
std::string peer_address_of(int fd) { return address_of(fd, ::getpeername); }

}  // namespace portico::runtime
