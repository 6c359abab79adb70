// The client side of replication as a pure state machine (issue 12; modelled on
// consensus/engine.h and ledger/core.h): which objects to fetch from whom, when an attempt gives
// way, which peer to block, when to retry and when to give up. No threads, sockets, clocks or
// git inside: every event is a method taking the time (steady milliseconds) as an argument, and
// returns the FetcherActions the driver must carry out. The driver is replication::ObjectSync
// (git, transport, threads); the whole-node simulator (runtime/sim) is another.
//
// A job is one repository and the tips it must hold, shared by every ensure() asking for them
// (coalescing); each caller is a waiter with its own deadline. A job's life:
//
//   ensure ──► CheckClosure{first} ──present──► Complete(ok) for every waiter
//                    │ absent
//                    ▼
//   queued (due at not_before) ──a round slot is free──► CheckClosure{round}
//                    ▲                                     │ absent: candidates =
//                    │                                     │ hints, validators, hosting peers
//                    │ every candidate failed:             ▼
//                    └── not_before = now + backoff ◄── StartAttempt to the next candidate
//                                                          │ chunks ─► Feed, NotFound/idle/
//                                                          │ disconnect/overflow ─► Abort,
//                                                          │ out of order ─► BlockPeer + Abort
//                                                          ▼
//                              verified(ok) ─► Complete(ok); verified(bad pack) ─► BlockPeer,
//                              next candidate; verified(failed) / unsent ─► next candidate
//
// A waiter whose deadline passed hears Complete(false) (tick); a job without waiters is
// cancelled (its attempt aborted) and forgotten once the driver reports back. At most
// `max_rounds` jobs are in a round (checking or attempting) at once: a job waiting to retry
// holds no slot.
//
// Driver contract (call everything on ONE thread or under one mutex):
//   - CheckClosure: are `tips` and everything they reach in the repository (or its push
//     quarantines)? When !first, create the repository first if missing. Answer
//     closure_checked(job, present); an error counts as absent.
//   - StartAttempt: if the peer is not connected or is blocked, or the Want cannot be sent,
//     answer unsent(request). Else send Want{request, repo, tips, haves} and start verifying
//     (index-pack fed by the Feed actions of this request, in order; `last` = end of input),
//     reporting consumed(request, n) as it takes n buffered bytes, and finally
//     verified(request, result). After Abort(request) the verification must stop reading and
//     report verified(request, kFailed) (or its own result, if it had finished).
//   - BlockPeer: block the peer at the transport. Complete: call that waiter's callback.
//   - call tick(now) once now >= `wake` of the last Actions (nullopt: no tick needed).
//   - peer(peer, up) and inventory(peer, inv) as the network reports them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "replication/messages.h"
#include "replication/rules.h"

namespace guts::replication {

using JobId = uint64_t;
using RequestId = uint64_t;
using WaiterId = uint64_t;

struct FetcherOptions {
  crypto::PublicKey self{};
  size_t max_rounds = 2;  // jobs in a round at once (ObjectSyncOptions::client_threads)
  uint64_t max_pack_bytes = 1ull << 30;
  size_t max_buffered_bytes = 128 << 20;
  uint64_t attempt_idle_ms = 10000;
  uint64_t retry_backoff_ms = 300;
};

struct CheckClosure {
  JobId job = 0;
  uint64_t repo_id = 0;
  std::vector<std::string> tips;  // sorted, unique, valid hex oids
  bool first = true;              // false: a round starts (create the repository if missing)
};
struct StartAttempt {
  JobId job = 0;
  RequestId request = 0;
  crypto::PublicKey peer{};
  uint64_t repo_id = 0;
  std::vector<std::string> tips;
};
struct Feed {
  RequestId request = 0;
  Bytes data;
  bool last = false;
};
struct Abort {
  RequestId request = 0;
  std::string reason;
};
struct BlockPeer {
  crypto::PublicKey peer{};
  std::string why;
};
struct Complete {
  WaiterId waiter = 0;
  bool ok = false;
};

struct FetcherActions {
  std::vector<CheckClosure> checks;
  std::vector<StartAttempt> attempts;
  std::vector<Feed> feeds;
  std::vector<Abort> aborts;
  std::vector<BlockPeer> blocks;
  std::vector<Complete> completes;
  std::optional<uint64_t> wake;  // call tick() at this steady ms (recomputed by every event)
};

enum class Verification {
  kOk,       // indexed, complete and migrated
  kBadPack,  // the pack failed verification: the sender's fault
  kFailed,   // anything else (aborted, local failure): not the sender's fault
};

class Fetcher {
 public:
  explicit Fetcher(FetcherOptions options);

  // A caller wants every object reachable from `tips` (hex oids) in repository `repo_id` by
  // `deadline` (steady ms). Malformed oids or more than wire::kMaxWants tips: Complete(false);
  // no tips: Complete(true); else it joins the job for (repo, sorted unique tips).
  FetcherActions ensure(uint64_t now, WaiterId waiter, uint64_t repo_id,
                        std::vector<std::string> tips, const std::vector<crypto::PublicKey>& hints,
                        uint64_t deadline);
  FetcherActions closure_checked(uint64_t now, JobId job, bool present);
  FetcherActions unsent(uint64_t now, RequestId request);
  FetcherActions chunk(uint64_t now, const crypto::PublicKey& peer, wire::PackChunk chunk);
  FetcherActions not_found(uint64_t now, const crypto::PublicKey& peer, const wire::NotFound& nf);
  void consumed(RequestId request, size_t bytes);
  FetcherActions verified(uint64_t now, RequestId request, Verification result,
                          const std::string& detail = {});
  FetcherActions peer(uint64_t now, const crypto::PublicKey& peer, bool up);
  void inventory(const crypto::PublicKey& peer, wire::Inventory inv);
  void set_validators(std::vector<crypto::PublicKey> validators);
  FetcherActions tick(uint64_t now);
  // Every waiter hears Complete(false); the core forgets every job (the driver stops).
  FetcherActions shutdown();

  // Peers whose last inventory lists `repo_id` or hosts everything (sorted).
  std::vector<crypto::PublicKey> hosting_peers(uint64_t repo_id) const;
  size_t jobs() const { return jobs_.size(); }  // including cancelled ones still reporting back
  size_t active_rounds() const { return active_; }

 private:
  struct Waiter {
    WaiterId id = 0;
    uint64_t deadline = 0;
  };
  struct Attempt {
    RequestId request = 0;
    crypto::PublicKey peer{};
    ChunkStream stream;
    uint64_t last_activity = 0;
    uint64_t first_answer = 0;
    bool aborted = false;
  };
  enum class Phase { kFirstCheck, kQueued, kRoundCheck, kAttempting };
  struct Job {
    uint64_t repo_id = 0;
    std::vector<std::string> tips;
    std::vector<crypto::PublicKey> hints;
    std::vector<Waiter> waiters;
    Phase phase = Phase::kFirstCheck;
    bool cancelled = false;  // no waiters left: forgotten once the driver reports back
    uint64_t not_before = 0;
    std::vector<crypto::PublicKey> candidates;
    size_t next = 0;
    std::optional<Attempt> attempt;
  };

  uint64_t deadline(const Job& job) const;
  void expire(uint64_t now, FetcherActions& out);
  void cancel(JobId id, Job& job, FetcherActions& out);
  void complete(JobId id, bool ok, FetcherActions& out);
  void forget(JobId id);
  void next_candidate(uint64_t now, JobId id, Job& job, FetcherActions& out);
  void end_round(uint64_t now, JobId id, Job& job);
  void start_due(uint64_t now, FetcherActions& out);
  Job* attempt_job(RequestId request, JobId* id = nullptr);
  void abort(Job& job, const std::string& reason, FetcherActions& out);
  FetcherActions finish(uint64_t now, FetcherActions out);

  FetcherOptions opts_;
  std::vector<crypto::PublicKey> validators_;
  std::map<crypto::PublicKey, wire::Inventory> theirs_;
  std::map<JobId, Job> jobs_;
  std::map<std::pair<uint64_t, std::vector<std::string>>, JobId> by_key_;  // live jobs only
  std::map<RequestId, JobId> requests_;                                    // attempts in flight
  std::deque<JobId> queue_;  // queued jobs, in order (due at their not_before)
  size_t active_ = 0;        // jobs in kRoundCheck or kAttempting
  JobId next_job_ = 1;
  RequestId next_request_ = 1;
};

}  // namespace guts::replication
