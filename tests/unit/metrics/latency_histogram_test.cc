#include "core/common/latency_histogram.h"

#include <gtest/gtest.h>

namespace portico {
namespace {

TEST(LatencyHistogram, ABucketHoldsLatenciesUpToItsBoundIncluded) {
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_of(10'000), 0u) << "10 us is in the le=10us bucket";
  EXPECT_EQ(LatencyHistogram::bucket_of(10'001), 1u);
  EXPECT_EQ(LatencyHistogram::bucket_of(1'000'000), 6u) << "1 ms";
  EXPECT_EQ(LatencyHistogram::bucket_of(10'000'000'000ull), kLatencyBucketsUs.size() - 1) << "10 s, the last bound";
  EXPECT_EQ(LatencyHistogram::bucket_of(10'000'000'001ull), kLatencyBucketsUs.size()) << "beyond: +Inf";
}

TEST(LatencyHistogram, AddCountsSumsAndFillsOneBucket) {
  LatencyHistogram h;
  h.add(40'000);
  h.add(40'000);
  h.add(3'000'000);
  EXPECT_EQ(h.count.load(), 3u);
  EXPECT_EQ(h.sum_ns.load(), 3'080'000u);
  EXPECT_EQ(h.buckets[LatencyHistogram::bucket_of(40'000)].load(), 2u);
  EXPECT_EQ(h.buckets[LatencyHistogram::bucket_of(3'000'000)].load(), 1u);
}

}  // namespace
}  // namespace portico
