// One bare git repository per Guts repository, under <data>/repos/<key>.git.
//
// Keys are opaque to this module (the state layer passes its repository id); they must be
// 1..128 characters of [A-Za-z0-9._-], not starting with '.' or '-', so a key maps to exactly one
// directory name and never escapes the store. Creation is atomic (init in a temp dir, then
// rename); deletion moves the repository to <data>/repos-trash/ and collect_garbage() removes it
// after a grace period, so a mistaken or replayed delete can be undone by an operator.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_annotations.h"
#include "git/refs.h"

namespace guts::git {

class RepoStore {
 public:
  // Creates <data_dir>/repos and <data_dir>/repos-trash if missing.
  explicit RepoStore(std::filesystem::path data_dir,
                     std::chrono::seconds trash_grace = std::chrono::hours(24 * 7));

  static bool is_valid_key(std::string_view key);
  // Throws guts::Error(kInvalidArgument) for an invalid key.
  std::filesystem::path path_for(std::string_view key) const;
  bool exists(std::string_view key) const;

  // git init --bare with Guts' configuration (see docs/git.md). Idempotent for the state
  // machine's replays: an existing repository is left as is and false returned.
  bool create(std::string_view key, std::string_view default_branch = "main");
  // Moves the repository to the trash; false if it did not exist.
  bool remove(std::string_view key, std::chrono::system_clock::time_point now);
  // Deletes trashed repositories older than the grace period; returns how many.
  size_t collect_garbage(std::chrono::system_clock::time_point now);
  // Keys of all repositories, sorted.
  std::vector<std::string> list() const;

  std::vector<Ref> list_refs(std::string_view key) const;
  std::optional<std::string> resolve(std::string_view key, std::string_view ref) const;
  // Sets HEAD to refs/heads/<branch> (the repository's default branch).
  void set_default_branch(std::string_view key, std::string_view branch);
  // `git repack -a -d -b` (+ bitmaps, keeps unreachable objects loose for gc's prune window),
  // then `git pack-refs --all`. For maintenance; safe during pushes (pushed packs carry .keep).
  // Takes the maintenance lock: Error(kUnavailable) while a maintenance task runs on `key`.
  void repack(std::string_view key);

  // At most one maintenance job per repository (git/maintenance.h, repack()): held while git
  // repack, commit-graph or prune run. Pushes, fetches and clones never wait for it: git's
  // repack and prune are safe against concurrent readers and against new packs arriving
  // (docs/maintenance.md, "Safety").
  class MaintenanceLock {
   public:
    MaintenanceLock(MaintenanceLock&& o) noexcept : store_(o.store_), key_(std::move(o.key_)) {
      o.store_ = nullptr;
    }
    MaintenanceLock& operator=(MaintenanceLock&&) = delete;
    MaintenanceLock(const MaintenanceLock&) = delete;
    ~MaintenanceLock();

   private:
    friend class RepoStore;
    MaintenanceLock(RepoStore* store, std::string key) : store_(store), key_(std::move(key)) {}
    RepoStore* store_;
    std::string key_;
  };
  // nullopt while another maintenance job holds the repository.
  std::optional<MaintenanceLock> try_lock_maintenance(std::string_view key);

  // "Repository changed" notices (refs moved, objects arrived): the git projection calls
  // notify_changed() after moving a repository's refs; the listener (maintenance) must be cheap
  // and must not block or call back into the store. It runs under the store's lock: once
  // set_change_listener({}) returned, the old listener is never called again.
  void set_change_listener(std::function<void(std::string_view key)> listener);
  void notify_changed(std::string_view key);

  const std::filesystem::path& repos_dir() const { return repos_; }
  const std::filesystem::path& trash_dir() const { return trash_; }

 private:
  std::filesystem::path repos_;
  std::filesystem::path trash_;
  std::chrono::seconds grace_;
  Mutex mu_;
  std::set<std::string> maintaining_ GUTS_GUARDED_BY(mu_);
  std::function<void(std::string_view)> change_listener_ GUTS_GUARDED_BY(mu_);
};

}  // namespace guts::git
