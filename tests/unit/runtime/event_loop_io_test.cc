// Event loop I/O: sockets over a socketpair, file read/write, cancellation, re-entrant callbacks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "runtime/event_loop.h"
#include "runtime/socket_address.h"
#include "tests/unit/runtime/loop_runner.h"

namespace portico::runtime {
namespace {

using testing::get_within;
using testing::LoopRunner;

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
};

struct TempFile {
  std::string path;
  int fd = -1;
  TempFile() {
    char name[] = "/tmp/portico-loop-XXXXXX";
    fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    path = name;
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
};

TEST(EventLoopIo, SendAndRecvOverASocketPair) {
  LoopRunner runner;
  SocketPair pair;
  std::vector<uint8_t> out = {1, 2, 3, 4, 5};
  std::vector<uint8_t> in(16);
  std::promise<int> sent;
  std::promise<int> received;
  runner.run_on_loop([&]() {
    runner.loop().recv(pair.fds[1], in, [&](int r) { received.set_value(r); });
    runner.loop().send(pair.fds[0], out, [&](int r) { sent.set_value(r); });
  });
  auto s = sent.get_future();
  auto r = received.get_future();
  EXPECT_EQ(get_within(s), 5);
  EXPECT_EQ(get_within(r), 5);
  EXPECT_EQ(std::vector<uint8_t>(in.begin(), in.begin() + 5), out);
}

TEST(EventLoopIo, SendmsgGathersIovecs) {
  LoopRunner runner;
  SocketPair pair;
  uint8_t a[] = {'a', 'b'};
  uint8_t b[] = {'c'};
  iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  std::promise<int> sent;
  runner.run_on_loop([&]() { runner.loop().sendmsg(pair.fds[0], &msg, [&](int r) { sent.set_value(r); }); });
  auto s = sent.get_future();
  EXPECT_EQ(get_within(s), 3);
  char buf[4] = {};
  EXPECT_EQ(::recv(pair.fds[1], buf, sizeof(buf), 0), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
}

TEST(EventLoopIo, CancelFdEndsAPendingRecv) {
  LoopRunner runner;
  SocketPair pair;
  std::vector<uint8_t> in(16);
  std::promise<int> received;
  runner.run_on_loop([&]() { runner.loop().recv(pair.fds[1], in, [&](int r) { received.set_value(r); }); });
  runner.run_on_loop([&]() {
    EXPECT_EQ(runner.loop().pending_ops(), 1u);
    runner.loop().cancel_fd(pair.fds[1]);
  });
  auto r = received.get_future();
  EXPECT_EQ(get_within(r), -ECANCELED);
  runner.run_on_loop([&]() { EXPECT_EQ(runner.loop().pending_ops(), 0u); });
}

TEST(EventLoopIo, AcceptsAConnection) {
  LoopRunner runner;
  // parse() rejects port 0 (a portal needs a port): bind an ephemeral port by hand.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);  // NOLINT
  ASSERT_EQ(::listen(listener, 4), 0);
  std::string where = local_address_of(listener);
  auto target = SocketAddress::parse(where);
  ASSERT_TRUE(target.ok()) << where;
  std::promise<int> accepted;
  runner.run_on_loop([&]() { runner.loop().accept(listener, [&](int r) { accepted.set_value(r); }); });
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, target->sockaddr_ptr(), target->length()), 0);
  auto a = accepted.get_future();
  int fd = get_within(a);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(peer_address_of(fd), local_address_of(client));
  EXPECT_EQ(local_address_of(fd), where);
  ::close(fd);
  ::close(client);
  ::close(listener);
}

TEST(EventLoopIo, WriteThenReadAFile) {
  LoopRunner runner;
  TempFile file;
  std::vector<uint8_t> out(8192);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> in(8192);
  std::promise<int> wrote;
  std::promise<int> synced;
  std::promise<int> read_back;
  runner.run_on_loop([&]() {
    runner.loop().write(file.fd, out, 4096, [&](int r) {
      wrote.set_value(r);
      runner.loop().fsync(file.fd, true, [&](int s) {
        synced.set_value(s);
        runner.loop().read(file.fd, in, 4096, [&](int rr) { read_back.set_value(rr); });
      });
    });
  });
  auto w = wrote.get_future();
  auto s = synced.get_future();
  auto r = read_back.get_future();
  EXPECT_EQ(get_within(w), 8192);
  EXPECT_EQ(get_within(s), 0);
  EXPECT_EQ(get_within(r), 8192);
  EXPECT_EQ(in, out);
}

TEST(EventLoopIo, WritevReadvAndFallocate) {
  LoopRunner runner;
  TempFile file;
  std::vector<uint8_t> a(512, 0xAA);
  std::vector<uint8_t> b(512, 0xBB);
  std::vector<uint8_t> c(1024, 0);
  iovec out[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  iovec in[1] = {{c.data(), c.size()}};
  std::promise<int> done_falloc;
  std::promise<int> done_write;
  std::promise<int> done_read;
  runner.run_on_loop([&]() {
    runner.loop().fallocate(file.fd, 0, 0, 1 << 20, [&](int r) { done_falloc.set_value(r); });
    runner.loop().writev(file.fd, out, 2, 0, [&](int r) {
      done_write.set_value(r);
      runner.loop().readv(file.fd, in, 1, 0, [&](int rr) { done_read.set_value(rr); });
    });
  });
  auto f = done_falloc.get_future();
  auto w = done_write.get_future();
  auto r = done_read.get_future();
  EXPECT_EQ(get_within(f), 0);
  EXPECT_EQ(get_within(w), 1024);
  EXPECT_EQ(get_within(r), 1024);
  EXPECT_EQ(c[0], 0xAA);
  EXPECT_EQ(c[1023], 0xBB);
  EXPECT_EQ(::lseek(file.fd, 0, SEEK_END), 1 << 20);
}

TEST(EventLoopIo, MoreOperationsThanTheQueueDepthAllComplete) {
  LoopRunner runner;  // queue depth 64
  TempFile file;
  constexpr int kOps = 2000;
  std::vector<uint8_t> block(512, 0x5A);
  std::atomic<int> completed{0};
  std::atomic<int> failures{0};
  std::promise<void> all;
  runner.run_on_loop([&]() {
    for (int i = 0; i < kOps; ++i) {
      runner.loop().write(file.fd, block, static_cast<uint64_t>(i) * 512, [&](int r) {
        if (r != 512) ++failures;
        if (++completed == kOps) all.set_value();
      });
    }
  });
  auto f = all.get_future();
  get_within(f);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(::lseek(file.fd, 0, SEEK_END), kOps * 512);
}

// An object that owns a socket and destroys itself from its own completion, after starting a
// new operation from inside a callback (the connection close path).
struct SelfDestroying {
  EventLoop& loop;
  int fd;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(8);
  std::promise<void>* destroyed;
  ~SelfDestroying() { destroyed->set_value(); }
  void start() {
    loop.recv(fd, buffer, [this](int r) {
      if (r > 0) {
        start();  // re-entrant: a new op from inside a completion
        return;
      }
      delete this;
    });
  }
};

TEST(EventLoopIo, CompletionMayStartOpsAndDestroyItsOwner) {
  LoopRunner runner;
  SocketPair pair;
  std::promise<void> destroyed;
  runner.run_on_loop([&]() { (new SelfDestroying{runner.loop(), pair.fds[1], {}, &destroyed})->start(); });
  ASSERT_EQ(::send(pair.fds[0], "hello", 5, 0), 5);
  ASSERT_EQ(::send(pair.fds[0], "again", 5, 0), 5);
  ::shutdown(pair.fds[0], SHUT_WR);  // EOF ends the chain
  auto f = destroyed.get_future();
  get_within(f);
}

TEST(EventLoopIo, DestroyingALoopWithPendingOpsDropsTheirCallbacks) {
  SocketPair pair;
  auto loop = EventLoop::create(8);
  ASSERT_TRUE(loop.ok());
  auto owned = std::make_shared<int>(1);
  std::vector<uint8_t> in(8);
  (*loop)->recv(pair.fds[1], in, [owned](int) {});
  EXPECT_EQ(owned.use_count(), 2);
  loop->reset();
  EXPECT_EQ(owned.use_count(), 1);
}

}  // namespace
}  // namespace portico::runtime
