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
// Decisions that need no I/O live in the pure core: serving admission, candidate order, chunk
// order and bounds, timing (replication/rules.h), and the client's state machine — coalescing of
// ensure() calls, the walk over the candidates, idle and failed attempts, blocking a peer whose
// pack failed verification, retries with backoff until the deadline (replication::Fetcher,
// replication/fetcher.h). This class is the driver: it owns the threads and the I/O, feeds the
// Fetcher its events under one mutex (mu_) and carries out its actions.
//
// Threads and owners (shared state is GUTS_GUARDED_BY one of the mutexes below):
//   transport I/O thread  decodes; Wants go to the serving queue (smu_), chunks, NotFound,
//                         inventories and peer events to the Fetcher (mu_). Never blocks on git.
//   serving pool          git pack-objects for one queued Want each, sends the chunks.
//   checker thread        the Fetcher's first closure check of each new job (has_closure), so
//                         that ensure() never runs git on the caller's (the ledger's) thread.
//   fetching pool         the Fetcher's round checks and attempts: one Want sent, its pack fed
//                         to index-pack from the request's pipe (Feed actions) and verified.
//                         client_threads threads = the Fetcher's max_rounds: never a queue.
//   timer thread          Fetcher::tick at the time it asks for (deadlines, idle attempts,
//                         retries).
// Waiters' callbacks, peer blocking and sends run outside mu_.
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
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/thread_annotations.h"
#include "crypto/ed25519.h"
#include "git/pack_transfer.h"
#include "p2p/transport.h"
#include "replication/fetcher.h"
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
  // Whether `peer` (its authenticated node key) may be served repository `repo_id` and see it
  // named in our inventory (replication::may_share over the state: private repositories go to
  // validators and their seeds only). Empty: every peer. Called from serving threads and on
  // inventory sends; must be thread-safe and not block for long.
  std::function<bool(const crypto::PublicKey& peer, uint64_t repo_id)> may_share;
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

// node::Network, or anything with subscribe, on_peer, transport, listening, validator_keys.
template <typename Net>
concept PortNetwork = requires(Net& n) {
  n.transport();
  n.validator_keys();
};

// Adapts such a network to a Port; `network` must outlive every user of the Port.
template <PortNetwork Net>
Port port_of(Net& network) {
  return Port{&network.transport(),
              [&network](uint64_t ch, Port::Handler h) { network.subscribe(ch, std::move(h)); },
              [&network](Port::PeerHandler h) { network.on_peer(std::move(h)); },
              [&network] { return network.listening(); },
              [&network] {
                auto keys = network.validator_keys();
                return std::vector<crypto::PublicKey>(keys.begin(), keys.end());
              }};
}

class ObjectSync {
 public:
  using Done = std::function<void(bool ok)>;
  using Clock = std::chrono::steady_clock;

  // Subscribes to p2p::channel::kGit and to peer events of `network`: construct before
  // network.start(). Starts its threads.
  ObjectSync(Port port, git::RepoStore& store, ObjectSyncOptions options = {});
  // Over node::Network (port_of); `network` must outlive this object.
  template <PortNetwork Net>
  ObjectSync(Net& network, git::RepoStore& store, ObjectSyncOptions options = {})
      : ObjectSync(port_of(network), store, std::move(options)) {}
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
    uint64_t private_refusals = 0;  // Wants for a private repository from a peer not allowed
    uint64_t attempts = 0;          // Want requests sent
    uint64_t fetches_failed = 0;    // ensure() calls answered false (objects not obtained)
    uint64_t pending_jobs = 0;      // fetch jobs in progress now
  };
  Stats stats() const;

 private:
  struct Pipe;  // one attempt's chunks, from the I/O thread to index-pack
  struct ServeTask {
    crypto::PublicKey peer;
    wire::Want want;
  };
  // What the Fetcher asked for that runs outside mu_.
  struct Later {
    std::vector<std::pair<Done, bool>> dones;
    std::vector<BlockPeer> blocks;
  };
  using Work = std::variant<CheckClosure, StartAttempt>;

  void on_message(const crypto::PublicKey& peer, Bytes payload);
  void on_peer(const crypto::PublicKey& peer, bool up);
  void block_peer(const crypto::PublicKey& peer, const std::string& why);
  // Our inventory as `peer` may see it (opts_.may_share), encoded.
  Bytes inventory_message(const crypto::PublicKey& peer);

  void server_loop();
  void serve(const ServeTask& task);
  // Sends, waiting while the peer's send queue is full; throws guts::Error when it stays full
  // past send_stall_timeout, the peer is gone or we stop.
  void send_reliably(const crypto::PublicKey& peer, ByteView payload);

  // Feeds one event to the Fetcher (under mu_) and carries out its actions.
  template <typename Event>
  void step(Event&& event) GUTS_EXCLUDES(mu_);
  void apply(FetcherActions a, Later& later) GUTS_REQUIRES(mu_);
  void run_later(Later& later) GUTS_EXCLUDES(mu_);
  static uint64_t to_ms(Clock::time_point t);
  static uint64_t now_ms() { return to_ms(Clock::now()); }

  void check_loop();   // first closure checks
  void client_loop();  // round checks and attempts
  void timer_loop();   // Fetcher::tick at its wake time
  void check(const CheckClosure& c);
  void attempt(const StartAttempt& a);

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

  // Fetching: the core and what its actions handed to the threads.
  mutable Mutex mu_;
  std::condition_variable work_cv_;   // checks_ or work_ filled, stop
  std::condition_variable timer_cv_;  // wake_ changed, stop
  std::condition_variable pipe_cv_;   // a pipe was fed, ended or aborted; stop
  Fetcher core_ GUTS_GUARDED_BY(mu_);
  std::map<WaiterId, Done> waiters_ GUTS_GUARDED_BY(mu_);
  WaiterId next_waiter_ GUTS_GUARDED_BY(mu_) = 1;
  std::deque<CheckClosure> checks_ GUTS_GUARDED_BY(mu_);  // first checks (checker thread)
  std::deque<Work> work_ GUTS_GUARDED_BY(mu_);            // fetching pool
  std::map<RequestId, std::shared_ptr<Pipe>> pipes_ GUTS_GUARDED_BY(mu_);
  std::optional<uint64_t> wake_ GUTS_GUARDED_BY(mu_);
  std::vector<std::thread> clients_;
  std::thread timer_;
  std::thread checker_;

  // Our inventory (peers' inventories are the Fetcher's), unfiltered: each peer is sent what it
  // may see (inventory_message).
  mutable Mutex imu_;
  wire::Inventory mine_ GUTS_GUARDED_BY(imu_){true, {}};

  mutable Mutex stats_mu_;
  Stats stats_ GUTS_GUARDED_BY(stats_mu_);
};

}  // namespace guts::replication
