// Pending transactions. Submission validates at the door against the finalized state plus the
// author's pending nonces, so a client hears "rejected: reason" at once; an accepted
// transaction's submitter is told the outcome only when its block is applied (or when block
// building drops it because an earlier transaction made it invalid).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "state/backlog_bound.h"
#include "state/chain.h"
#include "state/reputation.h"

namespace guts::state {

struct TxOutcome {
  Digest id{};
  bool applied = false;
  Status status;        // why it was rejected, when !applied
  uint64_t height = 0;  // block height, when applied
};
using OutcomeFn = std::function<void(const TxOutcome&)>;

class Mempool {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // The clock that stamps arrivals and paces recheck(): steady_clock::now unless given (the
  // deterministic simulator passes its simulated time).
  using Clock = std::function<TimePoint()>;

  explicit Mempool(Chain& chain, size_t max_pending = 100000, Clock clock = {});

  // Who hands a transaction to the door: a client of this node (its API, git push), a peer
  // forwarding one another node accepted, or the node itself following what the network
  // already accepted (the CI runs a finalized push asks for). Only a client's is refused by the
  // backlog bound: a forwarded one is already waited for at the node that took it, and the
  // node's own would be lost (nobody is there to retry them).
  enum class Origin { kClient, kPeer, kNode };

  // Returns the rejection at once, or Ok and later calls `done` exactly once. A transaction
  // already finalized reports its outcome immediately; one already pending gains a waiter.
  // `signature_verified`: the caller already checked the signature (the ledger verifies a
  // forwarded batch's in parallel before handing them in one by one, in order).
  Status submit(const Transaction& tx, OutcomeFn done, Origin origin = Origin::kClient,
                bool signature_verified = false);

  // Up to `max` transactions in arrival order for the next block. They stay pending (their
  // nonces reserved, their waiters registered) until finished().
  std::vector<PendingTx> take(size_t max);
  // Waits until something is pending, shutdown, or the timeout; true if work is pending.
  bool wait_for_work(std::chrono::milliseconds timeout);
  // Reports a committed block: its transactions were applied; `rejected` were dropped.
  void finished(const Block& block, const std::vector<std::pair<Digest, Status>>& rejected);
  // Reports as rejected the pending transactions, waiting at least `min_age`, that can no longer
  // apply: their nonce was used by another transaction, or — the next one in line for its
  // (author, signer) — it fails against the applied state (e.g. a ref update whose old value
  // another push changed), and the later ones of that author after it. A node learns of such
  // rejections this way when another validator dropped the transaction while building its
  // block (only the builder reports build rejections). Returns the rejected ids. At most one
  // pass per `min_interval`, and only when the applied state changed since the last pass (same
  // state, same verdicts) or a transaction was too young to look at then.
  std::vector<Digest> recheck(
      std::chrono::milliseconds min_age,
      std::chrono::milliseconds min_interval = std::chrono::milliseconds(250));

  // The nonce a new transaction of (author, signer) must carry.
  uint64_t next_nonce(const crypto::PublicKey& author, const crypto::PublicKey& signer) const;
  size_t size() const;
  bool contains(const Digest& id) const;  // pending (queued or taken)
  // Door decisions since start (metrics): submit() calls answered Ok / with a rejection.
  // `saturated`: of the rejected, those the backlog bound refused.
  struct Stats {
    uint64_t admitted = 0, rejected = 0, saturated = 0;
  };
  Stats stats() const {
    return {admitted_.load(std::memory_order_relaxed), rejected_.load(std::memory_order_relaxed),
            saturated_.load(std::memory_order_relaxed)};
  }
  // Fails everything pending with kUnavailable and wakes waiters.
  void shutdown();
  // The door's rate limit for identities of low reputation (node-local policy, not consensus;
  // docs/reputation.md): a transaction over it is refused with kRateLimited. Set before use.
  void set_door_limit(reputation::DoorLimitOptions options);
  // The door's bound on what waits for a block (backlog_bound.h): a client's transaction over
  // it is refused with kUnavailable and "retry after N s". Off unless set (the node sets it
  // from its configuration). Set before use.
  void set_backlog_bound(BacklogOptions options);

 private:
  using NonceKey = std::pair<crypto::PublicKey, crypto::PublicKey>;
  struct Reserved {
    uint64_t last = 0;
    size_t count = 0;
  };
  Status admit(const Transaction& tx, OutcomeFn done, Origin origin,
               bool signature_verified);     // submit() uncounted
  Status backlog_refusal(const Digest& id);  // Ok, or why the backlog bound refuses a client
  void release_locked(const Transaction& tx);
  void notify(const Digest& id, const TxOutcome& outcome, std::unique_lock<std::mutex>& lock);

  Chain& chain_;
  const size_t max_pending_;
  const Clock clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_ = false;
  std::deque<PendingTx> queue_;
  struct Pending {
    Transaction tx;
    TimePoint since;
  };
  std::map<Digest, Pending> pending_;  // queued or taken, by id
  std::set<Digest> dropped_;           // rejected by recheck() while still queued
  TimePoint last_recheck_{};
  uint64_t last_recheck_height_ = ~uint64_t{0};
  bool recheck_deferred_ = false;
  std::map<Digest, std::vector<OutcomeFn>> waiters_;
  std::map<NonceKey, Reserved> reserved_;
  std::atomic<uint64_t> admitted_{0}, rejected_{0}, saturated_{0};
  std::optional<reputation::DoorLimiter> door_;  // under mu_
  std::optional<BacklogBound> backlog_;          // under mu_
};

}  // namespace guts::state
