#include "core/common/log_rate_limiter.h"

#include <gtest/gtest.h>

namespace portico {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LogRateLimiter, WritesABurstPerSecondAndCountsWhatItDrops) {
  LogRateLimiter limiter(2);
  const auto t0 = LogRateLimiter::Clock::time_point{} + seconds(10);
  EXPECT_TRUE(limiter.allow(t0).write);
  EXPECT_TRUE(limiter.allow(t0).write);
  EXPECT_FALSE(limiter.allow(t0).write);
  EXPECT_FALSE(limiter.allow(t0 + milliseconds(500)).write);
  const auto next = limiter.allow(t0 + milliseconds(1000));
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.suppressed_before, 2u);
  EXPECT_EQ(suppressed_note(2), " (2 similar lines suppressed)");
  EXPECT_EQ(suppressed_note(0), "");
}

}  // namespace
}  // namespace portico
