// Repository maintenance policy (docs/maintenance.md): which git housekeeping task to run on
// which bare repository next. A pure core: no threads, clock, files or processes. The driver
// (git/maintenance.h) measures the repositories (file listings only), remembers what it ran,
// passes the time and the node's load, and runs the task this returns.
//
// Tasks, most urgent first:
//   loose-objects     `git repack -d --no-write-bitmap-index`: loose objects over a limit
//   prune             `git prune --expire=<window>`: unreachable loose objects older than the
//                     window; never while a push or fetch has a quarantine in the repository
//   geometric-repack  `git repack --geometric=2 -d --write-midx --write-bitmap-index`: packs
//                     left by pushes roll up into a geometric progression, one multi-pack index
//                     with a reachability bitmap covers them all (what makes clones cheap)
//   commit-graph      `git commit-graph write --reachable --split`: history walks (negotiation,
//                     merge bases, browse) without inflating commits
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guts::git {

enum class MaintenanceTask { kPackLoose, kPrune, kRepack, kCommitGraph };  // most urgent first
inline constexpr int kMaintenanceTaskCount = 4;
// "loose-objects", "prune", "geometric-repack", "commit-graph".
std::string_view task_name(MaintenanceTask task);

// What the driver measured of one repository, from file names and times alone (no git run).
struct RepoMaintenanceStats {
  uint32_t packs = 0;             // packs without a .keep
  uint32_t kept_packs = 0;        // packs with a .keep (a push being applied): left alone
  uint32_t packs_since_midx = 0;  // unkept packs newer than the multi-pack index (all if none)
  uint64_t loose_objects = 0;
  uint32_t quarantines = 0;  // objects/incoming-*: pushes or fetches in flight
  bool has_midx = false;
  bool has_bitmap = false;
  bool has_commit_graph = false;
  bool commit_graph_stale = false;  // a pack or loose object is newer than the commit-graph
  bool empty() const { return packs + kept_packs == 0 && loose_objects == 0; }
};

// What the driver remembers of one repository. Times are the driver's monotonic clock.
struct RepoMaintenanceHistory {
  using Time = std::chrono::steady_clock::time_point;
  uint64_t changes_since_repack = 0;  // "repository changed" notices (pushes, merges, fetches)
  std::optional<Time> last_run[kMaintenanceTaskCount];  // by MaintenanceTask
  std::optional<Time> last_failure;
  uint32_t consecutive_failures = 0;
  bool running = false;  // a task runs on it now
  std::optional<Time> last(MaintenanceTask t) const { return last_run[static_cast<int>(t)]; }
};

struct MaintenancePolicyOptions {
  using Duration = std::chrono::milliseconds;
  // A repository with packs the multi-pack index does not cover is repacked at most once per
  // interval, sooner (but not within min_gap of the last repack) once pack_limit piled up.
  Duration repack_interval = std::chrono::minutes(10);
  Duration repack_min_gap = std::chrono::minutes(1);
  uint32_t repack_pack_limit = 16;
  Duration commit_graph_interval = std::chrono::hours(1);
  uint64_t loose_limit = 1000;
  Duration loose_interval = std::chrono::minutes(10);  // unreachable loose objects stay loose
  Duration prune_interval = std::chrono::hours(24);
  // Unreachable loose objects younger than this are kept (git gc's default: two weeks).
  Duration prune_window = std::chrono::hours(24 * 14);
  // After a failure the repository waits backoff, doubled per consecutive failure (up to 16x).
  Duration failure_backoff = std::chrono::minutes(10);
  // No task starts while the node's load (git transfers in flight, pushes awaiting consensus)
  // is at or above this.
  double max_load = 4;
};

struct MaintenanceChoice {
  std::string key;  // RepoStore key
  MaintenanceTask task = MaintenanceTask::kRepack;
  std::string reason;  // for the log: "12 packs outside the multi-pack index", …
};

// One repository as the policy sees it.
struct MaintenanceCandidate {
  std::string key;
  RepoMaintenanceStats stats;
  RepoMaintenanceHistory history;
};

class MaintenancePolicy {
 public:
  using Time = RepoMaintenanceHistory::Time;
  explicit MaintenancePolicy(MaintenancePolicyOptions options = {});

  // The most urgent task due on one repository at `now`, with its reason; nullopt: none.
  std::optional<std::pair<MaintenanceTask, std::string>> due(const RepoMaintenanceStats& stats,
                                                             const RepoMaintenanceHistory& history,
                                                             Time now) const;
  // The task to start next on the node: nullopt when paused (load >= max_load) or nothing is
  // due. Deterministic: by task (the order above), then urgency (more packs or loose objects),
  // then the repository waiting longest since its last task, then key.
  std::optional<MaintenanceChoice> next(const std::vector<MaintenanceCandidate>& repos, double load,
                                        Time now) const;
  bool paused(double load) const { return load >= options_.max_load; }
  // git's arguments for a task (after `git`), e.g. {"repack", "--geometric=2", …}.
  std::vector<std::string> git_args(MaintenanceTask task) const;
  const MaintenancePolicyOptions& options() const { return options_; }

 private:
  MaintenancePolicyOptions options_;
};

}  // namespace guts::git
