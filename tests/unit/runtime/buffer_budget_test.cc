#include "runtime/buffer_budget.h"

#include <gtest/gtest.h>

namespace portico::runtime {
namespace {

TEST(BufferBudget, AccountRefusesBeyondItsLimitAndTakesAgainOnceACommandReturnsItsBytes) {
  BufferPool pool(1 << 20);
  BufferAccount account(pool, 100);
  auto a = account.try_charge(60);
  ASSERT_TRUE(a);
  EXPECT_FALSE(account.try_charge(41));  // 101 > 100
  auto b = account.try_charge(40);
  ASSERT_TRUE(b);
  EXPECT_EQ(account.used(), 100u);
  EXPECT_EQ(pool.used(), 100u);
  const auto releases = account.releases();
  a->release();
  EXPECT_EQ(account.releases(), releases + 1);
  EXPECT_EQ(account.used(), 40u);
  EXPECT_EQ(pool.used(), 40u);
  EXPECT_TRUE(account.try_charge(60));  // a temporary: given back at once
  EXPECT_EQ(pool.used(), 40u);
}

TEST(BufferBudget, AnIdleAccountMayRunOneCommandLargerThanItsLimitButNeverBeyondThePool) {
  BufferPool pool(1000);
  BufferAccount account(pool, 100);
  auto big = account.try_charge(500);
  ASSERT_TRUE(big);  // alone: allowed past the account's own limit
  EXPECT_FALSE(account.try_charge(1));  // but then nothing else
  big->release();
  EXPECT_FALSE(account.try_charge(1001));  // never past the pool
  EXPECT_EQ(pool.used(), 0u);
}

TEST(BufferBudget, ThePoolIsSharedByAccounts) {
  BufferPool pool(150);
  BufferAccount first(pool, 100);
  BufferAccount second(pool, 100);
  auto a = first.try_charge(100);
  ASSERT_TRUE(a);
  EXPECT_FALSE(second.try_charge(51));  // the pool has 50 left
  auto b = second.try_charge(50);
  ASSERT_TRUE(b);
  EXPECT_EQ(pool.used(), 150u);
}

TEST(BufferBudget, ChargesMoveWithTheirBytes) {
  BufferPool pool(100);
  BufferAccount account(pool, 100);
  BufferCharge outer;
  {
    auto charge = account.try_charge(30);
    ASSERT_TRUE(charge);
    outer = std::move(*charge);  // e.g. from the task to its last PDU
  }
  EXPECT_TRUE(outer.held());
  EXPECT_EQ(outer.bytes(), 30u);
  EXPECT_EQ(pool.used(), 30u);
  outer = BufferCharge();
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(account.used(), 0u);
}

}  // namespace
}  // namespace portico::runtime
