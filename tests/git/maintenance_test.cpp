// The maintenance driver (git/maintenance.h) on real bare repositories of a RepoStore, with the
// real git binary: measuring, repacking pushes into a multi-pack index with a bitmap, the
// commit-graph, pausing under load, the per-repository lock.
#include "git/maintenance.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "git/receive.h"
#include "git/repo_store.h"
#include "tests/git/git_test_util.h"

namespace guts::git {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::git_ok;
using testing::TempDir;

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 60s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

// A store with repository "r" that received `pushes` pushes, each leaving its own pack.
struct Fixture {
  TempDir tmp{"maint"};
  RepoStore store{tmp.path / "data"};
  fs::path work = tmp.path / "work";
  fs::path bare;
  int commits = 0;

  explicit Fixture(int pushes) {
    store.create("r");
    bare = store.path_for("r");
    git_ok(bare, {"config", "receive.unpackLimit", "1"});  // every push keeps its pack
    git_ok(tmp.path, {"init", "-q", "-b", "main", work.string()});
    push(pushes);
  }
  void push(int n) {
    for (int i = 0; i < n; ++i, ++commits) {
      std::ofstream(work / ("f" + std::to_string(commits))) << "file " << commits << "\n";
      git_ok(work, {"add", "-A"});
      git_ok(work, {"commit", "-q", "-m", "c" + std::to_string(commits)});
      git_ok(work, {"push", "-q", bare.string(), "main"});
    }
  }
};

MaintenanceOptions fast_options() {
  MaintenanceOptions o;
  o.interval = 200ms;
  o.first_scan_delay = 0ms;
  o.policy.repack_interval = 200ms;
  o.policy.repack_min_gap = 20ms;
  o.policy.commit_graph_interval = 200ms;
  o.policy.failure_backoff = 200ms;
  return o;
}

TEST(Maintenance, MeasuresPacksKeepsQuarantinesAndLooseObjects) {
  Fixture f(3);
  auto s = Maintenance::measure(f.bare);
  EXPECT_EQ(s.packs, 3u);
  EXPECT_EQ(s.packs_since_midx, 3u);
  EXPECT_EQ(s.kept_packs, 0u);
  EXPECT_EQ(s.loose_objects, 0u);
  EXPECT_FALSE(s.has_midx || s.has_bitmap || s.has_commit_graph);

  git_ok(f.bare, {"hash-object", "-w", "--stdin"}, "loose\n");
  auto pack_dir = f.bare / "objects" / "pack";
  for (const auto& e : fs::directory_iterator(pack_dir))
    if (e.path().extension() == ".pack") {
      std::ofstream(fs::path(e.path()).replace_extension(".keep")) << "guts receive 1\n";
      break;
    }
  auto q = Quarantine::create(f.bare);
  s = Maintenance::measure(f.bare);
  EXPECT_EQ(s.packs, 2u);
  EXPECT_EQ(s.kept_packs, 1u);
  EXPECT_EQ(s.loose_objects, 1u);
  EXPECT_EQ(s.quarantines, 1u);
}

TEST(Maintenance, RepacksPushesIntoAMidxWithBitmapAndWritesTheCommitGraph) {
  Fixture f(12);
  auto before = git_ok(f.bare, {"rev-list", "--objects", "--all"});
  Maintenance m(f.store, fast_options());
  m.start();
  auto maintained = [&] {
    auto s = Maintenance::measure(f.bare);
    return s.has_midx && s.has_bitmap && s.packs <= 3 && s.packs_since_midx == 0 &&
           s.has_commit_graph && !s.commit_graph_stale;
  };
  ASSERT_TRUE(wait_for(maintained)) << "packs: " << Maintenance::measure(f.bare).packs;
  // New pushes are noticed and covered again.
  f.push(3);
  m.notify_changed("r");
  ASSERT_TRUE(wait_for(maintained));
  EXPECT_TRUE(wait_for([&] {
    auto st = m.stats();
    return st.by_task.count("commit-graph") > 0 && st.by_task["geometric-repack"].runs >= 2 &&
           st.running == 0;
  }));
  m.stop();
  auto st = m.stats();
  EXPECT_GE(st.by_task["geometric-repack"].runs, 2u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_EQ(st.by_repo["r"].last_error, "");
  EXPECT_GT(st.by_repo["r"].last_run_unix_ms, 0);
  // Nothing lost: every object still there, the repository is consistent.
  git_ok(f.bare, {"fsck", "--strict", "--no-progress"});
  auto after = git_ok(f.bare, {"rev-list", "--objects", "--all"});
  EXPECT_GE(after.size(), before.size());
  EXPECT_EQ(git_ok(f.bare, {"rev-list", "--count", "main"}), "15");
}

TEST(Maintenance, PausesUnderLoadAndResumes) {
  Fixture f(4);
  std::atomic<double> load{10};
  auto o = fast_options();
  o.load = [&] { return load.load(); };
  Maintenance m(f.store, o);
  m.start();
  ASSERT_TRUE(wait_for([&] { return m.stats().paused; }));
  EXPECT_EQ(m.stats().tasks_run, 0u);
  EXPECT_FALSE(Maintenance::measure(f.bare).has_midx);
  load = 0;
  ASSERT_TRUE(wait_for([&] { return Maintenance::measure(f.bare).has_bitmap; }));
  EXPECT_FALSE(m.stats().paused);
}

TEST(Maintenance, ANodeNeverIdleIsMaintainedAfterMaxPause) {
  Fixture f(3);
  auto o = fast_options();
  o.load = [] { return 100.0; };
  o.max_pause = 300ms;
  Maintenance m(f.store, o);
  m.start();
  ASSERT_TRUE(wait_for([&] { return m.stats().tasks_run >= 1; }));
  EXPECT_TRUE(Maintenance::measure(f.bare).has_bitmap);
}

TEST(Maintenance, OneJobPerRepositoryAndStaleLocksCleared) {
  Fixture f(2);
  {
    auto lock = f.store.try_lock_maintenance("r");
    ASSERT_TRUE(lock);
    EXPECT_FALSE(f.store.try_lock_maintenance("r"));
    EXPECT_TRUE(f.store.try_lock_maintenance("other"));
    EXPECT_THROW(f.store.repack("r"), Error);
  }
  EXPECT_TRUE(f.store.try_lock_maintenance("r"));
  // A git killed mid-write leaves multi-pack-index.lock: the next task removes it.
  std::ofstream(f.bare / "objects" / "pack" / "multi-pack-index.lock") << "";
  Maintenance m(f.store, fast_options());
  m.start();
  ASSERT_TRUE(wait_for([&] { return Maintenance::measure(f.bare).has_midx; }));
  EXPECT_FALSE(fs::exists(f.bare / "objects" / "pack" / "multi-pack-index.lock"));
}

TEST(Maintenance, PacksLooseObjectsOverTheLimitAndPrunesOldUnreachableOnes) {
  Fixture f(1);
  // Reachable loose objects (unpackLimit off for one push) and one unreachable.
  git_ok(f.bare, {"config", "receive.unpackLimit", "100"});
  f.push(3);
  git_ok(f.bare, {"hash-object", "-w", "--stdin"}, "unreachable\n");
  auto loose = Maintenance::measure(f.bare).loose_objects;
  ASSERT_GT(loose, 5u);
  auto o = fast_options();
  o.policy.loose_limit = 5;
  o.policy.prune_window = 0ms;  // prune at once (tests only)
  Maintenance m(f.store, o);
  m.start();
  ASSERT_TRUE(wait_for([&] { return Maintenance::measure(f.bare).loose_objects == 0; }));
  ASSERT_TRUE(wait_for([&] { return m.stats().by_task.count("prune") > 0; }));
  m.stop();
  EXPECT_GE(m.stats().by_task["loose-objects"].runs + m.stats().by_task["geometric-repack"].runs,
            1u);
  git_ok(f.bare, {"fsck", "--strict", "--no-progress"});
  EXPECT_EQ(git_ok(f.bare, {"rev-list", "--count", "main"}), "4");
}

TEST(Maintenance, ChangeListenerOfTheStore) {
  TempDir tmp("listener");
  RepoStore store(tmp.path / "data");
  std::vector<std::string> seen;
  store.notify_changed("x");  // no listener: nothing
  store.set_change_listener([&](std::string_view k) { seen.emplace_back(k); });
  store.notify_changed("a");
  store.set_change_listener({});
  store.notify_changed("b");
  EXPECT_EQ(seen, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace guts::git
