// The chunk pool commands borrow registered memory from (without a device: plain memory).
#include "frontends/nvmeof/rdma/registered_chunks.h"

#include <gtest/gtest.h>

#include <set>

namespace portico::nvmeof {
namespace {

TEST(RegisteredChunks, TakesAllOrNothingAndGivesBack) {
  auto pool = RegisteredChunks::create(nullptr, 16384, 4);
  ASSERT_TRUE(pool.ok());
  RegisteredChunks& chunks = **pool;
  EXPECT_EQ(chunks.chunks_for(1), 1u);
  EXPECT_EQ(chunks.chunks_for(16384), 1u);
  EXPECT_EQ(chunks.chunks_for(16385), 2u);
  EXPECT_EQ(chunks.chunks_for(0), 0u);
  std::vector<uint32_t> a;
  ASSERT_TRUE(chunks.take(3, a));
  EXPECT_EQ(a.size(), 3u);
  std::vector<uint32_t> b;
  EXPECT_FALSE(chunks.take(2, b));  // one is free: nothing is taken
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(chunks.free_count(), 1u);
  ASSERT_TRUE(chunks.take(1, b));
  // Distinct chunks at distinct, non-overlapping addresses inside the pool.
  std::set<uint8_t*> addresses;
  for (uint32_t c : a) addresses.insert(chunks.address(c));
  addresses.insert(chunks.address(b[0]));
  EXPECT_EQ(addresses.size(), 4u);
  chunks.give_back(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(chunks.free_count(), 3u);
  chunks.give_back(b);
  EXPECT_EQ(chunks.free_count(), 4u);
}

TEST(RegisteredChunks, ChunksAreWholePages) {
  EXPECT_FALSE(RegisteredChunks::create(nullptr, 1000, 4).ok());
  EXPECT_FALSE(RegisteredChunks::create(nullptr, 4096, 0).ok());
}

}  // namespace
}  // namespace portico::nvmeof
