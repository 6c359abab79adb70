// Named simulator scenarios (docs/simplex-spec.md §2) and the bounded random campaign.
#include "consensus/sim/sim.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "consensus/sim/campaign.h"

using namespace guts::consensus;
using namespace guts::consensus::sim;

namespace {

void expect_clean(const Simulation& s) {
  for (const auto& v : s.violations()) ADD_FAILURE() << v;
}

View max_finalized(const Simulation& s) {
  View m = 0;
  for (uint32_t i = 0; i < s.n(); ++i) {
    if (s.honest(i)) m = std::max(m, s.last_finalized(i));
  }
  return m;
}

Options base(uint32_t n, uint64_t seed) {
  Options o;
  o.n = n;
  o.seed = seed;
  return o;
}

}  // namespace

TEST(SimScenario, AllOnline) {
  for (uint32_t n : {1u, 4u, 7u, 10u}) {
    Simulation s(base(n, 42 + n));
    s.start_all();
    EXPECT_TRUE(s.run_until_finalized(30, 60000))
        << "n=" << n << " finalized " << s.min_honest_finalized();
    expect_clean(s);
    for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(s.honest_blockers(i), 0u);
    if (n > 1) {
      // 50 ms links: block time 2 hops, finality 3 hops (+ 1 ms application latency per step).
      auto lat = s.finality_latencies();
      ASSERT_FALSE(lat.empty());
      std::sort(lat.begin(), lat.end());
      EXPECT_GE(lat[lat.size() / 2], 150u);
      EXPECT_LE(lat[lat.size() / 2], 160u) << "n=" << n;
    }
  }
}

TEST(SimScenario, OneOffline) {
  for (uint32_t n : {4u, 7u}) {
    Options o = base(n, 7);
    o.offline = {n - 1};
    Simulation s(o);
    s.start_all();
    EXPECT_TRUE(s.run_until_finalized(15, 60000)) << "n=" << n;
    expect_clean(s);
  }
  // n = 7 tolerates f = 2 offline.
  Options o = base(7, 8);
  o.offline = {2, 5};
  Simulation s(o);
  s.start_all();
  EXPECT_TRUE(s.run_until_finalized(15, 90000));
  expect_clean(s);
}

TEST(SimScenario, SlowAndLossyLinks) {
  Options o = base(5, 11);
  o.link = Link{200, 150, 0.5};
  Simulation s(o);
  s.start_all();
  EXPECT_TRUE(s.run_until_finalized(30, 600000)) << "finalized " << s.min_honest_finalized();
  expect_clean(s);
}

TEST(SimScenario, PartitionThenHeal) {
  Simulation s(base(4, 21));
  s.start_all();
  s.run_until(5000);
  ASSERT_GT(s.min_honest_finalized(), 5u);
  s.partition({{0, 1}, {2, 3}});
  s.run_for(2000);  // let in-flight messages land
  View frozen = max_finalized(s);
  s.run_for(30000);
  EXPECT_EQ(max_finalized(s), frozen) << "no quorum on either side: nothing may finalize";
  s.heal();
  EXPECT_TRUE(s.run_until_finalized(frozen + 10, s.now() + 60000));
  expect_clean(s);
}

TEST(SimScenario, LateJoinerCatchesUp) {
  Options o = base(4, 31);
  o.offline = {3};
  Simulation s(o);
  s.start_all();
  s.run_until(30000);
  View ahead = s.min_honest_finalized();
  ASSERT_GT(ahead, 50u);
  s.start(3);
  EXPECT_TRUE(s.run_until_finalized(ahead + 5, s.now() + 30000));
  EXPECT_GE(s.last_finalized(3), ahead);
  expect_clean(s);
}

TEST(SimScenario, RandomCrashRestart) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    Simulation s(base(5, seed));
    Rng r(seed);
    s.start_all();
    for (int k = 0; k < 25; ++k) {
      s.run_for(500 + r.uniform(2500));
      uint32_t i = static_cast<uint32_t>(r.uniform(5));
      if (r.chance(0.5)) {
        s.crash(i, true);
        s.run_for(200 + r.uniform(1500));
      } else {
        s.crash_on_next_write(i);
        s.run_for(200 + r.uniform(1500));
        s.cancel_pending_crash(i);
      }
      s.restart(i);
    }
    View before = max_finalized(s);
    EXPECT_GT(s.stats().crashes, 10u);
    EXPECT_TRUE(s.run_until_finalized(before + 5, s.now() + 60000)) << "seed " << seed;
    expect_clean(s);
  }
}

TEST(SimScenario, WholeClusterUncleanShutdown) {
  Simulation s(base(4, 41));
  Rng r(41);
  s.start_all();
  for (int k = 0; k < 30; ++k) {
    s.run_for(100 + r.uniform(1900));
    if (r.chance(0.5)) s.crash_on_next_write(static_cast<uint32_t>(r.uniform(4)));
    s.crash_all();
    s.restart_all();
  }
  View before = max_finalized(s);
  EXPECT_GT(before, 10u);
  EXPECT_TRUE(s.run_until_finalized(before + 5, s.now() + 60000));
  expect_clean(s);
}

// A validator whose data directory is wiped but for its key (and, in a second round, one that
// lost only its journal) rejoins: it signs nothing it may have signed before (the monitor checks
// every vote an honest node sends against its signing guard and its earlier votes), recovers
// after hearing 2f+1 others, votes again and the network keeps finalizing.
TEST(SimScenario, WipedValidatorRejoinsWithoutDoubleVoting) {
  for (uint64_t seed : {3u, 4u, 5u}) {
    for (bool keep_guard : {false, true}) {
      Options o = base(4, seed);
      o.link = Link{40, 20, 1.0};
      Simulation s(o);
      Rng r(seed);
      s.start_all();
      for (int k = 0; k < 6; ++k) {
        s.run_for(1500 + r.uniform(3000));
        uint32_t i = static_cast<uint32_t>(r.uniform(4));
        s.wipe(i, keep_guard);
        if (r.chance(0.5)) s.run_for(r.uniform(1500));
        s.restart(i);
        View before = max_finalized(s);
        ASSERT_TRUE(s.run_until_finalized(before + 3, s.now() + 30000))
            << "seed " << seed << " wipe " << k << " of node " << i;
        // It recovered: a finite floor, and it signs again.
        auto g = s.guard(i);
        ASSERT_TRUE(g && g->reserved) << "seed " << seed;
        EXPECT_NE(g->floor, kSignNothing);
        EXPECT_FALSE(s.engine(i)->observing());
      }
      expect_clean(s);
    }
  }
}

TEST(SimScenario, Determinism) {
  auto run = [](uint64_t seed) {
    Options o = base(5, seed);
    o.link = Link{80, 40, 0.9};
    o.byzantine[2] = Behavior::kConflicter;
    Simulation s(o);
    s.start_all();
    s.run_until(5000);
    s.crash(1, true);
    s.partition({{0, 1, 2}, {3, 4}});
    s.run_until(9000);
    s.heal();
    s.restart(1);
    s.run_until(20000);
    return std::make_pair(s.trace_hash(), s.stats().events);
  };
  auto a = run(5), b = run(5), c = run(6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.first, c.first);
}

// ---- byzantine actors (n = 4, f = 1; the actor is validator 1) ----

struct ByzCase {
  Behavior behavior;
  size_t min_blockers;  // honest nodes that must block it (3 = all)
  size_t max_blockers;
};

class SimByzantine : public ::testing::TestWithParam<ByzCase> {};

TEST_P(SimByzantine, SafeLiveAndAttributed) {
  const ByzCase& c = GetParam();
  Options o = base(4, 51);
  o.byzantine[1] = c.behavior;
  Simulation s(o);
  s.start_all();
  EXPECT_TRUE(s.run_until_finalized(20, 90000))
      << behavior_name(c.behavior) << " finalized " << s.min_honest_finalized();
  expect_clean(s);
  size_t blockers = s.honest_blockers(1);
  EXPECT_GE(blockers, c.min_blockers) << behavior_name(c.behavior);
  EXPECT_LE(blockers, c.max_blockers) << behavior_name(c.behavior);
}

INSTANTIATE_TEST_SUITE_P(
    Actors, SimByzantine,
    ::testing::Values(ByzCase{Behavior::kConflicter, 3, 3}, ByzCase{Behavior::kEquivocator, 1, 3},
                      ByzCase{Behavior::kImpersonator, 3, 3},
                      ByzCase{Behavior::kCorruptSignature, 3, 3}, ByzCase{Behavior::kNuller, 3, 3},
                      ByzCase{Behavior::kOutdated, 0, 0}, ByzCase{Behavior::kWrongNamespace, 3, 3},
                      // Another epoch's votes are ignored, never attributed (an honest
                      // validator sends them at an epoch boundary): safe and live unblocked.
                      ByzCase{Behavior::kWrongEpoch, 0, 0}),
    [](const auto& info) {
      std::string n = behavior_name(info.param.behavior);
      for (auto& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

TEST(SimScenario, ByzantineMixAtTen) {
  Options o = base(10, 61);
  o.byzantine = {{1, Behavior::kConflicter}, {4, Behavior::kNuller}, {8, Behavior::kEquivocator}};
  o.link = Link{50, 20, 1.0};
  Simulation s(o);
  s.start_all();
  EXPECT_TRUE(s.run_until_finalized(20, 120000));
  expect_clean(s);
  EXPECT_EQ(s.honest_blockers(1), 7u);
  EXPECT_EQ(s.honest_blockers(4), 7u);
  // The equivocator's split (A to even, B to odd peers) leaves both proposals short of q = 7,
  // so no certificate ever proves the equivocation: its views are simply nullified.
}

TEST(SimScenario, DishonestLeaderCertificationRejected) {
  Options o = base(4, 71);
  o.reject_leaders = {2};
  Simulation s(o);
  s.start_all();
  EXPECT_TRUE(s.run_until_finalized(20, 90000));
  expect_clean(s);
  for (const auto& [v, d] : s.finalized()) {
    EXPECT_NE(v % 4, 2u) << "view " << v << " led by the rejected leader was finalized";
  }
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(s.honest_blockers(i), 0u);
}

// ---- bounded random campaign (GUTS_SIM_SEEDS, default 200) ----

TEST(SimCampaign, RandomSeeds) {
  uint64_t seeds = 200;
  if (const char* env = std::getenv("GUTS_SIM_SEEDS")) seeds = std::strtoull(env, nullptr, 10);
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    auto r = run_campaign_seed(seed);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.failure << "\n  " << r.description
                      << "\n  replay: guts-sim-campaign --seeds 1 --seed " << seed << " -v";
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("campaign: %llu seeds in %.1f s\n", static_cast<unsigned long long>(seeds), secs);
}
