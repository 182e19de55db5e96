// An IPv4 or IPv6 TCP endpoint, parsed from the portal syntax of the configuration
// ("127.0.0.1:3260", "[::1]:3260") and printed back in the same form (RFC 7143 13.9 TargetAddress
// uses the same bracketed IPv6 form).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.h"

namespace portico::runtime {

class SocketAddress {
 public:
  // "a.b.c.d:port" or "[v6]:port"; the port (1..65535) is required.
  static Result<SocketAddress> parse(std::string_view text);
  // From a kernel-filled sockaddr (getsockname/getpeername); AF_INET or AF_INET6 only.
  static Result<SocketAddress> from_sockaddr(const sockaddr* address, socklen_t length);

  [[nodiscard]] std::string to_string() const;  // "127.0.0.1:3260" / "[::1]:3260"
  [[nodiscard]] const sockaddr* sockaddr_ptr() const;
  [[nodiscard]] socklen_t length() const;
  [[nodiscard]] int family() const { return storage_.ss_family; }
  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] std::string host() const;  // without brackets

 private:
  sockaddr_storage storage_{};
};

// A listening TCP socket (SO_REUSEADDR, IPV6_V6ONLY for v6, close-on-exec).
Result<int> listen_tcp(const SocketAddress& address, int backlog);
void set_tcp_nodelay(int fd);
// to_string() form, or "" when the socket has no address.
std::string local_address_of(int fd);
std::string peer_address_of(int fd);

}  // namespace portico::runtime
