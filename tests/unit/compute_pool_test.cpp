#include "core/compute_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace guts {
namespace {

TEST(ComputePool, EveryIndexRunsExactlyOnce) {
  ComputePool pool(3, "test-pool");
  for (size_t n : {0u, 1u, 2u, 7u, 10000u}) {
    std::vector<std::atomic<int>> calls(n);
    pool.run(n, [&](size_t i) { calls[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(calls[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ComputePool, WithoutHelpersEverythingRunsOnTheCaller) {
  ComputePool pool(0, "test-pool");
  EXPECT_EQ(pool.helpers(), 0u);
  std::set<std::thread::id> threads;
  pool.run(100, [&](size_t) { threads.insert(std::this_thread::get_id()); });  // inline: no race
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ComputePool, HelpersWorkAlongsideTheCaller) {
  ComputePool pool(2, "test-pool");
  // Each call waits until another thread is inside a call too: only true parallelism ends it.
  std::atomic<int> inside{0};
  std::atomic<bool> met{false};
  std::mutex mu;
  std::set<std::thread::id> threads;
  pool.run(4, [&](size_t) {
    {
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    inside.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (inside.load() < 2 && !met.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    if (inside.load() >= 2) met = true;
    inside.fetch_sub(1);
  });
  EXPECT_TRUE(met.load());
  EXPECT_GE(threads.size(), 2u);
}

TEST(ComputePool, ConcurrentCallersEachGetTheirWholeJob) {
  ComputePool pool(2, "test-pool");
  constexpr size_t kCallers = 4, kItems = 5000;
  std::vector<std::atomic<uint64_t>> sums(kCallers);
  std::vector<std::thread> callers;
  for (size_t c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int round = 0; round < 20; ++round)
        pool.run(kItems, [&](size_t i) { sums[c].fetch_add(i + 1); });
    });
  for (auto& t : callers) t.join();
  for (size_t c = 0; c < kCallers; ++c) EXPECT_EQ(sums[c].load(), 20u * kItems * (kItems + 1) / 2);
}

TEST(ComputePool, AThrowingCallIsRethrownAfterTheOthersRan) {
  ComputePool pool(2, "test-pool");
  std::vector<std::atomic<int>> calls(1000);
  EXPECT_THROW(pool.run(calls.size(),
                        [&](size_t i) {
                          calls[i].fetch_add(1);
                          if (i % 100 == 7) throw std::runtime_error("item failed");
                        }),
               std::runtime_error);
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << i;
  // The pool still works afterwards.
  std::atomic<int> after{0};
  pool.run(10, [&](size_t) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(ComputePool, DestroyedWhileIdleJoinsItsHelpers) {
  for (int i = 0; i < 50; ++i) {
    ComputePool pool(2, "test-pool");
    if (i % 2) pool.run(3, [](size_t) {});
  }
}

}  // namespace
}  // namespace guts
