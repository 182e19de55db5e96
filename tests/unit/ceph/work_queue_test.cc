#include "ceph/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace portico::ceph {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueue, RunsItsItemsInOrderOneAtATime) {
  auto pool = std::make_shared<WorkerPool>("test", 2);
  WorkQueue queue(pool);
  std::vector<int> order;
  std::atomic<int> running{0};
  std::atomic<int> overlap{0};
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(queue.post([&, i]() {
      if (running.fetch_add(1) != 0) overlap.fetch_add(1);
      order.push_back(i);  // safe: never two at a time
      running.fetch_sub(1);
    }));
  }
  queue.drain_and_stop();
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_EQ(overlap.load(), 0);
  EXPECT_FALSE(queue.post([]() {})) << "refused after drain_and_stop";
}

TEST(WorkQueue, ManyQueuesShareThePoolsThreads) {
  auto pool = std::make_shared<WorkerPool>("test", 2);
  std::vector<std::unique_ptr<WorkQueue>> queues;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> done{0};
  for (int i = 0; i < 1000; ++i) {
    queues.push_back(std::make_unique<WorkQueue>(pool));
    queues.back()->post([&]() {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
      done.fetch_add(1);
    });
  }
  for (auto& q : queues) q->drain_and_stop();
  EXPECT_EQ(done.load(), 1000);
  EXPECT_LE(threads.size(), 2u) << "1000 queues, the pool's 2 threads";
}

TEST(WorkQueue, ABlockedQueueDoesNotHoldUpAnother) {
  auto pool = std::make_shared<WorkerPool>("test", 2);
  WorkQueue slow(pool);
  WorkQueue quick(pool);
  std::promise<void> release;
  auto released = release.get_future().share();
  slow.post([released]() { released.wait(); });
  std::promise<void> ran;
  quick.post([&ran]() { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
  release.set_value();
  slow.drain_and_stop();
}

TEST(WorkQueue, StopDropsWhatHasNotStartedAndWaitsForTheRunningItem) {
  auto pool = std::make_shared<WorkerPool>("test", 1);
  WorkQueue queue(pool);
  std::promise<void> started;
  std::atomic<bool> first_finished{false};
  std::atomic<int> later{0};
  queue.post([&]() {
    started.set_value();
    std::this_thread::sleep_for(50ms);
    first_finished = true;
  });
  for (int i = 0; i < 10; ++i) queue.post([&]() { later.fetch_add(1); });
  started.get_future().wait();
  queue.stop();
  EXPECT_TRUE(first_finished.load()) << "stop() returned while an item still ran";
  EXPECT_EQ(later.load(), 0);
  EXPECT_FALSE(queue.post([]() {}));
}

TEST(WorkQueue, AnItemMayStopItsOwnQueue) {
  auto pool = std::make_shared<WorkerPool>("test", 1);
  auto queue = std::make_shared<WorkQueue>(pool);
  std::promise<void> done;
  queue->post([queue, &done]() {
    queue->stop();  // must not wait for itself
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  queue->stop();
}

}  // namespace
}  // namespace portico::ceph
