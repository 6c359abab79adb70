// Git over HTTP (smart protocol, v0/v1/v2) and the browse API (GitHub shapes, libgit2 reads).
//
// Routes (each also answers with a ".git" suffix on the repository name):
//   GET  /{owner}/{repo}/info/refs?service=git-upload-pack      repo:read
//   GET  /{owner}/{repo}/info/refs?service=git-receive-pack     repo:write (rule in auth.cpp)
//   POST /{owner}/{repo}/git-upload-pack                        repo:read
//   POST /{owner}/{repo}/git-receive-pack                       repo:write
//
// A push never moves refs (docs/architecture.md §5): the pack lands in a quarantine, the checks
// run, ONE UpdateRefs transaction is submitted on the pusher's behalf, and the request waits
// for its outcome. The quarantine is parked in PendingPushes meanwhile; the git projection
// (node/git_projection.h), a commit listener, takes it when the block that applies the
// transaction commits, migrates it and moves the refs — before the push is acknowledged.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/router.h"
#include "api/services.h"
#include "core/metrics.h"
#include "git/process.h"
#include "git/receive.h"
#include "state/tx.h"

namespace guts::git {
class RepoStore;
}  // namespace guts::git

namespace guts::api {

// The RepoStore key of a Guts repository: its numeric id in decimal.
std::string git_repo_key(uint64_t repo_id);

// Pushes whose UpdateRefs transaction is in consensus. Thread-safe.
class PendingPushes {
 public:
  using Id = uint64_t;
  // Registers a received push before its transaction is submitted.
  Id add(uint64_t repo_id, std::vector<state::RefChange> changes,
         std::shared_ptr<git::IncomingPush> push);
  // Removes and returns a pending push whose transaction carried exactly `changes` for
  // `repo_id` (the projection, when that transaction's block commits); null if none.
  std::shared_ptr<git::IncomingPush> take(uint64_t repo_id,
                                          const std::vector<state::RefChange>& changes);
  // Forgets a push (its outcome is known); its quarantine goes with the last reference.
  void drop(Id id);
  size_t size() const;
  // Node shutdown: pushes waiting for an outcome stop waiting (and answer "ng … shutting down").
  void shutdown() { stopping_ = true; }
  bool stopping() const { return stopping_; }

 private:
  struct Entry {
    uint64_t repo_id = 0;
    std::vector<state::RefChange> changes;
    std::shared_ptr<git::IncomingPush> push;
  };
  mutable std::mutex mu_;
  Id next_ = 1;
  std::map<Id, Entry> entries_;
  std::atomic<bool> stopping_{false};
};

struct GitHttpOptions {
  // How long a push waits for its transaction's outcome before answering `ng … timed out`
  // (the transaction may still apply later; the projection then still finds the quarantine).
  std::chrono::milliseconds push_outcome_timeout{std::chrono::minutes(2)};
  uint64_t max_pack_bytes = 4ull << 30;          // index-pack --max-input-size
  uint64_t max_upload_request_bytes = 64 << 20;  // git-upload-pack request bodies (haves, wants)
  // Seeding policy and replication (node/git_projection.h), by repository id; empty: every
  // repository is hosted and none is replicating. A repository this node does not host answers
  // 404 ("clone it from a node that does"); one whose objects are still being fetched from
  // peers answers 503 with Retry-After, never a broken pack or refs it cannot serve.
  std::function<bool(uint64_t repo_id)> hosts;
  std::function<bool(uint64_t repo_id)> replicating;
  std::chrono::seconds replicating_retry_after{5};
  // guts_git_* counters and histograms (docs/metrics.md); null: counted in a private registry.
  std::shared_ptr<metrics::Registry> metrics;
};

// The write path of one push, shared by smart HTTP and SSH (node/ssh_server.h): receives the
// pack into a quarantine (from `pack`, or straight from `pack_fd` when >= 0: a bidirectional
// stream), checks it, submits ONE UpdateRefs transaction on `who`'s behalf, waits until its
// outcome is final and then writes git's report (inside side-band-64k when negotiated) to
// `out`. The caller has authorized `who` for write on `repo` and read the commands.
struct PushCall {
  Services& svc;
  PendingPushes& pending;
  const GitHttpOptions& opts;
  const Principal& who;
  const state::Repo& repo;
  std::filesystem::path dir;  // the repository's bare directory
  int pack_fd = -1;
};
struct PushResult {
  bool accepted = false;  // every command succeeded
  uint64_t pack_bytes = 0;
};
PushResult run_push(const PushCall& call, git::PushRequest request, git::Source pack,
                    const git::Sink& out);

void add_git_routes(Router& router, Services& services, git::RepoStore& store,
                    PendingPushes& pending, GitHttpOptions options = {});

// /api/v3/repos/{owner}/{repo}/{branches,tags,commits,git/trees,contents,readme,compare,
// tarball,zipball} (browse_routes.cpp).
void add_browse_routes(Router& router, Services& services, git::RepoStore& store);

}  // namespace guts::api
