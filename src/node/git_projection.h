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
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/git_routes.h"
#include "git/repo_store.h"
#include "state/chain.h"

namespace guts::node {

class GitProjection {
 public:
  GitProjection(state::Chain& chain, git::RepoStore& store, api::PendingPushes& pending);

  // Registers the commit listener (call before blocks flow).
  void attach();
  // Converges every repository with state; adopts leftover quarantines. Call before attach()'s
  // blocks flow (no push may be in flight).
  void reconcile_all();
  // The listener body (public for tests). Never throws: failures are logged; the next block
  // touching the repository or the next start converges it.
  void on_block(const state::Block& block);

 private:
  // Brings one repository to state: created/removed, HEAD, refs. `keeps` collects .keep files
  // of migrated packs, removed once refs point at their objects.
  void sync_repo(uint64_t repo_id, uint64_t height, bool recover);
  void maybe_collect_garbage();

  state::Chain& chain_;
  git::RepoStore& store_;
  api::PendingPushes& pending_;
  std::mutex mu_;  // one projection step at a time; guards the members below
  std::chrono::steady_clock::time_point last_gc_{};
  // What each repository was last synced to (refs and default branch), to skip git entirely
  // when a transaction naming the repository changed neither.
  struct Synced {
    std::map<std::string, std::string> refs;
    std::string default_branch;
  };
  std::map<uint64_t, Synced> synced_;
  std::map<uint64_t, uint64_t> seed_from_;  // new fork -> parent, until created
};

}  // namespace guts::node
