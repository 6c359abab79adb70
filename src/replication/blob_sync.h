// Replication of content-addressed blobs (Git LFS objects, release assets; docs/blobs.md
// "Replication") between nodes, like ObjectSync for git objects: before a validator votes for
// a block, and after a full node applies one, it holds every blob state::blob_refs(block) names
// (for the repositories it hosts), fetched from peers and verified before it becomes visible.
//
// Channel p2p::channel::kBlobs (8), messages in replication/blob_sync_messages.h:
//
//   client                                   server
//   BlobGet{id, repo, sha, offset, len} ───► BlobStore::read_range (serving thread)
//                                       ◄─── BlobData{id, total, bytes} | BlobMissing{id, why}
//
// The client pulls one chunk at a time (≤ 1 MiB) from one candidate, streaming the bytes into a
// BlobStore::Writer; commit() checks the size and SHA-256 named by state, so a blob is visible
// only once verified. Trust: which blobs to fetch, their ids and sizes come from state (the block
// being verified), never from the serving peer. A peer whose bytes fail verification, or that
// breaks the protocol (wrong size or range), is blocked (transport().block) and the next
// candidate is asked. Private repositories' blobs are served only to the peers `may_share`
// allows (validators and the repository's seeds, replication::may_share); others are answered
// BlobMissing "not hosted" (no existence leak).
//
// Decisions without I/O are the pure core (replication/blob_sync_core.h: BlobFetch,
// serve_length; candidate order: replication::candidate_order). This class is the driver.
//
// Threads and owners:
//   transport I/O thread  decodes; BlobGets go to the serving queue (smu_), answers to the
//                         waiting request's slot (mu_). Never touches the disk.
//   serving thread        one queued BlobGet at a time: read_range, send.
//   fetching threads      one ensure() job each: for every missing blob, the BlobFetch walk
//                         (send, wait for the answer on cv_ with the idle timeout, write).
// Callbacks run on a fetching thread (or the caller's when nothing is missing), outside the
// mutexes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "crypto/ed25519.h"
#include "replication/blob_sync_core.h"
#include "replication/blob_sync_messages.h"
#include "replication/object_sync.h"  // Port
#include "state/blob_refs.h"
#include "state/block.h"
#include "storage/blob_store.h"

namespace guts::replication {

struct BlobSyncOptions {
  size_t client_threads = 2;
  size_t chunk_bytes = blobwire::kMaxBlobChunk;
  size_t max_queued_requests = 64;  // serving queue, all peers; more: BlobMissing "busy"
  size_t max_requests_per_peer = 8;
  // A candidate that does not answer a BlobGet within this time: next candidate.
  std::chrono::milliseconds idle_timeout{10000};
  // Pause after every candidate failed before asking them all again (until the deadline).
  std::chrono::milliseconds retry_backoff{300};
  uint64_t max_blob_bytes = 1ull << 40;  // a blob larger than this is never fetched
  // Whether `peer` may be served blobs of repository `repo_id` (as ObjectSyncOptions::may_share).
  // Empty: every peer.
  std::function<bool(const crypto::PublicKey& peer, uint64_t repo_id)> may_share;
  // Peers announcing that they host `repo_id` (ObjectSync::hosting_peers). Empty: none.
  std::function<std::vector<crypto::PublicKey>(uint64_t repo_id)> hosting;
};

class BlobSync {
 public:
  using Done = std::function<void(bool ok)>;
  using Clock = std::chrono::steady_clock;

  // Subscribes to p2p::channel::kBlobs and to peer events: construct before the network starts.
  BlobSync(Port port, storage::BlobStore& store, BlobSyncOptions options = {});
  // Over node::Network (port_of); `network` must outlive this object.
  template <PortNetwork Net>
  BlobSync(Net& network, storage::BlobStore& store, BlobSyncOptions options = {})
      : BlobSync(port_of(network), store, std::move(options)) {}
  ~BlobSync();
  BlobSync(const BlobSync&) = delete;
  BlobSync& operator=(const BlobSync&) = delete;

  // Stops the threads; waiting callers hear done(false). Call before the network stops.
  void stop();

  // Makes sure every blob in `refs` is in the store: done(true) at once when they are; else
  // fetches the missing ones (hints first, then validators, then peers hosting the repository)
  // and retries until `deadline`, when done(false).
  void ensure(std::vector<state::BlobRef> refs, std::vector<crypto::PublicKey> hints,
              Clock::time_point deadline, Done done);
  // ensure() for state::blob_refs(block).
  void ensure_block(const state::Block& block, std::vector<crypto::PublicKey> hints,
                    Clock::time_point deadline, Done done);

  struct Stats {
    uint64_t chunks_served = 0;
    uint64_t requests_refused = 0;  // BlobMissing sent
    uint64_t blobs_fetched = 0;     // verified and stored
    uint64_t blobs_rejected = 0;    // failed verification (peer blocked)
    uint64_t peers_blocked = 0;
    uint64_t private_refusals = 0;
    uint64_t fetches_failed = 0;  // ensure() answered false
  };
  Stats stats() const;

 private:
  struct Job {
    std::vector<state::BlobRef> refs;
    std::vector<crypto::PublicKey> hints;
    Clock::time_point deadline;
    Done done;
  };
  struct Slot {  // one outstanding BlobGet
    crypto::PublicKey peer{};
    bool answered = false;
    bool failed = false;  // BlobMissing, peer gone, stop
    bool violation = false;
    blobwire::BlobData data;
  };
  struct ServeTask {
    crypto::PublicKey peer;
    blobwire::BlobGet get;
  };

  void on_message(const crypto::PublicKey& peer, Bytes payload);
  void on_peer(const crypto::PublicKey& peer, bool up);
  void block_peer(const crypto::PublicKey& peer, const std::string& why);
  void server_loop();
  void serve(const ServeTask& t);
  void client_loop();
  bool run_job(const Job& job);
  // One round over the candidates for one blob; true when stored.
  bool fetch_one(const state::BlobRef& ref, const std::vector<crypto::PublicKey>& hints,
                 Clock::time_point deadline);

  Port port_;
  p2p::Transport& transport() { return *port_.transport; }
  storage::BlobStore& store_;
  BlobSyncOptions opts_;
  crypto::PublicKey self_;
  std::atomic<bool> stopping_{false};

  Mutex smu_;
  std::condition_variable scv_;
  std::deque<ServeTask> squeue_ GUTS_GUARDED_BY(smu_);
  std::map<crypto::PublicKey, size_t> per_peer_ GUTS_GUARDED_BY(smu_);
  std::thread server_;

  mutable Mutex mu_;
  std::condition_variable cv_;  // a slot answered, a job queued, stop
  std::deque<Job> jobs_ GUTS_GUARDED_BY(mu_);
  std::map<uint64_t, std::shared_ptr<Slot>> slots_ GUTS_GUARDED_BY(mu_);
  uint64_t next_request_ GUTS_GUARDED_BY(mu_) = 1;
  std::vector<std::thread> clients_;

  mutable Mutex stats_mu_;
  Stats stats_ GUTS_GUARDED_BY(stats_mu_);
};

}  // namespace guts::replication
