// The git projection of state: one bare repository per Guts repository (git::RepoStore, key =
// repository id), kept equal to the applied state by a Chain commit listener.
//
//   CreateRepo   -> bare repository created, HEAD -> default branch
//   UpdateRepo   -> HEAD follows the default branch
//   DeleteRepo   -> repository moved to the trash (removed after the grace period)
//   UpdateRefs   -> the push's quarantine (api::PendingPushes) is migrated, then the refs are
//                   moved to exactly the state's values in one `git update-ref` transaction
//   any other transaction naming a repository (`repo_id`, e.g. a pull request merge whose
//   objects were written beforehand) converges that repository's refs the same way; one
//   creating a repository by `name` (a fork, with `parent_id`) creates it, seeded with the
//   parent's objects (hard links)
//
// The listener runs on the committing thread after the block is durable and before the
// submitters hear the outcome, so a push is acknowledged only once its refs moved. Refs in the
// bare repositories only ever show applied state.
//
// Recovery (reconcile_all, at startup before blocks flow): every repository converges to state.
// A crash between a block's commit and the ref move leaves the push's quarantine on disk
// (<repo>/objects/incoming-*); it is migrated if it holds objects the state's refs need. Other
// leftovers (quarantines of pushes that never committed, .keep files) are removed.
//
// Start-up after a clean stop (set_clean_stop_file): the node records at its stop the height the
// repositories were converged to; the next reconcile_all() removes that record first and, when
// it names the chain's height and the same seeding policy, trusts the bare repositories instead
// of visiting each (10,000 repositories took 12.6 s). After a crash there is no record, or it
// names an older height, and every repository is converged.
//
// Replication (issue 6): refs are never moved to objects the repository lacks. When the state's
// refs need objects that are neither in the repository nor in a push quarantine (the push went
// to another node), nor in the local parent of a fork, the repository is marked replicating, its
// refs stay where they were, and ObjectSync fetches the objects from peers; when they arrive
// (or a retry is due) a background thread syncs it again. The commit thread never waits on the
// network. While replicating, git clients get 503 (api::GitHttpOptions::replicating).
//
// Seeding policy (replication/seed_policy.h): only repositories the policy includes get a bare
// repository; others are not created (and moved to the trash when the policy dropped them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/git_routes.h"
#include "git/repo_store.h"
#include "replication/seed_policy.h"
#include "state/chain.h"

namespace guts::replication {
class ObjectSync;
}

namespace guts::node {

using replication::ObjectSync;
using replication::parse_seed_policy;
using replication::SeedPolicy;

class GitProjection {
 public:
  // Validators must pass the default policy (they host every repository).
  GitProjection(state::Chain& chain, git::RepoStore& store, api::PendingPushes& pending,
                SeedPolicy policy = {});
  ~GitProjection();  // stops the background thread; fetches still running are ignored

  // Registers the commit listener (call before blocks flow).
  void attach();
  // Converges every repository with state; adopts leftover quarantines. Call before attach()'s
  // blocks flow (no push may be in flight). Skips the repositories after a clean stop (above).
  void reconcile_all();
  // Where the clean-stop record lives (none: every start converges every repository).
  void set_clean_stop_file(std::filesystem::path file) { clean_stop_file_ = std::move(file); }
  // Writes the record, atomically: call once no block commits any more and no push is in
  // flight. Nothing is written while a repository waits for objects or failed to sync (the
  // next start converges it), nor if reconcile_all() never completed.
  void record_clean_stop();
  // Whether the last reconcile_all() visited every repository (false: a clean stop's record
  // was trusted).
  bool last_reconcile_was_full() const { return last_reconcile_full_; }
  // The listener body (public for tests). Never throws: failures are logged; the next block
  // touching the repository or the next start converges it.
  void on_block(const state::Block& block);

  // Enables replication (before or after reconcile_all): repositories already waiting for
  // objects start fetching, and the inventory (what this node hosts) is announced. `sync` must
  // outlive this projection or be detached with set_object_sync(nullptr) first.
  void set_object_sync(ObjectSync* sync);
  // True while the repository's refs wait for objects being fetched from peers (thread-safe).
  bool replicating(uint64_t repo_id) const;
  // Whether this node hosts the repository under its seeding policy (thread-safe; false for a
  // repository the projection has not seen, unless the policy is "all").
  bool hosts(uint64_t repo_id) const;
  const SeedPolicy& policy() const { return policy_; }

  // How long one fetch may take before it is retried, and the pause before a retry.
  std::chrono::milliseconds fetch_deadline{std::chrono::minutes(10)};
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};

 private:
  // Brings one repository to state: created/removed, HEAD, refs.
  void sync_repo(uint64_t repo_id, uint64_t height, bool recover);
  // Whether this node's policy hosts the repository (read from state only).
  bool should_host(const state::StateView& view, uint64_t repo_id, const state::Repo& repo) const;
  // Removes the clean-stop record; true if it named `height` and this policy.
  bool consume_clean_stop(uint64_t height);
  // The full reconcile: every bare repository converged with state, strays moved to the trash.
  void reconcile_each(const state::StateView& view, uint64_t height, uint64_t next);
  // The objects `want` needs that the repository lacks, after adopting what local sources
  // (push quarantines, a fork's parent) hold. Empty: the refs may move.
  std::set<std::string> gather_objects(uint64_t repo_id, const std::filesystem::path& dir,
                                       const std::set<std::string>& needed, bool recover);
  void set_replicating(uint64_t repo_id, bool on, const std::set<std::string>& missing = {});
  void start_fetch(uint64_t repo_id, std::vector<std::string> tips);
  void publish_inventory();
  void resync_loop();
  void maybe_collect_garbage();

  state::Chain& chain_;
  git::RepoStore& store_;
  api::PendingPushes& pending_;
  const SeedPolicy policy_;
  std::mutex mu_;  // one projection step at a time; guards the members below
  std::chrono::steady_clock::time_point last_gc_{};
  // What each repository was last synced to (refs and default branch), to skip git entirely
  // when a transaction naming the repository changed neither.
  struct Synced {
    std::map<std::string, std::string> refs;
    std::string default_branch;
  };
  std::map<uint64_t, Synced> synced_;
  ObjectSync* sync_ = nullptr;
  std::filesystem::path clean_stop_file_;
  bool reconciled_ = false;  // reconcile_all() completed
  bool last_reconcile_full_ = false;

  // Read by HTTP threads: never held while git runs.
  mutable std::mutex flags_mu_;
  std::set<uint64_t> replicating_;
  std::set<uint64_t> hosted_;  // only maintained when the policy is not "all"

  // Repositories to sync again (objects arrived, or a fetch failed and a retry is due), shared
  // with ObjectSync's callbacks, which may outlive the projection.
  struct Resync {
    std::mutex mu;
    std::condition_variable cv;
    std::map<uint64_t, std::chrono::steady_clock::time_point> due;
    std::set<uint64_t> fetching;  // an ensure() is running
    // The last successful fetch per repository: when, and of which tips.
    std::map<uint64_t, std::pair<std::chrono::steady_clock::time_point, std::vector<std::string>>>
        last_ok;
    bool stop = false;
  };
  std::shared_ptr<Resync> resync_ = std::make_shared<Resync>();
  std::thread resync_thread_;
};

}  // namespace guts::node
