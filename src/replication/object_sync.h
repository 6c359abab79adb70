// Replication of git objects between nodes over p2p (docs/architecture.md §4, §6;
// docs/git.md "Replication"). A repository pushed to any node becomes clonable from every
// other node, byte-identical, and no node exposes refs whose objects it does not hold.
//
// Channel p2p::channel::kGit (4), messages in replication/messages.h:
//
//   client                              server
//   Want{id, repo, wants, haves}  ───►  git pack-objects over repository + push quarantines
//                                 ◄───  PackChunk{id, seq 0..n, last} (≤ 1 MiB each) | NotFound
//   Inventory{hosts_all, repos}   ◄──►  on connect and whenever the seeding policy's set changes
//
// Trust: the refs to fetch come from finalized state (or a block being verified), never from the
// serving peer; every answer is verified by git (index-pack --strict: each object's hash and
// links; rev-list: the wanted tips are complete) in a quarantine before a single object joins
// the repository. A peer whose pack fails verification, or that breaks the protocol (malformed
// message, chunks out of order), is blocked (transport().block) and the next candidate is tried.
//
// Decisions that need no I/O (serving admission, candidate order, chunk order and bounds, when a
// silent candidate gives way) are pure functions and objects in replication/rules.h.
//
// Threads and owners (shared state is GUTS_GUARDED_BY one of the mutexes below):
//   transport I/O thread  decodes; Wants go to the serving queue (smu_), chunks and NotFound to
//                         their request (Inflight::mu), inventories to imu_. Never blocks on git.
//   serving pool          git pack-objects for one queued Want each, sends the chunks.
//   checker thread        has_closure for each new job: done(true) at once when present, else
//                         queues it for the fetching pool. ensure() never runs git on the
//                         caller's (the ledger's) thread.
//   fetching pool         one job (repository + tips, coalesced across callers) per thread, one
//                         candidate peer at a time, index-pack fed from the request's chunks.
//   timer thread          completes waiters whose deadline passed (done(false)).
//
// Dependencies: the driver talks to the node's network through Port (p2p::Transport plus the
// channel and peer subscriptions), so this library does not link the node; the constructor
// template adapts node::Network (or any type with the same members).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "crypto/ed25519.h"
#include "git/pack_transfer.h"
#include "p2p/transport.h"
#include "replication/messages.h"
#include "replication/rules.h"
#include "state/block.h"

namespace guts::git {
class RepoStore;
}

namespace guts::replication {

// Test seam (never set in production): when set, the server sends the bytes it returns instead
// of the pack git would produce for `request` in repository directory `repo_dir` (chunked as
// usual). Throwing guts::Error answers NotFound with its message. Used by tests to play a
// byzantine server that serves bad packs (tests/support/byzantine_packs.h).
using ServeOverride =
    std::function<Bytes(const std::filesystem::path& repo_dir, const git::PackRequest& request)>;

struct ObjectSyncOptions {
  size_t server_threads = 2;
  size_t client_threads = 2;
  // Served or waiting, per peer; more: NotFound "busy". Below server_threads, so that one peer
  // cannot occupy every serving thread.
  size_t max_requests_per_peer = 1;
  size_t max_queued_requests = 64;       // all peers
  uint64_t max_pack_bytes = 1ull << 30;  // served and accepted, per request
  // A candidate that sends nothing for this long (first answer or next chunk): next candidate.
  std::chrono::milliseconds attempt_idle_timeout{10000};
  // Pause after every candidate failed before asking them all again (until the deadline).
  std::chrono::milliseconds retry_backoff{300};
  // Serving: give up on a peer whose send queue stays full this long.
  std::chrono::milliseconds send_stall_timeout{30000};
  // Chunks received but not yet consumed by index-pack, per request; above it the attempt fails.
  size_t max_buffered_bytes = 128 << 20;
  // Test seam, see ServeOverride. Empty in every production build.
  ServeOverride serve_override;
};

// What the driver needs from the node's network (node::Network provides all of it).
struct Port {
  using Handler = std::function<void(const crypto::PublicKey& peer, Bytes payload)>;
  using PeerHandler = std::function<void(const crypto::PublicKey& peer, bool connected)>;
  p2p::Transport* transport = nullptr;
  std::function<void(uint64_t channel, Handler)> subscribe;
  std::function<void(PeerHandler)> on_peer;
  std::function<bool()> listening;
  std::function<std::vector<crypto::PublicKey>()> validator_keys;
};

class ObjectSync {
 public:
  using Done = std::function<void(bool ok)>;
  using Clock = std::chrono::steady_clock;

  // Subscribes to p2p::channel::kGit and to peer events of `network`: construct before
  // network.start(). Starts its threads.
  ObjectSync(Port port, git::RepoStore& store, ObjectSyncOptions options = {});
  // Adapts node::Network (anything with subscribe, on_peer, transport, listening,
  // validator_keys); `network` must outlive this object.
  template <typename Net>
  requires requires(Net& n) {
    n.transport();
    n.validator_keys();
  }
  ObjectSync(Net& network, git::RepoStore& store, ObjectSyncOptions options = {})
      : ObjectSync(
            Port{&network.transport(),
                 [&network](uint64_t ch, Port::Handler h) { network.subscribe(ch, std::move(h)); },
                 [&network](Port::PeerHandler h) { network.on_peer(std::move(h)); },
                 [&network] { return network.listening(); },
                 [&network] {
                   return std::vector<crypto::PublicKey>(network.validator_keys().begin(),
                                                         network.validator_keys().end());
                 }},
            store, std::move(options)) {}
  ~ObjectSync();
  ObjectSync(const ObjectSync&) = delete;
  ObjectSync& operator=(const ObjectSync&) = delete;

  // Stops the threads; waiting callers hear done(false). Messages arriving later are ignored.
  // Call before the network stops. Idempotent.
  void stop();

  // Makes sure every object reachable from `tips` (hex oids) is in repository `repo_id` (its
  // bare repository is created when missing; callers ask only for repositories they host).
  // done(true) — from a fetching thread, never running git on the caller's — when they already are
  // (in the repository or one of its push quarantines). Otherwise asks `hints` first, then the
  // validators, then peers whose inventory lists the repository, one at a time, and retries until
  // `deadline`, when done(false). Concurrent calls for the same repository and tips share one
  // fetch. `done` runs on an ObjectSync thread (or the caller's); it must not block for long.
  void ensure(uint64_t repo_id, std::vector<std::string> tips, std::vector<crypto::PublicKey> hints,
              Clock::time_point deadline, Done done);

  // ensure() for every object a block needs: the non-zero new oids of its UpdateRefs, the
  // merge_sha of its MergePullRequest, per repository. done(true) at once when it needs none.
  void ensure_block(const state::Block& block, std::vector<crypto::PublicKey> hints,
                    Clock::time_point deadline, Done done);
  // The objects `block` needs, hex oids per repository id.
  static std::map<uint64_t, std::vector<std::string>> objects_needed(const state::Block& block);

  // What this node hosts (its seeding policy applied to state), announced to every peer on
  // connect and to connected peers when it changes. `repos` need not be sorted.
  void set_inventory(bool hosts_all, std::vector<uint64_t> repos);
  // Peers whose last inventory lists `repo_id` or hosts everything.
  std::vector<crypto::PublicKey> hosting_peers(uint64_t repo_id) const;

  struct Stats {
    uint64_t requests_served = 0;   // packs sent completely
    uint64_t requests_refused = 0;  // NotFound sent (missing, busy, not hosted, failure)
    uint64_t packs_fetched = 0;     // ingested and migrated
    uint64_t packs_rejected = 0;    // failed verification (peer blocked)
    uint64_t peers_blocked = 0;     // for bad packs or protocol violations
    uint64_t attempts = 0;          // Want requests sent
  };
  Stats stats() const;

 private:
  struct Job;
  struct Inflight;
  struct ServeTask {
    crypto::PublicKey peer;
    wire::Want want;
  };

  void on_message(const crypto::PublicKey& peer, Bytes payload);
  void on_peer(const crypto::PublicKey& peer, bool up);
  void on_chunk(const crypto::PublicKey& peer, wire::PackChunk chunk);
  void on_not_found(const crypto::PublicKey& peer, const wire::NotFound& nf);
  void block_peer(const crypto::PublicKey& peer, const std::string& why);

  void server_loop();
  void serve(const ServeTask& task);
  // Sends, waiting while the peer's send queue is full; throws guts::Error when it stays full
  // past send_stall_timeout, the peer is gone or we stop.
  void send_reliably(const crypto::PublicKey& peer, ByteView payload);

  void client_loop();
  void timer_loop();
  // Runs has_closure for new jobs: done(true) when present, else hands the job to the fetchers.
  void check_loop();
  // One round over the candidates; true when the job should be retried after a pause.
  bool run_round(const std::shared_ptr<Job>& job);
  // One Want to one peer, its pack verified and migrated; true on success.
  bool attempt(const std::shared_ptr<Job>& job, const crypto::PublicKey& peer);
  std::vector<crypto::PublicKey> candidates(const Job& job) const;
  void finish(const std::shared_ptr<Job>& job, bool ok);
  Clock::time_point job_deadline(const Job& job) const;

  Port port_;
  p2p::Transport& transport() { return *port_.transport; }
  git::RepoStore& store_;
  ObjectSyncOptions opts_;
  crypto::PublicKey self_;
  std::atomic<bool> stopping_{false};

  // Serving.
  Mutex smu_;
  std::condition_variable scv_;
  std::deque<ServeTask> squeue_ GUTS_GUARDED_BY(smu_);
  ServeAdmission admission_ GUTS_GUARDED_BY(smu_);  // queued + running, per peer and overall
  std::vector<std::thread> servers_;
  Mutex backoff_mu_;  // send_reliably() pauses, woken by stop()
  std::condition_variable backoff_cv_;

  // Fetching.
  mutable Mutex cmu_;
  std::condition_variable ccv_;  // jobs queued or due, stop
  std::condition_variable tcv_;  // waiter deadlines changed, stop
  std::map<std::pair<uint64_t, std::vector<std::string>>, std::shared_ptr<Job>> jobs_
      GUTS_GUARDED_BY(cmu_);
  std::deque<std::shared_ptr<Job>> cqueue_ GUTS_GUARDED_BY(cmu_);  // checked, not present: to fetch
  std::deque<std::shared_ptr<Job>> checks_
      GUTS_GUARDED_BY(cmu_);  // new: is it here already? (check_loop)
  std::map<uint64_t, std::shared_ptr<Inflight>> inflight_ GUTS_GUARDED_BY(cmu_);  // by request id
  uint64_t next_request_ GUTS_GUARDED_BY(cmu_) = 1;
  std::vector<std::thread> clients_;
  std::thread timer_;
  std::thread checker_;

  // Inventories (ours, and each connected peer's last one).
  mutable Mutex imu_;
  wire::Inventory mine_ GUTS_GUARDED_BY(imu_){true, {}};
  std::map<crypto::PublicKey, wire::Inventory> theirs_ GUTS_GUARDED_BY(imu_);

  mutable Mutex stats_mu_;
  Stats stats_ GUTS_GUARDED_BY(stats_mu_);
};

}  // namespace guts::replication
