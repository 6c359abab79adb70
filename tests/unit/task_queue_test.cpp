#include "core/task_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace guts {
namespace {

bool wait_for(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(TaskQueue, OneThreadRunsTasksInTheOrderPosted) {
  TaskQueue q(1, "test-tasks", 1000);
  std::mutex mu;
  std::vector<int> seen;
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(q.post([&, i] {
      std::lock_guard lock(mu);
      seen.push_back(i);
    }));
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return seen.size() == 200;
  }));
  for (int i = 0; i < 200; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

TEST(TaskQueue, RefusesPastItsBoundAndRunsWhatItTook) {
  TaskQueue q(1, "test-tasks", 3);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(q.post([&] {
    started = true;
    released.wait();
  }));
  ASSERT_TRUE(wait_for([&] { return started.load(); }));  // it no longer waits: it runs
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(q.post([&] { ++ran; }));
  EXPECT_FALSE(q.post([&] { ran += 100; }));
  release.set_value();
  ASSERT_TRUE(wait_for([&] { return ran.load() == 3; }));
  EXPECT_TRUE(q.post([&] { ++ran; }));  // room again
  ASSERT_TRUE(wait_for([&] { return ran.load() == 4; }));
}

TEST(TaskQueue, AThrowingTaskDoesNotStopTheThread) {
  TaskQueue q(1, "test-tasks", 10);
  std::atomic<int> ran{0};
  ASSERT_TRUE(q.post([] { throw std::runtime_error("task failed"); }));
  ASSERT_TRUE(q.post([&] { ++ran; }));
  ASSERT_TRUE(wait_for([&] { return ran.load() == 1; }));
}

TEST(TaskQueue, DestructionDropsWaitingTasksAfterTheRunningOneEnds) {
  auto q = std::make_unique<TaskQueue>(1, "test-tasks", 1000000);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> started{false}, running_ended{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(q->post([&] {
    started = true;
    released.wait();
    running_ended = true;
  }));
  ASSERT_TRUE(wait_for([&] { return started.load(); }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q->post([&] { ++ran; }));
  TaskQueue* raw = q.get();  // q itself is being reset on the other thread
  std::thread destroyer([&] { q.reset(); });
  // The destructor has begun once posting is refused (it cannot end before `release`).
  EXPECT_TRUE(wait_for([&] { return !raw->post([] {}); }));
  release.set_value();
  destroyer.join();
  EXPECT_TRUE(running_ended.load());
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace guts
