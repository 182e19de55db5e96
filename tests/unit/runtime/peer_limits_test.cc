#include "runtime/peer_limits.h"

#include <gtest/gtest.h>

namespace portico::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PeerLimits, ConnectionCounterCapsEachAddressOnItsOwn) {
  ConnectionCounter counter(2);
  EXPECT_TRUE(counter.try_add("10.0.0.1"));
  EXPECT_TRUE(counter.try_add("10.0.0.1"));
  EXPECT_FALSE(counter.try_add("10.0.0.1"));
  EXPECT_TRUE(counter.try_add("10.0.0.2"));
  EXPECT_EQ(counter.count("10.0.0.1"), 2u);
  counter.remove("10.0.0.1");
  EXPECT_TRUE(counter.try_add("10.0.0.1"));
  counter.remove("10.0.0.9");  // unknown: ignored
  EXPECT_EQ(counter.count("10.0.0.9"), 0u);
}

TEST(PeerLimits, AuthFailureDelayDoublesPerAddressUpToItsBoundAndIsForgotten) {
  AuthFailureThrottle throttle(milliseconds(1000), milliseconds(4000), seconds(60));
  const auto t0 = AuthFailureThrottle::Clock::time_point{} + seconds(1000);
  EXPECT_EQ(throttle.record_failure("a", t0), milliseconds(1000));
  EXPECT_EQ(throttle.record_failure("a", t0 + seconds(1)), milliseconds(2000));
  EXPECT_EQ(throttle.record_failure("a", t0 + seconds(2)), milliseconds(4000));
  EXPECT_EQ(throttle.record_failure("a", t0 + seconds(3)), milliseconds(4000));  // bounded
  EXPECT_EQ(throttle.record_failure("b", t0 + seconds(3)), milliseconds(1000));  // per address
  EXPECT_EQ(throttle.record_failure("a", t0 + seconds(100)), milliseconds(1000));  // forgotten
}

TEST(PeerLimits, HostOfDropsThePort) {
  EXPECT_EQ(host_of("127.0.0.1:3260"), "127.0.0.1");
  EXPECT_EQ(host_of("[::1]:3260"), "::1");
  EXPECT_EQ(host_of("::1"), "::1");
  EXPECT_EQ(host_of("host"), "host");
}

}  // namespace
}  // namespace portico::runtime
