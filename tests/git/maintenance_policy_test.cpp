// The repository maintenance policy (git/maintenance_policy.h): pure, time passed in.
#include "git/maintenance_policy.h"

#include <gtest/gtest.h>

namespace guts::git {
namespace {

using namespace std::chrono_literals;
using T = MaintenanceTask;
using Time = MaintenancePolicy::Time;

const Time t0 = Time{} + 1000h;

MaintenancePolicyOptions opts() {
  MaintenancePolicyOptions o;
  o.repack_interval = 10min;
  o.repack_min_gap = 1min;
  o.repack_pack_limit = 16;
  o.commit_graph_interval = 1h;
  o.loose_limit = 100;
  o.loose_interval = 10min;
  o.prune_interval = 24h;
  o.prune_window = 14 * 24h;
  o.failure_backoff = 10min;
  o.max_load = 4;
  return o;
}

// A maintained repository: one pack under a midx with a bitmap, a fresh commit-graph.
RepoMaintenanceStats maintained() {
  RepoMaintenanceStats s;
  s.packs = 1;
  s.has_midx = s.has_bitmap = s.has_commit_graph = true;
  return s;
}

std::optional<T> due_task(const MaintenancePolicy& p, const RepoMaintenanceStats& s,
                          const RepoMaintenanceHistory& h, Time now) {
  auto d = p.due(s, h, now);
  if (!d) return std::nullopt;
  return d->first;
}

TEST(MaintenancePolicy, MaintainedRepositoryNeedsNothing) {
  MaintenancePolicy p(opts());
  EXPECT_FALSE(p.due(maintained(), {}, t0));
  EXPECT_FALSE(p.due(RepoMaintenanceStats{}, {}, t0)) << "an empty repository";
}

TEST(MaintenancePolicy, FirstRepackWritesMidxAndBitmap) {
  MaintenancePolicy p(opts());
  RepoMaintenanceStats s;
  s.packs = 1;
  s.packs_since_midx = 1;
  auto d = p.due(s, {}, t0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, T::kRepack);
  EXPECT_EQ(d->second, "no multi-pack index");
  s.has_midx = true;
  s.packs_since_midx = 0;
  EXPECT_EQ(due_task(p, s, {}, t0), T::kRepack) << "midx without bitmap";
  // Not twice within the minimum gap (a repack that could not write a bitmap does not spin).
  RepoMaintenanceHistory h;
  h.last_run[static_cast<int>(T::kRepack)] = t0;
  s.has_commit_graph = true;
  EXPECT_FALSE(p.due(s, h, t0 + 30s));
  EXPECT_EQ(due_task(p, s, h, t0 + 1min), T::kRepack);
}

TEST(MaintenancePolicy, NewPacksWaitForTheIntervalUnlessTheyPileUp) {
  MaintenancePolicy p(opts());
  auto s = maintained();
  s.packs = 4;
  s.packs_since_midx = 3;
  RepoMaintenanceHistory h;
  h.last_run[static_cast<int>(T::kRepack)] = t0;
  h.changes_since_repack = 3;
  EXPECT_FALSE(p.due(s, h, t0 + 5min));
  EXPECT_EQ(due_task(p, s, h, t0 + 10min), T::kRepack);
  // 16 new packs: after the minimum gap only.
  s.packs = 17;
  s.packs_since_midx = 16;
  EXPECT_FALSE(p.due(s, h, t0 + 59s));
  auto d = p.due(s, h, t0 + 1min);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, T::kRepack);
  EXPECT_EQ(d->second, "16 pack(s) outside the multi-pack index");
  // Never repacked since this driver started: due at once.
  s.packs_since_midx = 1;
  EXPECT_EQ(due_task(p, s, {}, t0), T::kRepack);
}

TEST(MaintenancePolicy, KeptPacksAloneAreNotRepacked) {
  MaintenancePolicy p(opts());
  RepoMaintenanceStats s;
  s.kept_packs = 2;  // a push being applied: its pack is not ours to move yet
  s.has_commit_graph = true;
  EXPECT_FALSE(p.due(s, {}, t0));
}

TEST(MaintenancePolicy, CommitGraphWhenMissingOrBehindAtMostHourly) {
  MaintenancePolicy p(opts());
  auto s = maintained();
  s.has_commit_graph = false;
  auto d = p.due(s, {}, t0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, T::kCommitGraph);
  EXPECT_EQ(d->second, "no commit-graph");
  s.has_commit_graph = true;
  s.commit_graph_stale = true;
  RepoMaintenanceHistory h;
  h.last_run[static_cast<int>(T::kCommitGraph)] = t0;
  EXPECT_FALSE(p.due(s, h, t0 + 59min));
  EXPECT_EQ(due_task(p, s, h, t0 + 1h), T::kCommitGraph);
}

TEST(MaintenancePolicy, LooseObjectsOverTheLimitArePackedFirst) {
  MaintenancePolicy p(opts());
  auto s = maintained();
  s.packs_since_midx = 20;
  s.packs = 21;
  s.loose_objects = 101;
  EXPECT_EQ(due_task(p, s, {}, t0), T::kPackLoose) << "before the repack";
  // Unreachable loose objects survive `repack -d`: not again before loose_interval.
  RepoMaintenanceHistory h;
  h.last_run[static_cast<int>(T::kPackLoose)] = t0;
  EXPECT_EQ(due_task(p, s, h, t0 + 1min), T::kPrune) << "loose objects: prune before the repack";
  h.last_run[static_cast<int>(T::kPrune)] = t0;
  EXPECT_EQ(due_task(p, s, h, t0 + 1min), T::kRepack);
  EXPECT_EQ(due_task(p, s, h, t0 + 10min), T::kPackLoose);
  s.loose_objects = 100;
  EXPECT_EQ(due_task(p, s, h, t0 + 10min), T::kRepack) << "at the limit: no loose pack";
}

TEST(MaintenancePolicy, PruneOnlyLooseObjectsWithoutQuarantinesAndDaily) {
  MaintenancePolicy p(opts());
  auto s = maintained();
  EXPECT_FALSE(p.due(s, {}, t0)) << "nothing loose: nothing to prune";
  s.loose_objects = 5;
  EXPECT_EQ(due_task(p, s, {}, t0), T::kPrune);
  s.quarantines = 1;  // a push or fetch in flight
  EXPECT_FALSE(p.due(s, {}, t0));
  s.quarantines = 0;
  RepoMaintenanceHistory h;
  h.last_run[static_cast<int>(T::kPrune)] = t0;
  EXPECT_FALSE(p.due(s, h, t0 + 23h));
  EXPECT_EQ(due_task(p, s, h, t0 + 24h), T::kPrune);
}

TEST(MaintenancePolicy, PruneWindowIsTheExpiry) {
  auto o = opts();
  EXPECT_EQ(MaintenancePolicy(o).git_args(T::kPrune),
            (std::vector<std::string>{"prune", "--expire=1209600.seconds.ago"}));
  o.prune_window = 1h;
  EXPECT_EQ(MaintenancePolicy(o).git_args(T::kPrune)[1], "--expire=3600.seconds.ago");
  EXPECT_EQ(MaintenancePolicy(o).git_args(T::kRepack),
            (std::vector<std::string>{"repack", "--geometric=2", "-d", "-q", "--write-midx",
                                      "--write-bitmap-index"}));
  EXPECT_EQ(MaintenancePolicy(o).git_args(T::kCommitGraph)[0], "commit-graph");
  EXPECT_EQ(MaintenancePolicy(o).git_args(T::kPackLoose),
            (std::vector<std::string>{"repack", "-d", "-q", "--no-write-bitmap-index"}));
}

TEST(MaintenancePolicy, RunningAndFailedRepositoriesWait) {
  MaintenancePolicy p(opts());
  RepoMaintenanceStats s;
  s.packs = 3;
  RepoMaintenanceHistory h;
  h.running = true;
  EXPECT_FALSE(p.due(s, h, t0));
  h.running = false;
  h.last_failure = t0;
  h.consecutive_failures = 1;
  EXPECT_FALSE(p.due(s, h, t0 + 9min));
  EXPECT_TRUE(p.due(s, h, t0 + 10min));
  h.consecutive_failures = 3;  // 10 min × 4
  EXPECT_FALSE(p.due(s, h, t0 + 39min));
  EXPECT_TRUE(p.due(s, h, t0 + 40min));
  h.consecutive_failures = 30;  // capped at 16×
  EXPECT_TRUE(p.due(s, h, t0 + 160min));
}

TEST(MaintenancePolicy, NextPausesUnderLoad) {
  MaintenancePolicy p(opts());
  RepoMaintenanceStats s;
  s.packs = 2;
  std::vector<MaintenanceCandidate> repos{{"a", s, {}}};
  EXPECT_TRUE(p.next(repos, 3.9, t0));
  EXPECT_FALSE(p.next(repos, 4, t0));
  EXPECT_TRUE(p.paused(4));
  EXPECT_FALSE(p.next({}, 0, t0));
}

TEST(MaintenancePolicy, NextOrdersByTaskThenUrgencyThenAgeThenKey) {
  MaintenancePolicy p(opts());
  auto graphless = maintained();
  graphless.has_commit_graph = false;
  auto few = maintained();
  few.packs = 3;
  few.packs_since_midx = 2;
  auto many = few;
  many.packs = 9;
  many.packs_since_midx = 8;
  auto loose = maintained();
  loose.loose_objects = 500;

  std::vector<MaintenanceCandidate> repos{
      {"graph", graphless, {}}, {"few", few, {}}, {"many", many, {}}, {"loose", loose, {}}};
  auto c = p.next(repos, 0, t0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->key, "loose");
  EXPECT_EQ(c->task, T::kPackLoose);
  repos.pop_back();
  c = p.next(repos, 0, t0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->key, "many") << "more packs outside the midx first";
  EXPECT_EQ(c->task, T::kRepack);
  repos.erase(repos.begin() + 2);
  EXPECT_EQ(p.next(repos, 0, t0)->key, "few");
  repos.erase(repos.begin() + 1);
  EXPECT_EQ(p.next(repos, 0, t0)->key, "graph");

  // Equal urgency: the repository that waited longest, then the key.
  RepoMaintenanceHistory recent;
  recent.last_run[static_cast<int>(T::kCommitGraph)] = t0 - 2h;
  RepoMaintenanceHistory older;
  older.last_run[static_cast<int>(T::kCommitGraph)] = t0 - 3h;
  std::vector<MaintenanceCandidate> tie{{"a", graphless, recent}, {"b", graphless, older}};
  EXPECT_EQ(p.next(tie, 0, t0)->key, "b");
  tie[1].history = recent;
  EXPECT_EQ(p.next(tie, 0, t0)->key, "a");
}

TEST(MaintenancePolicy, TaskNames) {
  EXPECT_EQ(task_name(T::kPackLoose), "loose-objects");
  EXPECT_EQ(task_name(T::kRepack), "geometric-repack");
  EXPECT_EQ(task_name(T::kCommitGraph), "commit-graph");
  EXPECT_EQ(task_name(T::kPrune), "prune");
}

}  // namespace
}  // namespace guts::git
