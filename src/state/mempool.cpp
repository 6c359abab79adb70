#include "state/mempool.h"

#include <cstdio>
#include <optional>

#include "core/time.h"

namespace guts::state {

Mempool::Mempool(Chain& chain, size_t max_pending, Clock clock)
    : chain_(chain),
      max_pending_(max_pending),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

uint64_t Mempool::next_nonce(const crypto::PublicKey& author,
                             const crypto::PublicKey& signer) const {
  // Read the reservation before the committed nonce: a block commits before finished() releases
  // its reservations, so whichever we miss, the other read covers it.
  std::lock_guard lock(mu_);
  auto it = reserved_.find({author, signer});
  uint64_t pending = it == reserved_.end() ? 0 : it->second.last;
  return std::max(chain_.view().nonce(author, signer), pending) + 1;
}

Status Mempool::submit(const Transaction& tx, OutcomeFn done, Origin origin,
                       bool signature_verified) {
  Status st = admit(tx, std::move(done), origin, signature_verified);
  (st.ok() ? admitted_ : rejected_).fetch_add(1, std::memory_order_relaxed);
  return st;
}

Status Mempool::backlog_refusal(const Digest& id) {
  std::lock_guard lock(mu_);
  if (!backlog_ || pending_.count(id)) return Status::Ok();  // a pending one only gains a waiter
  auto r = backlog_->refuse(clock_(), pending_.size());
  // Finalized since admit() looked (its block's finished() just took it out of pending_): let
  // admit() answer with its outcome.
  if (!r || chain_.locate(id)) return Status::Ok();
  saturated_.fetch_add(1, std::memory_order_relaxed);
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.0f", r->rate);
  return {Code::kUnavailable, "the network is saturated: " + std::to_string(pending_.size()) +
                                  " transactions wait for a block here (the bound is " +
                                  std::to_string(r->limit) + " at " + rate +
                                  " finalized per second); retry after " +
                                  std::to_string(r->retry_after_s) + " s"};
}

Status Mempool::admit(const Transaction& tx, OutcomeFn done, Origin origin,
                      bool signature_verified) {
  Digest id = tx.id();
  if (auto loc = chain_.locate(id)) {
    done(TxOutcome{id, true, Status::Ok(), loc->height});
    return Status::Ok();
  }
  // Under overload the refusal must cost less than the work it saves: before the signature.
  // (Checked apart from the insertion below: concurrent submitters may overshoot the bound by
  // a few, which a soft bound on waiting can afford.)
  if (origin == Origin::kClient)
    if (Status st = backlog_refusal(id); !st.ok()) return st;
  // The expensive check happens outside the lock.
  if (!signature_verified && !tx.verify_signature())
    return {Code::kInvalidArgument, "bad signature"};

  std::unique_lock lock(mu_);
  if (shutdown_) return {Code::kUnavailable, "node is shutting down"};
  if (pending_.count(id)) {
    waiters_[id].push_back(std::move(done));
    return Status::Ok();
  }
  if (pending_.size() >= max_pending_)
    return {Code::kUnavailable, "mempool is full; retry after 1 s"};
  if (door_) {  // reputation's door limit (docs/reputation.md): before the validity check's cost
    Head h = chain_.head();
    auto score = reputation::global_score(chain_.view(), tx.author, h.timestamp_ms, h.height);
    if (score.total < door_->options().min_reputation)
      if (auto wait = door_->take(tx.author, clock_()))
        return reputation::rate_limited(score, door_->options().min_reputation, *wait);
  }
  uint64_t committed = chain_.view().nonce(tx.author, tx.signer);
  auto rit = reserved_.find({tx.author, tx.signer});
  uint64_t expected = std::max(committed, rit == reserved_.end() ? 0 : rit->second.last) + 1;
  Status st = chain_.check(tx, expected, unix_millis(), /*signature_verified=*/true);
  if (!st.ok()) return st;
  auto& r = reserved_[{tx.author, tx.signer}];
  r.last = tx.nonce;
  r.count++;
  pending_.emplace(id, Pending{tx, clock_()});
  waiters_[id].push_back(std::move(done));
  queue_.push_back(PendingTx{tx, true});
  cv_.notify_all();
  return Status::Ok();
}

std::vector<PendingTx> Mempool::take(size_t max) {
  std::lock_guard lock(mu_);
  std::vector<PendingTx> out;
  while (!queue_.empty() && out.size() < max) {
    if (!dropped_.empty() && dropped_.erase(queue_.front().tx.id())) {
      queue_.pop_front();  // rejected by recheck() before anyone took it
      continue;
    }
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

bool Mempool::wait_for_work(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return shutdown_ || !queue_.empty(); });
  return !shutdown_ && !queue_.empty();
}

void Mempool::release_locked(const Transaction& tx) {
  auto it = reserved_.find({tx.author, tx.signer});
  if (it != reserved_.end() && --it->second.count == 0) reserved_.erase(it);
}

void Mempool::notify(const Digest& id, const TxOutcome& outcome,
                     std::unique_lock<std::mutex>& lock) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  auto fns = std::move(it->second);
  waiters_.erase(it);
  lock.unlock();
  for (auto& fn : fns) fn(outcome);
  lock.lock();
}

void Mempool::finished(const Block& block, const std::vector<std::pair<Digest, Status>>& rejected) {
  std::unique_lock lock(mu_);
  if (backlog_) backlog_->finalized(clock_(), block.txs.size());
  for (const auto& tx : block.txs) {
    Digest id = tx.id();
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // included by another proposer's block
    release_locked(it->second.tx);
    pending_.erase(it);
    notify(id, TxOutcome{id, true, Status::Ok(), block.header.height}, lock);
  }
  for (const auto& [id, status] : rejected) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    release_locked(it->second.tx);
    pending_.erase(it);
    notify(id, TxOutcome{id, false, status, 0}, lock);
  }
}

std::vector<Digest> Mempool::recheck(std::chrono::milliseconds min_age,
                                     std::chrono::milliseconds min_interval) {
  auto now = clock_();
  std::unique_lock lock(mu_);
  if (pending_.empty() || now - last_recheck_ < min_interval) return {};
  // A pass only matters on new applied state (same state: same verdicts), or for transactions
  // that were too young to look at last time.
  uint64_t height = chain_.head().height;
  if (height == last_recheck_height_ && !recheck_deferred_) return {};
  last_recheck_ = now;
  last_recheck_height_ = height;
  recheck_deferred_ = false;
  // Each (author, signer)'s pending transactions in nonce order.
  std::map<NonceKey, std::map<uint64_t, Digest>> by_key;
  bool any_old = false;
  for (const auto& [id, p] : pending_) {
    by_key[{p.tx.author, p.tx.signer}].emplace(p.tx.nonce, id);
    bool old = now - p.since >= min_age;
    any_old = any_old || old;
    recheck_deferred_ = recheck_deferred_ || !old;
  }
  if (!any_old) return {};
  auto view = chain_.view();
  std::vector<std::pair<Digest, Status>> rejected;
  for (const auto& [key, txs] : by_key) {
    uint64_t committed = view.nonce(key.first, key.second);
    std::optional<Status> broken;  // an earlier one of this key was rejected
    for (const auto& [nonce, id] : txs) {
      const auto& p = pending_.at(id);
      if (chain_.locate(id)) break;  // applied; finished() reports it
      if (broken) {
        rejected.emplace_back(id, Status(broken->code(),
                                         "an earlier transaction of this author "
                                         "was rejected: " +
                                             broken->message()));
        continue;
      }
      if (nonce <= committed) {
        rejected.emplace_back(id, Status(Code::kInvalidArgument,
                                         "nonce " + std::to_string(nonce) +
                                             " was used by another transaction of this author"));
        continue;
      }
      if (nonce != committed + 1 || now - p.since < min_age) break;  // waits for its turn
      Status st = chain_.check(p.tx, nonce, unix_millis(), /*signature_verified=*/true);
      if (st.ok()) break;
      // check() reads the live state: a block applying this very transaction may have
      // committed since locate() above (its index is written with the block).
      if (chain_.locate(id)) break;
      rejected.emplace_back(id, st);
      broken = st;
    }
  }
  std::vector<Digest> out;
  for (auto& [id, st] : rejected) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    release_locked(it->second.tx);
    pending_.erase(it);
    dropped_.insert(id);
    out.push_back(id);
    notify(id, TxOutcome{id, false, st, 0}, lock);
  }
  // Only ids still queued matter to take(); the rest were taken already.
  if (!dropped_.empty()) {
    std::set<Digest> queued;
    for (const auto& q : queue_) {
      Digest qid = q.tx.id();
      if (dropped_.count(qid)) queued.insert(qid);
    }
    dropped_ = std::move(queued);
  }
  return out;
}

void Mempool::set_door_limit(reputation::DoorLimitOptions options) {
  std::lock_guard lock(mu_);
  if (options.enabled())
    door_.emplace(options);
  else
    door_.reset();
}

void Mempool::set_backlog_bound(BacklogOptions options) {
  std::lock_guard lock(mu_);
  if (options.enabled())
    backlog_.emplace(options);
  else
    backlog_.reset();
}

bool Mempool::contains(const Digest& id) const {
  std::lock_guard lock(mu_);
  return pending_.count(id) > 0;
}

size_t Mempool::size() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

void Mempool::shutdown() {
  std::unique_lock lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  queue_.clear();
  pending_.clear();
  reserved_.clear();
  lock.unlock();
  for (auto& [id, fns] : waiters)
    for (auto& fn : fns)
      fn(TxOutcome{id, false, Status(Code::kUnavailable, "node is shutting down"), 0});
}

}  // namespace guts::state
