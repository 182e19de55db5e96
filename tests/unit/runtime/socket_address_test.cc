#include <gtest/gtest.h>
#include <unistd.h>

#include "runtime/socket_address.h"

namespace portico::runtime {
namespace {

TEST(SocketAddress, ParsesIpv4AndPrintsItBack) {
  auto a = SocketAddress::parse("127.0.0.1:3260");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 3260);
  EXPECT_EQ(a->host(), "127.0.0.1");
  EXPECT_EQ(a->to_string(), "127.0.0.1:3260");
  EXPECT_EQ(a->length(), sizeof(sockaddr_in));
  EXPECT_EQ(SocketAddress::parse("0.0.0.0:1")->to_string(), "0.0.0.0:1");
}

TEST(SocketAddress, ParsesBracketedIpv6) {
  auto a = SocketAddress::parse("[::1]:3260");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->host(), "::1");
  EXPECT_EQ(a->to_string(), "[::1]:3260");
  EXPECT_EQ(a->length(), sizeof(sockaddr_in6));
  EXPECT_EQ(SocketAddress::parse("[::]:65535")->to_string(), "[::]:65535");
  EXPECT_EQ(SocketAddress::parse("[fe80::1:2]:860")->host(), "fe80::1:2");
}

TEST(SocketAddress, RejectsMalformedInputWithAClearMessage) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":3260", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:32a", "127.0.0.1:-1", "::1:3260", "[::1]", "[::1]3260", "[::1:3260",
                          "[]:3260", "256.0.0.1:3260", "host.example:3260", "[127.0.0.1]:3260",
                          "127.0.0.1:3260 "}) {
    auto a = SocketAddress::parse(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), ErrorCode::invalid_argument);
      EXPECT_NE(a.status().message().find(bad), std::string::npos) << a.status().message();
    }
  }
  EXPECT_NE(SocketAddress::parse("1.2.3.4:70000").status().message().find("1..65535"), std::string::npos);
}

// Binds port 0 by building the address from a parsed one with a kernel-chosen port.
Result<int> listen_ephemeral(const char* text) {
  auto a = SocketAddress::parse(text);
  if (!a.ok()) return a.status();
  return listen_tcp(*a, 8);
}

TEST(ListenTcp, ListensOnIpv4Loopback) {
  // The kernel picks the port when it is 0; parse() refuses 0, so ask for one through a helper
  // socket first.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);  // NOLINT
  std::string where = local_address_of(probe);
  ::close(probe);
  auto fd = listen_ephemeral(where.c_str());
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(local_address_of(*fd), where);
  EXPECT_EQ(peer_address_of(*fd), "");
  set_tcp_nodelay(*fd);
  // A second listener on the same port fails with a message naming the address.
  auto again = listen_ephemeral(where.c_str());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find(where), std::string::npos);
  ::close(*fd);
}

TEST(ListenTcp, ListensOnIpv6Loopback) {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6";
  sockaddr_in6 sin{};
  sin.sin6_family = AF_INET6;
  sin.sin6_addr = in6addr_loopback;
  if (::bind(probe, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {  // NOLINT
    ::close(probe);
    GTEST_SKIP() << "no IPv6 loopback";
  }
  std::string where = local_address_of(probe);
  ::close(probe);
  ASSERT_EQ(where.rfind("[::1]:", 0), 0u) << where;
  auto fd = listen_ephemeral(where.c_str());
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(local_address_of(*fd), where);
  ::close(*fd);
}

}  // namespace
}  // namespace portico::runtime
