// Repository maintenance driver (docs/maintenance.md): runs what git::MaintenancePolicy chooses
// on the node's bare repositories, in the background.
//
//   * Threads: `concurrency` worker threads of its own (1 by default), never a request,
//     consensus or commit thread. Each loop: measure the repositories that changed (or all of
//     them once per interval), ask the policy, run one git task, measure again.
//   * Triggers: notify_changed(key) (RepoStore's change listener: the git projection moved the
//     refs of a push, merge or fetch) and a periodic scan every `interval`.
//   * CPU share: git runs under `nice -n 19` and `ionice -c 3` (idle I/O class) when present,
//     with pack.threads bounded; no task starts while load() >= max_load, and a running git is
//     stopped (SIGSTOP) while the load stays that high and continued (SIGCONT) after; after
//     max_pause of continuous load, tasks run anyway (never starved).
//   * Exclusion: RepoStore::try_lock_maintenance per repository; stale lock files a killed git
//     may leave (multi-pack-index.lock, commit-graph-chain.lock) are removed under that lock.
//   * stop(): asks a running git to end (SIGTERM, then SIGKILL after a grace), joins.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "git/maintenance_policy.h"

namespace guts::git {

class RepoStore;

struct MaintenanceOptions {
  // Periodic scan of every repository; also the policy's repack interval.
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  int concurrency = 1;  // git tasks at a time (worker threads)
  MaintenancePolicyOptions policy;
  // The node's load (git transfers in flight + pushes awaiting consensus); empty: always 0.
  // Called from the maintenance threads; must be cheap and thread-safe.
  std::function<double()> load;
  bool low_priority = true;  // nice -n 19, ionice -c 3
  int pack_threads = 1;      // git -c pack.threads=N (delta search threads)
  // Under load for longer than this, tasks run (and are no longer stopped) anyway: a node that
  // is never idle still gets maintained.
  std::chrono::milliseconds max_pause{std::chrono::hours(1)};
  // A task's running time (paused time not counted) before it is killed.
  std::chrono::milliseconds task_timeout{std::chrono::hours(2)};
  // First scan this long after start() (at most `interval`): startup belongs to recovery.
  std::chrono::milliseconds first_scan_delay{std::chrono::seconds(30)};
};

struct MaintenanceTaskStats {
  uint64_t runs = 0;
  uint64_t failures = 0;
  uint64_t total_ms = 0;
  uint64_t max_ms = 0;
};

struct MaintenanceRepoStats {
  std::string last_task;  // task_name()
  int64_t last_run_unix_ms = 0;
  uint64_t last_duration_ms = 0;
  std::string last_error;  // empty: the last task succeeded
  RepoMaintenanceStats measured;
};

struct MaintenanceStats {
  bool paused = false;  // the last decision found the node under load
  uint32_t running = 0;
  uint64_t tasks_run = 0;  // succeeded or failed
  uint64_t failures = 0;
  uint64_t scans = 0;
  std::map<std::string, MaintenanceTaskStats> by_task;  // task_name() -> counters
  std::map<std::string, MaintenanceRepoStats> by_repo;  // repositories a task ran on
};

class Maintenance {
 public:
  Maintenance(RepoStore& store, MaintenanceOptions options);
  ~Maintenance();  // stop()
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  void start();
  // Ends running git tasks (SIGTERM, SIGKILL after 10 s) and joins. Idempotent.
  void stop();
  // A repository changed (refs moved, objects arrived): measure it again soon. Any thread;
  // never blocks on git.
  void notify_changed(std::string_view key);
  // Wakes the workers for a full scan now (tests, operators).
  void scan_now();
  MaintenanceStats stats() const;

  // Measures one bare repository from its files (public for tests).
  static RepoMaintenanceStats measure(const std::filesystem::path& repo_dir);

 private:
  using Time = std::chrono::steady_clock::time_point;
  void worker();
  // Runs `git args` in `dir` at low priority; empty string on success, else the error.
  std::string run_task(const std::filesystem::path& dir, const std::vector<std::string>& args);
  // The load the policy sees: 0 once the node has been under load for max_pause.
  double effective_load(double load, Time now) GUTS_REQUIRES(mu_);

  RepoStore& store_;
  const MaintenanceOptions options_;
  const MaintenancePolicy policy_;
  std::vector<std::string> wrapper_;  // nice/ionice prefix found in PATH
  std::atomic<bool> stopping_{false};

  mutable Mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, MaintenanceCandidate> repos_ GUTS_GUARDED_BY(mu_);
  std::set<std::string> dirty_ GUTS_GUARDED_BY(mu_);
  Time next_scan_ GUTS_GUARDED_BY(mu_);
  bool scanning_ GUTS_GUARDED_BY(mu_) = false;
  std::optional<Time> paused_since_ GUTS_GUARDED_BY(mu_);
  MaintenanceStats stats_ GUTS_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace guts::git
