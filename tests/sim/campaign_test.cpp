// The campaign loop the simulators share (sim/campaign.h): every seed runs once, the first
// failure stops the campaign, a seed that kills its worker process fails, an exception fails
// its seed.
#include "sim/campaign.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <stdexcept>

namespace guts::sim {
namespace {

CampaignOptions options(uint64_t seeds, unsigned jobs) {
  CampaignOptions o;
  o.first = 10;
  o.seeds = seeds;
  o.jobs = jobs;
  o.repro = "test";
  o.totals = {"units"};
  return o;
}

TEST(Campaign, RunsEverySeedInProcess) {
  std::set<uint64_t> ran;
  int rc = run_campaign(options(5, 0), [&](uint64_t seed, bool) {
    ran.insert(seed);
    SeedReport r;
    r.totals = {1};
    return r;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(ran, (std::set<uint64_t>{10, 11, 12, 13, 14}));
}

TEST(Campaign, StopsAtAFailureOrAnException) {
  int runs = 0;
  EXPECT_EQ(run_campaign(options(10, 0),
                         [&](uint64_t seed, bool) {
                           ++runs;
                           SeedReport r;
                           r.ok = seed != 12;
                           r.failure = "broken";
                           return r;
                         }),
            1);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(run_campaign(options(3, 0),
                         [&](uint64_t, bool) -> SeedReport { throw std::runtime_error("boom"); }),
            1);
}

TEST(Campaign, WorkerProcesses) {
  auto pass = [](uint64_t, bool) { return SeedReport{}; };
  EXPECT_EQ(run_campaign(options(20, 3), pass), 0);
  auto fail = [](uint64_t seed, bool) {
    SeedReport r;
    r.ok = seed != 17;
    r.failure = "seed 17\tfails\n";
    return r;
  };
  EXPECT_EQ(run_campaign(options(20, 2), fail), 1);
  auto die = [](uint64_t seed, bool) {
    if (seed == 13) std::abort();
    return SeedReport{};
  };
  EXPECT_EQ(run_campaign(options(8, 2), die), 1);
}

TEST(Campaign, Arguments) {
  const char* argv[] = {"x", "--seed", "42", "--jobs", "3", "--direct", "-v"};
  CampaignOptions o;
  o.seeds = 100;
  bool direct = false;
  ASSERT_TRUE(parse_campaign_args(7, const_cast<char**>(argv), o, [&](const std::string& a, int&) {
    direct = a == "--direct";
    return direct;
  }));
  EXPECT_EQ(o.first, 42u);
  EXPECT_EQ(o.seeds, 1u);  // --seed alone: one seed
  EXPECT_EQ(o.jobs, 3u);
  EXPECT_TRUE(o.verbose);
  EXPECT_TRUE(direct);
  const char* bad[] = {"x", "--what"};
  EXPECT_FALSE(parse_campaign_args(2, const_cast<char**>(bad), o, nullptr));
}

}  // namespace
}  // namespace guts::sim
