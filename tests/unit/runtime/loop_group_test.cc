#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <set>
#include <string>

#include "runtime/loop_group.h"

namespace portico::runtime {
namespace {

TEST(LoopGroup, RunsEachLoopOnItsOwnNamedThread) {
  auto group = LoopGroup::create(3);
  ASSERT_TRUE(group.ok()) << group.status().message();
  ASSERT_EQ((*group)->size(), 3u);
  std::promise<std::string> names[3];
  for (size_t i = 0; i < 3; ++i) {
    // Posted before start(): runs once the thread starts.
    (*group)->loop(i).post([&, i]() {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof(name));
      names[i].set_value(std::string(name) + (EventLoop::current() == &(*group)->loop(i) ? "" : "!"));
    });
  }
  (*group)->start();
  (*group)->start();  // idempotent
  for (size_t i = 0; i < 3; ++i) {
    auto f = names[i].get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(f.get(), "portico-io-" + std::to_string(i));
  }
  (*group)->stop();
  (*group)->stop();  // idempotent
}

TEST(LoopGroup, DestructorStopsRunningLoops) {
  auto group = LoopGroup::create(2);
  ASSERT_TRUE(group.ok());
  (*group)->start();
  group->reset();
  SUCCEED();
}

TEST(LoopGroup, RejectsZeroLoops) { EXPECT_FALSE(LoopGroup::create(0).ok()); }

}  // namespace
}  // namespace portico::runtime
