#include "git/maintenance_policy.h"

#include <algorithm>
#include <tuple>

namespace guts::git {

std::string_view task_name(MaintenanceTask task) {
  switch (task) {
    case MaintenanceTask::kPackLoose:
      return "loose-objects";
    case MaintenanceTask::kRepack:
      return "geometric-repack";
    case MaintenanceTask::kCommitGraph:
      return "commit-graph";
    case MaintenanceTask::kPrune:
      return "prune";
  }
  return "unknown";
}

MaintenancePolicy::MaintenancePolicy(MaintenancePolicyOptions options) : options_(options) {}

namespace {

// True when `last` is unset or at least `gap` before `now`.
bool elapsed(const std::optional<MaintenancePolicy::Time>& last, MaintenancePolicy::Time now,
             std::chrono::milliseconds gap) {
  return !last || now - *last >= gap;
}

}  // namespace

std::optional<std::pair<MaintenanceTask, std::string>> MaintenancePolicy::due(
    const RepoMaintenanceStats& s, const RepoMaintenanceHistory& h, Time now) const {
  if (h.running || s.empty()) return std::nullopt;
  if (h.last_failure && h.consecutive_failures > 0) {
    auto backoff =
        options_.failure_backoff * (1u << std::min<uint32_t>(h.consecutive_failures - 1, 4));
    if (now - *h.last_failure < backoff) return std::nullopt;
  }
  using T = MaintenanceTask;
  if (s.loose_objects > options_.loose_limit &&
      elapsed(h.last(T::kPackLoose), now, options_.loose_interval))
    return std::pair{T::kPackLoose, std::to_string(s.loose_objects) + " loose objects"};

  // Before the repack, which folds loose objects (unreachable ones too) into a pack. Only loose
  // objects can be pruned; a quarantine means a push or fetch is in flight whose objects may
  // rest on ones that look unreachable now (docs/maintenance.md, "Safety").
  if (s.loose_objects > 0 && s.quarantines == 0 &&
      elapsed(h.last(T::kPrune), now, options_.prune_interval))
    return std::pair{T::kPrune, std::to_string(s.loose_objects) + " loose objects"};

  if (s.packs > 0 && elapsed(h.last(T::kRepack), now, options_.repack_min_gap)) {
    if (!s.has_midx || !s.has_bitmap)
      return std::pair{T::kRepack, std::string(s.has_midx ? "no bitmap" : "no multi-pack index")};
    if (s.packs_since_midx > 0) {
      std::string why =
          std::to_string(s.packs_since_midx) + " pack(s) outside the multi-pack index";
      if (s.packs_since_midx >= options_.repack_pack_limit) return std::pair{T::kRepack, why};
      if (elapsed(h.last(T::kRepack), now, options_.repack_interval))
        return std::pair{T::kRepack, why};
    }
  }

  if ((!s.has_commit_graph || s.commit_graph_stale) &&
      elapsed(h.last(T::kCommitGraph), now, options_.commit_graph_interval))
    return std::pair{T::kCommitGraph,
                     std::string(s.has_commit_graph ? "commit-graph behind" : "no commit-graph")};

  return std::nullopt;
}

std::optional<MaintenanceChoice> MaintenancePolicy::next(
    const std::vector<MaintenanceCandidate>& repos, double load, Time now) const {
  if (paused(load)) return std::nullopt;
  // Sort key: task order, then urgency (descending), then the oldest last task, then key.
  using Key = std::tuple<int, int64_t, Time, std::string_view>;
  std::optional<Key> best_key;
  std::optional<MaintenanceChoice> best;
  for (const auto& r : repos) {
    auto d = due(r.stats, r.history, now);
    if (!d) continue;
    int64_t urgency = 0;
    switch (d->first) {
      case MaintenanceTask::kPackLoose:
      case MaintenanceTask::kPrune:
        urgency = static_cast<int64_t>(r.stats.loose_objects);
        break;
      case MaintenanceTask::kRepack:
        urgency =
            static_cast<int64_t>(r.stats.packs_since_midx) +
            static_cast<int64_t>(std::min<uint64_t>(r.history.changes_since_repack, 1u << 30));
        break;
      case MaintenanceTask::kCommitGraph:
        break;
    }
    Time last = Time::min();
    for (const auto& t : r.history.last_run)
      if (t && *t > last) last = *t;
    Key k{static_cast<int>(d->first), -urgency, last, r.key};
    if (!best_key || k < *best_key) {
      best_key = k;
      best = MaintenanceChoice{r.key, d->first, std::move(d->second)};
    }
  }
  return best;
}

std::vector<std::string> MaintenancePolicy::git_args(MaintenanceTask task) const {
  switch (task) {
    case MaintenanceTask::kPackLoose:
      // Incremental: packs reachable loose objects, then deletes the loose copies. Bitmaps
      // need a full or geometric repack (the repositories set repack.writeBitmaps).
      return {"repack", "-d", "-q", "--no-write-bitmap-index"};
    case MaintenanceTask::kRepack:
      return {"repack", "--geometric=2", "-d", "-q", "--write-midx", "--write-bitmap-index"};
    case MaintenanceTask::kCommitGraph:
      return {"commit-graph", "write", "--reachable", "--split", "--no-progress"};
    case MaintenanceTask::kPrune: {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.prune_window).count();
      return {"prune", "--expire=" + std::to_string(secs) + ".seconds.ago"};
    }
  }
  return {};
}

}  // namespace guts::git
