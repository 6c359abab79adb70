#include "ledger/core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "codec/codec.h"
#include "crypto/did.h"
#include "state/blob_refs.h"
#include "state/proposal_objects.h"
#include "state/tx_batch.h"
#include "state/validator_set_state.h"

namespace guts::ledger {

namespace {

// Blocks channel messages: u8 tag ‖ body.
enum BlockMsg : uint8_t {
  kPush = 0,      // block bytes: a leader's proposal
  kGetBlock = 1,  // digest[32]
  kGetRange = 2,  // u64be from ‖ u32be count: finalized blocks by height
  kBlocks = 3,    // varint count ‖ bytes(block) × count: an answer to either request
};
// Transactions channel: u8 0 ‖ varint count ‖ bytes(tx) × count.
constexpr uint8_t kTxBatch = 0;

constexpr size_t kMaxRange = 64;                    // blocks per range request
constexpr size_t kMaxAnswerBytes = 8 << 20;         // per kBlocks answer
constexpr size_t kMaxStoreBytes = size_t{1} << 30;  // blocks held in memory
constexpr size_t kMaxFetches = 256;
constexpr uint32_t kMaxFetchAttempts = 40;
constexpr uint64_t kKeepCommitted = 64;  // recent committed blocks kept for serving
constexpr size_t kMaxCommittedIndex = 100000;
constexpr size_t kMaxReceived = 200000;
constexpr size_t kMaxForwardBatchBytes = 1 << 20;
constexpr size_t kMaxTake = 20000;
constexpr size_t kMaxAncestorWalk = 256;
constexpr uint64_t kMaxFutureMs = 10000;  // block timestamps may run this far ahead of our clock
// How long a validator tries to fetch the objects of a push forwarded to it before dropping it.
constexpr uint64_t kPrefetchDeadlineMs = 10000;
constexpr size_t kMaxCommitBacklog = 2;  // finalized blocks waiting to be applied
constexpr uint64_t kPollMs = 20;         // retry tick while anything is pending

// Transactions whose refs point at git objects, or that name blobs (LFS objects, release
// assets: state::blob_refs), which must travel with them (data availability).
bool needs_objects(const state::Transaction& tx) {
  return std::holds_alternative<state::UpdateRefs>(tx.body) ||
         std::holds_alternative<state::MergePullRequest>(tx.body) ||
         !state::blob_refs(tx).empty() ||
         (std::holds_alternative<state::CreateProposal>(tx.body) &&
          !state::proposal_object_tips(std::get<state::CreateProposal>(tx.body)).empty());
}

Bytes record_of(const state::Block& b) {
  auto enc = b.encode();
  Bytes rec;
  rec.reserve(enc.size() + 1);
  rec.push_back(kBlockRecordTag);
  rec.insert(rec.end(), enc.begin(), enc.end());
  return rec;
}

}  // namespace

size_t DigestHash::operator()(const Digest& d) const noexcept {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

std::vector<state::Transaction> decode_tx_batch(ByteView payload) {
  if (payload.empty() || payload[0] != kTxBatch)
    throw codec::DecodeError("unknown transactions message");
  return state::decode_transactions(payload.subspan(1), kMaxTake);
}

Core::Core(ChainPort& chain, CoreOptions options) : chain_(chain), options_(std::move(options)) {
  options_.max_block_txs = std::min(options_.max_block_txs, kMaxConsensusBlockTxs);
  load_schedule();
  auto head = chain_.head();
  committed_[head.id] = head.height;
  committed_order_.push_back(head.id);
  commit_base_ = head.id;
  commit_base_height_ = head.height;
}

template <typename F>
Actions Core::step(Now now, F&& event) {
  Actions out;
  if (failed_) return out;
  // As the worker thread always did: an event that throws is logged and the core goes on.
  try {
    event(out);
  } catch (const std::exception& e) {
    spdlog::error("ledger: {}", e.what());
  }
  try {
    pump(now, out);
  } catch (const std::exception& e) {
    spdlog::error("ledger: {}", e.what());
  }
  wake(now, out);
  return out;
}

// ---------------------------------------------------------------- events

Actions Core::propose(Now now, const consensus::Context& ctx) {
  return step(now, [&](Actions&) {
    propose_ = ctx;
    propose_since_ms_ = now.steady_ms;
  });
}

Actions Core::verify(Now now, const consensus::Context& ctx, const Digest& digest) {
  return step(now, [&](Actions&) { verifies_.push_back({ctx, digest}); });
}

Actions Core::finalized(Now now, consensus::Round round, const Digest& digest) {
  return step(now, [&](Actions&) {
    if (!target_ || round > target_->first) target_ = {round, digest};
    auto it = mine_.find(digest);
    if (it != mine_.end() && !it->second.finalized) {
      it->second.finalized = true;
      if (finality_ms_.size() < (1u << 20))
        finality_ms_.push_back(static_cast<double>(now.steady_ms - it->second.built_ms));
    }
  });
}

Actions Core::restore(Now now, ByteView record) {
  return step(now, [&](Actions&) {
    if (record.size() < 2) return;
    ByteView bytes = record.subspan(1);
    try {
      auto block = std::make_shared<const state::Block>(state::decode_block(bytes));
      if (block->header.height > chain_.head().height) store(block, bytes.size());
    } catch (const std::exception& e) {
      spdlog::warn("consensus journal: undecodable block record: {}", e.what());
    }
  });
}

Actions Core::blocks_message(Now now, const crypto::PublicKey& peer, ByteView payload) {
  return step(now, [&](Actions& out) { on_blocks(peer, payload, out); });
}

Actions Core::transactions(Now now, std::vector<TakenTx> txs) {
  return step(now, [&](Actions& out) {
    for (const auto& t : txs)
      if (t.from) note_received(t.tx.tx.id(), *t.from);
    if (forwards()) {
      // Forward what our own clients submitted; what peers sent us, they already forwarded.
      std::vector<const state::Transaction*> fwd;
      for (const auto& t : txs)
        if (!received_.count(t.tx.tx.id())) fwd.push_back(&t.tx.tx);
      forward(fwd, out);
    }
    for (auto& t : txs) {
      Digest id = t.tx.tx.id();
      if (pool_.count(id)) continue;
      // Applied by a block while it waited in the mempool's queue: nothing left to do.
      if (chain_.locate(id)) continue;
      bool local = !received_.count(id);
      // A push (or merge) that came in through another node: start fetching its objects now,
      // in parallel with consensus, so that verifying — or applying our own proposal of it —
      // finds them here instead of waiting for them (docs/network.md §4).
      bool fetch = !local && options_.availability && needs_objects(t.tx.tx);
      uint64_t seq = pool_seq_++;
      pool_order_.emplace(seq, id);
      if (fetch) {
        PrefetchRequest req;
        req.tx = id;
        req.one.txs.push_back(t.tx.tx);
        if (auto it = received_.find(id); it != received_.end()) req.hints.push_back(it->second);
        req.deadline_ms = now.steady_ms + kPrefetchDeadlineMs;
        out.prefetch.push_back(std::move(req));
      }
      pool_.emplace(id, PoolTx{seq, std::move(t.tx), local, now.steady_ms, fetch});
    }
  });
}

Actions Core::stale(Now now, const std::vector<Digest>& tx_ids) {
  return step(now, [&](Actions&) {
    for (const auto& id : tx_ids) unpool(id);
  });
}

Actions Core::objects_fetched(Now now, const Digest& tx_id, bool ok) {
  return step(now, [&](Actions& out) {
    auto it = pool_.find(tx_id);
    if (it == pool_.end()) return;
    if (ok) {
      it->second.objects_pending = false;
      return;
    }
    // Nobody served the push's objects in time: no block can carry it (honest validators would
    // not vote for it), so it leaves this node.
    spdlog::warn(
        "ledger: dropping transaction {}: its git objects could not be fetched from any peer",
        hex_encode(tx_id));
    unpool(tx_id);
    out.rejected.emplace_back(
        tx_id, Status(Code::kUnavailable, "the pushed objects could not be fetched from any peer"));
  });
}

Actions Core::availability(Now now, const Digest& block, bool ok) {
  return step(now, [&](Actions&) {
    if (auto x = available_.find(block); x != available_.end()) x->second = Availability{true, ok};
  });
}

Actions Core::committed(Now now, const state::Block& block, const std::vector<Digest>& rejected) {
  return step(now, [&](Actions&) {
    if (backlog_ > 0) --backlog_;
    for (const auto& tx : block.txs) unpool(tx.id());
    for (const auto& t : rejected) unpool(t);
    // The schedule reflects the applied state: a block that changed it is re-read.
    schedule_height_ = std::max(schedule_height_, block.header.height);
    if (state::may_change_validator_schedule(block)) load_schedule();
  });
}

// ---------------------------------------------------------------- epochs

void Core::load_schedule() {
  auto s = chain_.validator_schedule();
  if (s) {
    schedule_ = std::move(*s);
  } else {
    std::vector<state::Validator> vs;
    for (const auto& k : options_.validators) vs.push_back({k, ""});
    schedule_ = state::ValidatorSchedule::fixed(std::move(vs));
  }
  epoch_keys_.clear();
  for (const auto& e : schedule_.epochs()) epoch_keys_.push_back(e.keys());
  schedule_height_ = std::max(schedule_height_, chain_.head().height);
}

const std::vector<crypto::PublicKey>* Core::validators_of(consensus::Epoch e) const {
  return e < epoch_keys_.size() ? &epoch_keys_[e] : nullptr;
}

bool Core::schedule_covers(uint64_t height) const {
  const uint64_t l = schedule_.epoch_length();
  return l == 0 || height <= schedule_height_ + 2 * l;
}

bool Core::is_validator_now_or_later(const crypto::PublicKey& k) const {
  for (size_t e = schedule_.at_height(chain_.head().height + 1).number; e < epoch_keys_.size(); ++e)
    if (std::find(epoch_keys_[e].begin(), epoch_keys_[e].end(), k) != epoch_keys_[e].end())
      return true;
  return false;
}

bool Core::forwards() const {
  const auto& now = epoch_keys_[schedule_.at_height(chain_.head().height + 1).number];
  return epoch_keys_.size() > 1 || now.size() > 1 || now.front() != options_.self;
}

Actions Core::commit_failed(Now) {
  failed_ = true;
  return {};
}

Actions Core::tick(Now now) {
  return step(now, [](Actions&) {});
}

// ---------------------------------------------------------------- internals

void Core::wake(Now now, Actions& out) const {
  if (failed_) return;
  // Fetch retries, a waiting proposal and pending transactions (reforward) need a tick.
  if (!fetches_.empty() || range_ || propose_ || !pool_.empty() || !verifies_.empty())
    out.wake_ms = now.steady_ms + kPollMs;
}

void Core::pump(Now now, Actions& out) {
  if (failed_) return;
  advance_commits(out);
  drive_verifies(now, out);
  try_propose(now, out);
  run_fetches(now, out);
  reforward(now, out);
  prune();
}

void Core::note_received(const Digest& tx_id, const crypto::PublicKey& peer) {
  if (received_.emplace(tx_id, peer).second) received_order_.push_back(tx_id);
  while (received_order_.size() > kMaxReceived) {
    received_.erase(received_order_.front());
    received_order_.pop_front();
  }
}

void Core::forward(const std::vector<const state::Transaction*>& fwd, Actions& out) {
  size_t i = 0;
  while (i < fwd.size()) {
    std::vector<Bytes> encoded;
    size_t bytes = 0;
    for (; i < fwd.size() && bytes < kMaxForwardBatchBytes; ++i) {
      encoded.push_back(fwd[i]->encode());
      bytes += encoded.back().size();
    }
    codec::Writer w(bytes + 16 + encoded.size() * 3);
    w.u8(kTxBatch);
    state::write_transactions(w, encoded);
    out.sends.push_back(Send{std::nullopt, Channel::kTransactions, w.data()});
  }
}

void Core::reforward(Now now, Actions& out) {
  uint64_t t = now.steady_ms;
  if (!forwards() || (reforwarded_ && t - last_reforward_ms_ < options_.reforward_after_ms / 2))
    return;
  reforwarded_ = true;
  last_reforward_ms_ = t;
  std::vector<const state::Transaction*> again;
  for (auto& [id, p] : pool_) {
    if (!p.local || t - p.forwarded_ms < options_.reforward_after_ms) continue;
    p.forwarded_ms = t;
    again.push_back(&p.tx.tx);
    if (again.size() >= kMaxTake) break;
  }
  if (again.empty()) return;
  spdlog::debug("ledger: forwarding {} pending transaction(s) again", again.size());
  forward(again, out);
}

void Core::unpool(const Digest& tx_id) {
  auto it = pool_.find(tx_id);
  if (it == pool_.end()) return;
  pool_order_.erase(it->second.seq);
  pool_.erase(it);
}

std::vector<crypto::PublicKey> Core::availability_hints(const state::Block& b,
                                                        const crypto::PublicKey& proposer) const {
  std::vector<crypto::PublicKey> hints{proposer};
  for (const auto& tx : b.txs) {
    if (!needs_objects(tx)) continue;
    auto it = received_.find(tx.id());
    if (it != received_.end() && std::find(hints.begin(), hints.end(), it->second) == hints.end())
      hints.insert(hints.begin(), it->second);  // the node the push came in through first
  }
  return hints;
}

void Core::store(std::shared_ptr<const state::Block> block, size_t bytes) {
  Digest id = block->id();
  if (blocks_.count(id)) return;
  block_bytes_ += bytes;
  blocks_.emplace(id, Entry{std::move(block), bytes});
  fetches_.erase(id);
}

void Core::want(const Digest& d, std::optional<crypto::PublicKey> preferred, Now now) {
  if (blocks_.count(d) || fetches_.count(d) || fetches_.size() >= kMaxFetches) return;
  Fetch f;
  f.next_ms = now.steady_ms;
  f.preferred = preferred;
  fetches_.emplace(d, f);
}

void Core::want_range(uint64_t from, uint64_t to) {
  if (from > to) return;
  if (range_ && range_->from == from && range_->to == to) return;  // in flight
  range_ = RangeFetch{from, to, 0, 0};
}

std::optional<crypto::PublicKey> Core::peer_for(uint32_t attempt, const Digest& salt) const {
  // The validators of the current epoch and of those scheduled after it hold the blocks.
  std::vector<crypto::PublicKey> others;
  for (size_t e = schedule_.at_height(chain_.head().height + 1).number; e < epoch_keys_.size(); ++e)
    for (const auto& v : epoch_keys_[e])
      if (v != options_.self && std::find(others.begin(), others.end(), v) == others.end())
        others.push_back(v);
  if (others.empty()) return std::nullopt;
  size_t start = DigestHash{}(salt) % others.size();
  return others[(start + attempt) % others.size()];
}

void Core::run_fetches(Now now, Actions& out) {
  uint64_t t = now.steady_ms;
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    Fetch& f = it->second;
    if (f.attempt >= kMaxFetchAttempts) {
      it = fetches_.erase(it);  // asked again by whoever still needs it
      continue;
    }
    if (f.next_ms <= t) {
      std::optional<crypto::PublicKey> peer =
          f.attempt == 0 && f.preferred && *f.preferred != options_.self
              ? f.preferred
              : peer_for(f.attempt, it->first);
      if (peer) {
        codec::Writer w;
        w.u8(kGetBlock).fixed(it->first);
        out.sends.push_back(Send{*peer, Channel::kBlocks, w.data()});
      }
      ++f.attempt;
      f.next_ms = t + options_.fetch_timeout_ms;
    }
    ++it;
  }
  if (range_ && range_->deadline_ms <= t) {
    Digest salt{};
    salt[0] = static_cast<uint8_t>(range_->from);
    if (auto peer = peer_for(range_->attempt, salt)) {
      codec::Writer w;
      w.u8(kGetRange)
          .u64be(range_->from)
          .u32be(static_cast<uint32_t>(range_->to - range_->from + 1));
      out.sends.push_back(Send{*peer, Channel::kBlocks, w.data()});
    }
    ++range_->attempt;
    range_->deadline_ms = t + options_.fetch_timeout_ms;
  }
}

void Core::advance_commits(Actions& out) {
  while (target_ && !failed_) {
    if (committed_.count(target_->second)) {
      target_.reset();  // already applied or being applied (e.g. re-reported after a restart)
      range_.reset();
      return;
    }
    // Walk from the finalized target down to the last block handed to the committer, by
    // parent links (hashes).
    std::vector<std::shared_ptr<const state::Block>> path;
    Digest d = target_->second;
    bool complete = false;
    for (;;) {
      auto it = blocks_.find(d);
      if (it == blocks_.end()) {
        want(d, std::nullopt, Now{});  // due at once
        if (!path.empty()) {
          // Far behind: ask for the blocks below the lowest one we have, by height.
          uint64_t low = path.back()->header.height;
          uint64_t base = commit_base_height_;
          if (low > base + 1) {
            uint64_t to = low - 1;
            uint64_t from = to >= base + kMaxRange ? to - kMaxRange + 1 : base + 1;
            want_range(std::max(from, base + 1), to);
          }
        }
        break;
      }
      const auto& b = it->second.block;
      if (b->header.height <= commit_base_height_) {
        // Fail-stop: a finalized block that does not extend what we applied means this node
        // diverged; it acknowledges nothing more.
        spdlog::critical(
            "ledger: finalized block {} at height {} does not extend our chain {} at {}",
            hex_encode(d), b->header.height, hex_encode(commit_base_), commit_base_height_);
        failed_ = true;
        return;
      }
      path.push_back(b);
      if (b->header.parent == commit_base_) {
        complete = true;
        break;
      }
      d = b->header.parent;
    }
    if (!complete) return;
    range_.reset();
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      CommitJob job;
      job.block = *it;
      Digest id = (*it)->id();
      job.executed = executed_.count(id) > 0;
      if (auto m = mine_.find(id); m != mine_.end()) {
        job.rejected = std::move(m->second.rejected);
        job.built_ms = m->second.built_ms;
        mine_.erase(m);
      }
      committed_[id] = (*it)->header.height;
      committed_order_.push_back(id);
      commit_base_ = id;
      commit_base_height_ = (*it)->header.height;
      out.commits.push_back(std::move(job));
      ++backlog_;
    }
    while (committed_order_.size() > kMaxCommittedIndex) {
      committed_.erase(committed_order_.front());
      committed_order_.pop_front();
    }
  }
}

Core::Ready Core::ensure_executed(const Digest& d) {
  auto head = chain_.head();
  std::vector<std::shared_ptr<const state::Block>> todo;
  Digest cur = d;
  for (size_t depth = 0;; ++depth) {
    if (cur == head.id || executed_.count(cur)) break;
    if (auto c = committed_.find(cur); c != committed_.end()) {
      // Handed to the committer: wait until it is the head; below the head it is stale.
      return c->second > head.height ? Ready::kWaiting : Ready::kFailed;
    }
    if (depth >= kMaxAncestorWalk) return Ready::kWaiting;  // commits catch up first
    auto it = blocks_.find(cur);
    if (it == blocks_.end()) {
      want(cur, std::nullopt, Now{});
      return Ready::kWaiting;
    }
    if (it->second.block->header.height <= head.height) return Ready::kFailed;
    todo.push_back(it->second.block);
    cur = it->second.block->header.parent;
  }
  auto pooled = [this](const Digest& t) { return pool_.count(t) > 0; };
  for (auto it = todo.rbegin(); it != todo.rend(); ++it) {
    Status st = chain_.verify(**it, pooled);
    if (!st.ok()) {
      spdlog::warn("ledger: ancestor block {} does not execute: {}", hex_encode((*it)->id()),
                   st.message());
      return Ready::kFailed;
    }
    executed_[(*it)->id()] = (*it)->header.height;
  }
  return Ready::kYes;
}

void Core::drive_verifies(Now now, Actions& out) {
  if (verifies_.empty()) return;
  for (auto it = verifies_.begin(); it != verifies_.end();) {
    const auto& ctx = it->ctx;
    const auto* validators = validators_of(ctx.round.epoch);
    if (ctx.round.epoch < round_.epoch ||
        (ctx.round.epoch == round_.epoch && ctx.round.view + 10 < round_.view) || !validators ||
        ctx.leader >= validators->size()) {
      available_.erase(it->digest);
      it = verifies_.erase(it);  // long decided without us (or an epoch we cannot know)
      continue;
    }
    auto bit = blocks_.find(it->digest);
    if (bit == blocks_.end()) {
      want(it->digest, validators->at(ctx.leader), now);
      ++it;
      continue;
    }
    const auto& b = *bit->second.block;
    const auto& h = b.header;
    // The validator set of this height must be known before the block is judged.
    if (!schedule_covers(h.height)) {
      ++it;
      continue;
    }
    if (it->digest == ctx.parent_payload) {
      // A re-proposal: the leader proposes its parent again. Valid only for the last block of
      // the epoch, whose finalization ends the epoch (a block past it would belong to the next
      // set; docs/consensus.md "Epochs"). Nothing to execute: it is the notarized parent.
      auto last = schedule_.last_height(ctx.round.epoch);
      bool ok = ctx.parent_view > 0 && last && h.height == *last;
      if (!ok)
        spdlog::warn("ledger: refusing a re-proposal of block {} in view {} (not the epoch's end)",
                     h.height, ctx.round.view);
      out.verified.push_back(Verified{ctx.round, it->digest, ok, {}});
      it = verifies_.erase(it);
      continue;
    }
    bool ok = h.parent == ctx.parent_payload && h.view == ctx.round.view &&
              h.proposer == validators->at(ctx.leader) &&
              schedule_.at_height(h.height).number == ctx.round.epoch &&
              h.timestamp_ms <= now.unix_ms + kMaxFutureMs;
    if (ok && options_.availability) {
      // Data availability first: vote only once the git objects and blobs the block refers to
      // are here, and execute only then — the validity rules that read git facts (force push,
      // linear history, code owners; state/git_facts.h) must see the pushed objects, or a slow
      // link would make this validator refuse a valid block. Asked once per block; the answer
      // comes back as availability().
      auto a = available_.find(it->digest);
      if (a == available_.end()) {
        available_.emplace(it->digest, Availability{});
        out.availability.push_back(
            AvailabilityRequest{it->digest, bit->second.block, availability_hints(b, h.proposer),
                                now.steady_ms + options_.availability_timeout_ms});
        ++it;
        continue;
      }
      if (!a->second.done) {
        ++it;
        continue;
      }
      if (!a->second.ok) {
        // Not voting lets the view time out; a verdict of "invalid" would accuse the leader of
        // what may be our own slow link.
        spdlog::warn("ledger: not voting for block {} (view {}): its git objects did not arrive",
                     h.height, h.view);
        available_.erase(a);
        it = verifies_.erase(it);
        continue;
      }
    }
    if (ok && !executed_.count(it->digest)) {
      switch (ensure_executed(h.parent)) {
        case Ready::kWaiting:
          ++it;
          continue;
        case Ready::kFailed:
          ok = false;
          break;
        case Ready::kYes: {
          Status st = chain_.verify(b, [this](const Digest& t) { return pool_.count(t) > 0; });
          spdlog::debug("ledger: verified block {} (view {}, {} transactions)", h.height, h.view,
                        b.txs.size());
          if (st.ok()) {
            executed_[it->digest] = h.height;
          } else {
            spdlog::warn("ledger: rejecting block {} of view {}: {}", hex_encode(it->digest),
                         h.view, st.message());
            ok = false;
          }
          break;
        }
      }
    } else if (!ok) {
      spdlog::warn("ledger: block {} does not match its proposal (view {})", hex_encode(it->digest),
                   ctx.round.view);
    }
    available_.erase(it->digest);
    out.verified.push_back(Verified{ctx.round, it->digest, ok, ok ? record_of(b) : Bytes{}});
    it = verifies_.erase(it);
  }
}

void Core::try_propose(Now now, Actions& out) {
  if (!propose_) return;
  auto ctx = *propose_;
  if (ctx.round < round_) {
    propose_.reset();  // that view is over
    return;
  }
  // The end of an epoch: the leader re-proposes the epoch's last block (its parent) until it is
  // finalized, which hands the chain to the next set (docs/consensus.md "Epochs").
  if (auto last = schedule_.last_height(ctx.round.epoch); last && ctx.parent_view > 0) {
    std::optional<uint64_t> parent_height;
    if (auto c = committed_.find(ctx.parent_payload); c != committed_.end())
      parent_height = c->second;
    else if (auto b = blocks_.find(ctx.parent_payload); b != blocks_.end())
      parent_height = b->second.block->header.height;
    if (parent_height && *parent_height >= *last) {
      propose_.reset();
      out.proposed.push_back(Proposed{ctx.round, ctx.parent_payload, {}});
      return;
    }
  }
  // The parent is final once it was handed to the committer or is the finalized target.
  const bool parent_final = committed_.count(ctx.parent_payload) > 0 ||
                            (target_ && target_->second == ctx.parent_payload);
  const bool empty_due =
      !parent_final && now.steady_ms >= propose_since_ms_ + options_.empty_child_after_ms;
  // Idle: wait for a transaction (or the view's timeout), unless only a child can finalize
  // the parent.
  if (pool_.empty() && !empty_due) return;
  // Applying lags behind finalization: propose once it catches up (a commit wakes us), with a
  // bigger block, rather than queue more blocks that each cost a commit fsync.
  if (backlog_ >= kMaxCommitBacklog) return;
  switch (ensure_executed(ctx.parent_payload)) {
    case Ready::kWaiting:
      return;
    case Ready::kFailed:
      propose_.reset();
      out.proposed.push_back(Proposed{ctx.round, std::nullopt, {}});
      return;
    case Ready::kYes:
      break;
  }
  auto head = chain_.head();
  // The validator set of the new block's height must be known (commits catch up first).
  {
    auto e = executed_.find(ctx.parent_payload);
    uint64_t parent_height = ctx.parent_payload == head.id ? head.height
                             : e != executed_.end()        ? e->second
                                                           : head.height;
    if (!schedule_covers(parent_height + 1)) return;
  }
  // Transactions already in the (not yet applied) ancestors are not proposed again.
  std::unordered_set<Digest, DigestHash> in_flight;
  for (Digest d = ctx.parent_payload; d != head.id;) {
    auto it = blocks_.find(d);
    if (it == blocks_.end()) break;
    for (const auto& tx : it->second.block->txs) in_flight.insert(tx.id());
    d = it->second.block->header.parent;
  }
  std::vector<state::PendingTx> candidates;
  for (const auto& [seq, id] : pool_order_) {
    if (candidates.size() >= options_.max_block_txs) break;
    if (in_flight.count(id)) continue;
    const auto& ptx = pool_.at(id);
    if (ptx.objects_pending) continue;  // not proposable before its objects are here
    candidates.push_back(ptx.tx);
  }
  // Everything pending is already on its way (or waits for its objects).
  if (candidates.empty() && !empty_due) return;
  propose_.reset();
  state::BuildResult built;
  try {
    built = chain_.build(ctx.parent_payload, std::move(candidates), ctx.round.view, now.unix_ms,
                         options_.self);
  } catch (const std::exception& e) {
    spdlog::error("ledger: cannot build on {}: {}", hex_encode(ctx.parent_payload), e.what());
    out.proposed.push_back(Proposed{ctx.round, std::nullopt, {}});
    return;
  }
  if (built.block.txs.empty()) {
    // Every candidate failed on this parent: most often transactions a block applied moments
    // ago that are still in our pool (the committer reports their removal), or ones another
    // block made invalid. An empty block would cost a view, a height and an fsync for nothing:
    // drop them (their submitters hear through Mempool::finished / recheck) and keep waiting
    // for work in this view.
    // Only on the applied head are the verdicts final (every later block extends it): tell the
    // submitters now. On a parent that may yet be abandoned they stay, and the view is skipped
    // rather than rebuilt in a loop (Mempool::recheck tells them once it is applied).
    // A transaction rejected because a block just applied it (still in our pool: the committer
    // reports it applied right after) is no rejection: leave it out.
    if (!parent_final) {
      // Nothing valid on a parent that is not final: propose the empty child that finalizes
      // it (below). The rejections are not final verdicts; they stay pooled.
      built.rejected.clear();
    } else if (ctx.parent_payload == chain_.head().id) {
      for (const auto& [t, st] : built.rejected) unpool(t);
      for (auto& r : built.rejected)
        if (!chain_.locate(r.first)) out.rejected.push_back(std::move(r));
      propose_ = ctx;  // wait for new work in this view
    } else {
      out.proposed.push_back(Proposed{ctx.round, std::nullopt, {}});
    }
    if (parent_final) return;
  }
  auto block = std::make_shared<const state::Block>(std::move(built.block));
  Digest id = block->id();
  Bytes encoded = block->encode();
  executed_[id] = block->header.height;
  store(block, encoded.size());
  mine_[id] =
      Mine{ctx.round.view, block->header.height, now.steady_ms, std::move(built.rejected), false};
  // The block travels before our vote (allowed: bytes cannot form a certificate).
  Bytes push;
  push.reserve(encoded.size() + 1);
  push.push_back(kPush);
  push.insert(push.end(), encoded.begin(), encoded.end());
  out.sends.push_back(Send{std::nullopt, Channel::kBlocks, std::move(push)});
  spdlog::debug("ledger: proposing block {} (view {}) with {} transactions", block->header.height,
                ctx.round.view, block->txs.size());
  out.proposed.push_back(Proposed{ctx.round, id, record_of(*block)});
}

void Core::prune() {
  auto head = chain_.head();
  uint64_t keep_from = head.height > kKeepCommitted ? head.height - kKeepCommitted : 0;
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (it->second.block->header.height <= keep_from) {
      block_bytes_ -= it->second.bytes;
      it = blocks_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = executed_.begin(); it != executed_.end();)
    it = it->second <= head.height ? executed_.erase(it) : std::next(it);
  for (auto it = mine_.begin(); it != mine_.end();)
    it = it->second.height <= head.height ? mine_.erase(it) : std::next(it);  // not finalized
}

void Core::on_blocks(const crypto::PublicKey& peer, ByteView payload, Actions& out) {
  bool from_validator = is_validator_now_or_later(peer);
  auto head = chain_.head();
  auto send_blocks = [&](const std::vector<Bytes>& blocks) {
    codec::Writer w;
    w.u8(kBlocks).varint(blocks.size());
    for (const auto& b : blocks) w.bytes(b);
    out.sends.push_back(Send{peer, Channel::kBlocks, w.data()});
  };
  try {
    codec::Reader r(payload);
    uint8_t tag = r.u8();
    switch (tag) {
      case kPush: {
        if (!from_validator) return;  // only validators propose
        auto bytes = r.fixed(r.remaining());
        auto block = std::make_shared<const state::Block>(state::decode_block(bytes));
        if (block->header.height <= head.height || block_bytes_ + bytes.size() > kMaxStoreBytes)
          return;
        store(block, bytes.size());
        break;
      }
      case kGetBlock: {
        Digest d = r.fixed<32>();
        r.finish();
        std::vector<Bytes> blocks;
        if (auto it = blocks_.find(d); it != blocks_.end()) {
          blocks.push_back(it->second.block->encode());
        } else if (auto c = committed_.find(d); c != committed_.end() && c->second > 0) {
          if (auto b = chain_.block_at(c->second)) blocks.push_back(b->encode());
        }
        send_blocks(blocks);
        break;
      }
      case kGetRange: {
        uint64_t from = r.u64be();
        uint32_t count = r.u32be();
        r.finish();
        std::vector<Bytes> blocks;
        size_t bytes = 0;
        for (uint64_t hgt = std::max<uint64_t>(from, 1);
             hgt < from + std::min<uint64_t>(count, kMaxRange) && hgt <= head.height &&
             bytes < kMaxAnswerBytes;
             ++hgt) {
          auto b = chain_.block_at(hgt);
          if (!b) break;
          blocks.push_back(b->encode());
          bytes += blocks.back().size();
        }
        send_blocks(blocks);
        break;
      }
      case kBlocks: {
        size_t n = r.count(kMaxRange, "blocks");
        for (size_t i = 0; i < n; ++i) {
          auto bytes = r.bytes_view(state::kMaxBlockBytes + (1 << 20), "block");
          auto block = std::make_shared<const state::Block>(state::decode_block(bytes));
          Digest id = block->id();
          uint64_t hgt = block->header.height;
          bool asked =
              fetches_.count(id) > 0 || (range_ && hgt >= range_->from && hgt <= range_->to);
          if (!asked || hgt <= head.height || blocks_.count(id)) continue;
          if (block_bytes_ + bytes.size() > kMaxStoreBytes) break;
          store(block, bytes.size());
        }
        r.finish();
        break;
      }
      default:
        throw codec::DecodeError("unknown blocks message");
    }
  } catch (const codec::DecodeError& e) {
    spdlog::warn("p2p: malformed blocks message from {}: {}", crypto::did_from_key(peer), e.what());
    out.block.push_back(peer);
  }
}

}  // namespace guts::ledger
