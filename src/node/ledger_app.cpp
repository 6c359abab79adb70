#include "node/ledger_app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "core/fs.h"
#include "core/time.h"
#include "crypto/did.h"
#include "node/network.h"
#include "p2p/transport.h"

namespace guts::node {

namespace {

using Clock = std::chrono::steady_clock;

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
constexpr size_t kMaxAdmitQueue = 1024;
constexpr size_t kMaxForwardBatchBytes = 1 << 20;
constexpr size_t kMaxTake = 20000;
constexpr size_t kMaxAncestorWalk = 256;
constexpr uint64_t kMaxFutureMs = 10000;
// How long a validator tries to fetch the objects of a push forwarded to it before dropping it.
constexpr auto kPrefetchDeadline = std::chrono::seconds(10);
constexpr size_t kMaxCommitBacklog = 2;  // finalized blocks waiting to be applied  // block
                                         // timestamps may run this far ahead of our clock

// Transactions whose refs point at git objects that must travel with them (data availability).
bool needs_objects(const state::Transaction& tx) {
  return std::holds_alternative<state::UpdateRefs>(tx.body) ||
         std::holds_alternative<state::MergePullRequest>(tx.body);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

size_t DigestHash::operator()(const Digest& d) const noexcept {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

LedgerApp::LedgerApp(state::Chain& chain, state::Mempool& mempool, crypto::PublicKey self,
                     std::vector<crypto::PublicKey> validators, Network& network,
                     LedgerAppOptions options)
    : chain_(chain),
      mempool_(mempool),
      self_(self),
      validators_(std::move(validators)),
      network_(network),
      opts_(std::move(options)) {
  auto head = chain_.head();
  if (head.height > 0) {
    if (auto b = chain_.block_at(head.height)) committed_view_ = b->header.view;
  }
  committed_[head.id] = head.height;
  committed_order_.push_back(head.id);
  commit_base_ = head.id;
  commit_base_height_ = head.height;
}

LedgerApp::~LedgerApp() {
  stop();
}

void LedgerApp::attach(runtime::SimplexDriver& driver) {
  driver_ = &driver;
}

void LedgerApp::subscribe(Network& network) {
  network.subscribe(p2p::channel::kBlocks, [this](const crypto::PublicKey& peer, Bytes payload) {
    auto shared = std::make_shared<Bytes>(std::move(payload));
    post([this, peer, shared] { on_blocks(peer, *shared); });
  });
  network.subscribe(channel::kTransactions, [this](const crypto::PublicKey& peer, Bytes payload) {
    {
      std::lock_guard lock(admit_mu_);
      if (admit_queue_.size() >= kMaxAdmitQueue) return;  // best effort: the origin keeps it
      admit_queue_.emplace_back(peer, std::move(payload));
    }
    admit_cv_.notify_one();
  });
}

void LedgerApp::start() {
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  worker_ = std::thread([this] { worker_loop(); });
  intake_ = std::thread([this] { intake_loop(); });
  admit_ = std::thread([this] { admit_loop(); });
  committer_ = std::thread([this] { commit_loop(); });
}

void LedgerApp::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  if (!worker_.joinable()) return;  // never started, or stopped already
  {
    std::lock_guard lock(admit_mu_);  // the admission thread is waiting or will see stop_
  }
  {
    std::lock_guard lock(commit_mu_);  // the commit thread is waiting or will see stop_
  }
  cv_.notify_all();
  admit_cv_.notify_all();
  commit_cv_.notify_all();
  if (intake_.joinable()) intake_.join();
  if (admit_.joinable()) admit_.join();
  worker_.join();
  if (committer_.joinable()) committer_.join();
  write_stats();
}

bool LedgerApp::wait_applied(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && !failed_) {
    auto done = std::make_shared<std::promise<bool>>();
    auto answer = done->get_future();
    post([this, done] {
      std::lock_guard lock(commit_mu_);
      done->set_value(!target_ && commit_queue_.empty() && !committing_);
    });
    if (answer.wait_for(std::chrono::seconds(1)) == std::future_status::ready && answer.get())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void LedgerApp::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

// ---------------------------------------------------------------- consensus calls

void LedgerApp::propose(const consensus::Context& ctx) {
  post([this, ctx] { propose_ = ctx; });
}

void LedgerApp::verify(const consensus::Context& ctx, const Digest& payload) {
  post([this, ctx, payload] { verifies_.push_back({ctx, payload}); });
}

void LedgerApp::certify(const consensus::Round& round, const Digest& payload) {
  if (driver_) driver_->certified(round, payload, true);
}

void LedgerApp::finalized(const consensus::Finalized& f) {
  if (opts_.on_finalized) opts_.on_finalized(f);
  auto view = f.proposal.round.view;
  auto digest = f.proposal.payload;
  auto at = Clock::now();
  post([this, view, digest, at] {
    if (!target_ || view > target_->first) target_ = {view, digest};
    auto it = mine_.find(digest);
    if (it != mine_.end() && !it->second.finalized) {
      it->second.finalized = true;
      if (finality_ms_.size() < (1u << 20))
        finality_ms_.push_back(
            std::chrono::duration<double, std::milli>(at - it->second.built).count());
    }
  });
}

void LedgerApp::restore(ByteView record) {
  if (record.size() < 2) return;
  auto bytes = std::make_shared<Bytes>(record.begin() + 1, record.end());
  post([this, bytes] {
    try {
      auto block = std::make_shared<const state::Block>(state::decode_block(*bytes));
      if (block->header.height > chain_.head().height) store(block, bytes->size());
    } catch (const std::exception& e) {
      spdlog::warn("consensus journal: undecodable block record: {}", e.what());
    }
  });
}

// ---------------------------------------------------------------- threads

void LedgerApp::worker_loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (jobs_.empty()) {
      // Fetch retries need a tick; otherwise sleep until work arrives.
      if (fetches_.empty() && !range_ && !propose_ && pool_.empty() && mempool_.size() == 0)
        cv_.wait(lock);
      else
        cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    if (stop_) break;
    auto jobs = std::move(jobs_);
    jobs_.clear();
    lock.unlock();
    for (auto& job : jobs) {
      try {
        job();
      } catch (const std::exception& e) {
        spdlog::error("ledger: {}", e.what());
      }
    }
    try {
      pump();
    } catch (const std::exception& e) {
      spdlog::error("ledger: {}", e.what());
    }
    lock.lock();
  }
}

void LedgerApp::intake_loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    auto t0 = Clock::now();
    if (!mempool_.wait_for_work(std::chrono::milliseconds(200))) {
      // After Mempool::shutdown() wait_for_work returns at once; do not spin until stop().
      if (Clock::now() - t0 < std::chrono::milliseconds(1))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    auto txs = mempool_.take(kMaxTake);
    if (txs.empty()) continue;
    if (forwards()) {
      // Forward what our own clients submitted; what peers sent us, they already forwarded.
      std::vector<const state::Transaction*> fwd;
      {
        std::lock_guard lock(fwd_mu_);
        for (const auto& p : txs)
          if (!received_.count(p.tx.id())) fwd.push_back(&p.tx);
      }
      forward(fwd);
    }
    auto shared = std::make_shared<std::vector<state::PendingTx>>(std::move(txs));
    post([this, shared] { add_to_pool(std::move(*shared)); });
  }
}

void LedgerApp::forward(const std::vector<const state::Transaction*>& fwd) {
  size_t i = 0;
  while (i < fwd.size()) {
    std::vector<Bytes> encoded;
    size_t bytes = 0;
    for (; i < fwd.size() && bytes < kMaxForwardBatchBytes; ++i) {
      encoded.push_back(fwd[i]->encode());
      bytes += encoded.back().size();
    }
    codec::Writer w(bytes + 16 + encoded.size() * 3);
    w.u8(kTxBatch).varint(encoded.size());
    for (const auto& e : encoded) w.bytes(e);
    network_.send_to_validators(channel::kTransactions, w.data());
  }
}

void LedgerApp::drop_stale() {
  // Transactions another validator dropped while building its block (only the builder reports
  // those) fail against the state we hold: the mempool reports them, we stop offering them.
  // (Also with an empty pool: a transaction we dropped while building is still pending there.)
  if (mempool_.size() == 0) return;
  for (const auto& id : mempool_.recheck(std::chrono::milliseconds(500))) unpool(id);
}

void LedgerApp::reforward() {
  auto now = Clock::now();
  if (!forwards() || now - last_reforward_ < opts_.reforward_after / 2) return;
  last_reforward_ = now;
  std::vector<const state::Transaction*> again;
  for (auto& [id, p] : pool_) {
    if (!p.local || now - p.forwarded < opts_.reforward_after) continue;
    p.forwarded = now;
    again.push_back(&p.tx.tx);
    if (again.size() >= kMaxTake) break;
  }
  if (again.empty()) return;
  spdlog::debug("ledger: forwarding {} pending transaction(s) again", again.size());
  forward(again);
}

void LedgerApp::admit_loop() {
  std::unique_lock lock(admit_mu_);
  for (;;) {
    {
      std::lock_guard l(mu_);
      if (stop_) return;
    }
    auto now = Clock::now();
    std::vector<Retry> due;
    for (auto it = retries_.begin(); it != retries_.end();) {
      if (it->next <= now) {
        due.push_back(std::move(*it));
        it = retries_.erase(it);
      } else {
        ++it;
      }
    }
    if (admit_queue_.empty() && due.empty()) {
      admit_cv_.wait_for(lock, std::chrono::milliseconds(retries_.empty() ? 200 : 10));
      continue;
    }
    auto batches = std::move(admit_queue_);
    admit_queue_.clear();
    lock.unlock();
    auto admit = [&](const state::Transaction& tx, int attempts) {
      // Already in a block we verified (it raced ahead of the forwarded copy), or admitted
      // before: it is on its way, and its signature need not be checked twice.
      // (Only then: a copy re-forwarded after an earlier door rejection, e.g. a full mempool,
      // must get another chance.)
      if (attempts == 0 && signature_seen(tx.id()) &&
          (mempool_.contains(tx.id()) || chain_.locate(tx.id())))
        return;
      Status st = mempool_.submit(tx, [](const state::TxOutcome&) {});
      // The door checks the signature before anything else: any other verdict means it holds.
      if (st.ok() || st.message() != "bad signature") note_signature_checked(tx.id());
      // Rejections are usually a race with a block this node has not applied yet (the nonce
      // runs ahead); retry with backoff for about 2.5 s, then leave it to the node it was
      // submitted to (which proposes it when it leads).
      if (!st.ok() && st.code() != Code::kInvalidArgument && attempts < 8) {
        std::lock_guard l(admit_mu_);
        retries_.push_back(
            {tx, attempts + 1, Clock::now() + std::chrono::milliseconds(10 << attempts)});
      }
    };
    for (auto& [peer, payload] : batches) {
      std::vector<state::Transaction> txs;
      try {
        codec::Reader r(payload);
        if (r.u8() != kTxBatch) throw codec::DecodeError("unknown transactions message");
        size_t n = r.count(kMaxTake, "transactions");
        txs.reserve(n);
        for (size_t i = 0; i < n; ++i)
          txs.push_back(state::decode_transaction(r.bytes_view(state::kMaxTxBytes)));
        r.finish();
      } catch (const codec::DecodeError& e) {
        spdlog::warn("p2p: malformed transactions from {}: {}", crypto::did_from_key(peer),
                     e.what());
        network_.transport().block(peer);
        continue;
      }
      {
        std::lock_guard l(fwd_mu_);
        for (const auto& tx : txs) {
          if (received_.emplace(tx.id(), peer).second) received_order_.push_back(tx.id());
        }
        while (received_order_.size() > kMaxReceived) {
          received_.erase(received_order_.front());
          received_order_.pop_front();
        }
      }
      for (const auto& tx : txs) admit(tx, 0);
    }
    for (auto& r : due) admit(r.tx, r.attempts);
    lock.lock();
  }
}

// ---------------------------------------------------------------- worker

bool LedgerApp::signature_checked(const Digest& tx_id) {
  return pool_.count(tx_id) > 0 || signature_seen(tx_id);
}

bool LedgerApp::signature_seen(const Digest& tx_id) {
  std::lock_guard lock(sig_mu_);
  return sig_ok_.count(tx_id) > 0;
}

void LedgerApp::note_signature_checked(const Digest& tx_id) {
  std::lock_guard lock(sig_mu_);
  if (!sig_ok_.insert(tx_id).second) return;
  sig_ok_order_.push_back(tx_id);
  while (sig_ok_order_.size() > kMaxReceived) {
    sig_ok_.erase(sig_ok_order_.front());
    sig_ok_order_.pop_front();
  }
}

void LedgerApp::add_to_pool(std::vector<state::PendingTx> txs) {
  auto now = Clock::now();
  for (auto& p : txs) {
    Digest id = p.tx.id();
    if (pool_.count(id)) continue;
    // Applied by a block while it waited in the mempool's queue: nothing left to do.
    if (chain_.locate(id)) continue;
    bool local;
    {
      std::lock_guard lock(fwd_mu_);
      local = !received_.count(id);
    }
    // A push (or merge) that came in through another node: start fetching its objects now, in
    // parallel with consensus, so that verifying — or applying our own proposal of it — finds
    // them here instead of waiting for them (docs/network.md §4).
    bool fetch = !local && opts_.availability && needs_objects(p.tx);
    state::Block one;
    if (fetch) one.txs.push_back(p.tx);
    uint64_t seq = pool_seq_++;
    pool_order_.emplace(seq, id);
    pool_.emplace(id, PoolTx{seq, std::move(p), local, now, fetch});
    if (!fetch) continue;
    std::vector<crypto::PublicKey> hints;
    {
      std::lock_guard lock(fwd_mu_);
      if (auto it = received_.find(id); it != received_.end()) hints.push_back(it->second);
    }
    opts_.availability(one, std::move(hints), now + kPrefetchDeadline,
                       [this, id](bool ok) { post([this, id, ok] { objects_fetched(id, ok); }); });
  }
}

void LedgerApp::objects_fetched(const Digest& tx_id, bool ok) {
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
  mempool_.finished(state::Block{},
                    {{tx_id, Status(Code::kUnavailable,
                                    "the pushed objects could not be fetched from any peer")}});
}

std::vector<crypto::PublicKey> LedgerApp::availability_hints(const state::Block& b,
                                                             const crypto::PublicKey& proposer) {
  std::vector<crypto::PublicKey> hints{proposer};
  std::lock_guard lock(fwd_mu_);
  for (const auto& tx : b.txs) {
    if (!needs_objects(tx)) continue;
    auto it = received_.find(tx.id());
    if (it != received_.end() && std::find(hints.begin(), hints.end(), it->second) == hints.end())
      hints.insert(hints.begin(), it->second);  // the node the push came in through first
  }
  return hints;
}

void LedgerApp::pump() {
  if (failed_) return;
  advance_commits();
  drive_verifies();
  try_propose();
  run_fetches();
  reforward();
  drop_stale();
  prune();
}

void LedgerApp::store(std::shared_ptr<const state::Block> block, size_t bytes) {
  Digest id = block->id();
  if (blocks_.count(id)) return;
  block_bytes_ += bytes;
  blocks_.emplace(id, Entry{std::move(block), bytes});
  fetches_.erase(id);
}

void LedgerApp::want(const Digest& d, std::optional<crypto::PublicKey> preferred) {
  if (blocks_.count(d) || fetches_.count(d) || fetches_.size() >= kMaxFetches) return;
  Fetch f;
  f.next = Clock::now();
  f.preferred = preferred;
  fetches_.emplace(d, f);
}

void LedgerApp::want_range(uint64_t from, uint64_t to) {
  if (from > to) return;
  if (range_ && range_->from == from && range_->to == to) return;  // in flight
  range_ = RangeFetch{from, to, Clock::time_point{}, 0};
}

std::optional<crypto::PublicKey> LedgerApp::peer_for(uint32_t attempt, const Digest& salt) const {
  std::vector<crypto::PublicKey> others;
  for (const auto& v : validators_)
    if (v != self_) others.push_back(v);
  if (others.empty()) return std::nullopt;
  size_t start = DigestHash{}(salt) % others.size();
  return others[(start + attempt) % others.size()];
}

void LedgerApp::run_fetches() {
  auto now = Clock::now();
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    Fetch& f = it->second;
    if (f.attempt >= kMaxFetchAttempts) {
      it = fetches_.erase(it);  // asked again by whoever still needs it
      continue;
    }
    if (f.next <= now) {
      std::optional<crypto::PublicKey> peer = f.attempt == 0 && f.preferred && *f.preferred != self_
                                                  ? f.preferred
                                                  : peer_for(f.attempt, it->first);
      if (peer) {
        codec::Writer w;
        w.u8(kGetBlock).fixed(it->first);
        network_.transport().send(*peer, p2p::channel::kBlocks, w.data());
      }
      ++f.attempt;
      f.next = now + opts_.fetch_timeout;
    }
    ++it;
  }
  if (range_ && range_->deadline <= now) {
    Digest salt{};
    salt[0] = static_cast<uint8_t>(range_->from);
    if (auto peer = peer_for(range_->attempt, salt)) {
      codec::Writer w;
      w.u8(kGetRange)
          .u64be(range_->from)
          .u32be(static_cast<uint32_t>(range_->to - range_->from + 1));
      network_.transport().send(*peer, p2p::channel::kBlocks, w.data());
    }
    ++range_->attempt;
    range_->deadline = now + opts_.fetch_timeout;
  }
}

void LedgerApp::advance_commits() {
  while (target_ && !failed_) {
    if (committed_.count(target_->second)) {
      target_.reset();  // already applied or being applied (e.g. re-reported after a restart)
      range_.reset();
      return;
    }
    // Walk from the finalized target down to the last block handed to the commit thread, by
    // parent links (hashes).
    std::vector<std::shared_ptr<const state::Block>> path;
    Digest d = target_->second;
    bool complete = false;
    for (;;) {
      auto it = blocks_.find(d);
      if (it == blocks_.end()) {
        want(d, std::nullopt);
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
    std::vector<CommitJob> jobs;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      CommitJob job;
      job.block = *it;
      Digest id = (*it)->id();
      job.executed = executed_.count(id) > 0;
      if (auto m = mine_.find(id); m != mine_.end()) {
        job.rejected = std::move(m->second.rejected);
        job.built = m->second.built;
        mine_.erase(m);
      }
      committed_[id] = (*it)->header.height;
      committed_order_.push_back(id);
      commit_base_ = id;
      commit_base_height_ = (*it)->header.height;
      jobs.push_back(std::move(job));
    }
    while (committed_order_.size() > kMaxCommittedIndex) {
      committed_.erase(committed_order_.front());
      committed_order_.pop_front();
    }
    backlog_ += jobs.size();
    {
      std::lock_guard lock(commit_mu_);
      for (auto& j : jobs) commit_queue_.push_back(std::move(j));
    }
    commit_cv_.notify_one();
  }
}

void LedgerApp::commit_loop() {
  std::unique_lock lock(commit_mu_);
  for (;;) {
    commit_cv_.wait(lock, [&] {
      std::lock_guard l(mu_);
      return stop_ || !commit_queue_.empty();
    });
    {
      std::lock_guard l(mu_);
      if (stop_) return;
    }
    auto job = std::move(commit_queue_.front());
    commit_queue_.pop_front();
    committing_ = true;
    lock.unlock();
    if (!failed_)
      commit_one(std::move(job));  // decrements backlog_ before it wakes the worker
    else
      --backlog_;
    lock.lock();
    committing_ = false;
  }
}

void LedgerApp::commit_one(CommitJob job) {
  const state::Block& block = *job.block;
  Digest id = block.id();
  const auto& h = block.header;
  double commit_ms = 0;
  try {
    if (!job.executed) {
      // Fetched while catching up: execute it first (signatures our door saw are not re-checked).
      Status st = chain_.verify(block, [this](const Digest& t) { return signature_seen(t); });
      if (!st.ok()) throw Error(st.code(), st.message());
    }
    auto t0 = Clock::now();
    chain_.commit(block);  // durable, then the commit listeners
    commit_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  } catch (const std::exception& e) {
    // A finalized block our state machine cannot apply: this node has diverged (or its disk
    // failed). Acknowledge nothing more.
    spdlog::critical("ledger: cannot apply finalized block {} at height {}: {}", hex_encode(id),
                     h.height, e.what());
    failed_ = true;
    --backlog_;
    mempool_.shutdown();
    return;
  }
  committed_view_ = h.view;
  --backlog_;
  ++blocks_committed_;
  txs_committed_ += block.txs.size();
  if (job.built && applied_ms_.size() < (1u << 20))
    applied_ms_.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - *job.built).count());
  mempool_.finished(block, job.rejected);  // after the commit and its listeners: the acks
  spdlog::debug("ledger: applied block {} (view {}) with {} transactions ({:.1f} ms)", h.height,
                h.view, block.txs.size(), commit_ms);
  auto rejected = std::make_shared<std::vector<Digest>>();
  for (const auto& [t, st] : job.rejected) rejected->push_back(t);
  post([this, b = job.block, rejected] {
    committed(*b);
    for (const auto& t : *rejected) unpool(t);
  });
}

void LedgerApp::committed(const state::Block& block) {
  for (const auto& tx : block.txs) unpool(tx.id());
}

void LedgerApp::unpool(const Digest& tx_id) {
  auto it = pool_.find(tx_id);
  if (it == pool_.end()) return;
  pool_order_.erase(it->second.seq);
  pool_.erase(it);
}

LedgerApp::Ready LedgerApp::ensure_executed(const Digest& d) {
  auto head = chain_.head();
  std::vector<std::shared_ptr<const state::Block>> todo;
  Digest cur = d;
  for (size_t depth = 0;; ++depth) {
    if (cur == head.id || executed_.count(cur)) break;
    if (auto c = committed_.find(cur); c != committed_.end()) {
      // Handed to the commit thread: wait until it is the head; below the head it is stale.
      return c->second > head.height ? Ready::kWaiting : Ready::kFailed;
    }
    if (depth >= kMaxAncestorWalk) return Ready::kWaiting;  // commits catch up first
    auto it = blocks_.find(cur);
    if (it == blocks_.end()) {
      want(cur, std::nullopt);
      return Ready::kWaiting;
    }
    if (it->second.block->header.height <= head.height) return Ready::kFailed;
    todo.push_back(it->second.block);
    cur = it->second.block->header.parent;
  }
  for (auto it = todo.rbegin(); it != todo.rend(); ++it) {
    Status st = chain_.verify(**it, [this](const Digest& t) { return signature_checked(t); });
    if (!st.ok()) {
      spdlog::warn("ledger: ancestor block {} does not execute: {}", hex_encode((*it)->id()),
                   st.message());
      return Ready::kFailed;
    }
    executed_[(*it)->id()] = (*it)->header.height;
  }
  return Ready::kYes;
}

void LedgerApp::drive_verifies() {
  if (verifies_.empty() || !driver_) return;
  consensus::View current = driver_->view();
  auto record_of = [](const Entry& e) {
    Bytes rec;
    auto enc = e.block->encode();
    rec.reserve(enc.size() + 1);
    rec.push_back(runtime::kAppRecordTag);
    rec.insert(rec.end(), enc.begin(), enc.end());
    return rec;
  };
  for (auto it = verifies_.begin(); it != verifies_.end();) {
    const auto& ctx = it->ctx;
    if (ctx.round.view + 10 < current) {
      available_.erase(it->digest);
      it = verifies_.erase(it);  // long decided without us
      continue;
    }
    auto bit = blocks_.find(it->digest);
    if (bit == blocks_.end()) {
      want(it->digest, validators_.at(ctx.leader));
      ++it;
      continue;
    }
    const auto& b = *bit->second.block;
    const auto& h = b.header;
    bool ok = h.parent == ctx.parent_payload && h.view == ctx.round.view &&
              h.proposer == validators_.at(ctx.leader) &&
              h.timestamp_ms <= unix_millis() + kMaxFutureMs;
    if (ok && !executed_.count(it->digest)) {
      switch (ensure_executed(h.parent)) {
        case Ready::kWaiting:
          ++it;
          continue;
        case Ready::kFailed:
          ok = false;
          break;
        case Ready::kYes: {
          auto t0 = Clock::now();
          Status st = chain_.verify(b, [this](const Digest& t) { return signature_checked(t); });
          spdlog::debug("ledger: verified block {} (view {}, {} transactions) in {:.1f} ms",
                        h.height, h.view, b.txs.size(),
                        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (st.ok()) {
            executed_[it->digest] = h.height;
            for (const auto& tx : b.txs) note_signature_checked(tx.id());
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
    if (ok && opts_.availability) {
      // Data availability: vote only once the git objects the block's ref updates point at
      // are here. Asked once per block; the answer comes back as a job (and a pump).
      auto a = available_.find(it->digest);
      if (a == available_.end()) {
        available_.emplace(it->digest, Availability{});
        Digest d = it->digest;
        opts_.availability(b, availability_hints(b, h.proposer),
                           Clock::now() + opts_.availability_timeout, [this, d](bool r) {
                             post([this, d, r] {
                               if (auto x = available_.find(d); x != available_.end())
                                 x->second = Availability{true, r};
                             });
                           });
        ++it;
        continue;
      }
      if (!a->second.done) {
        ++it;
        continue;
      }
      bool have = a->second.ok;
      available_.erase(a);
      if (!have) {
        // Not voting lets the view time out; a verdict of "invalid" would accuse the leader of
        // what may be our own slow link.
        spdlog::warn("ledger: not voting for block {} (view {}): its git objects did not arrive",
                     h.height, h.view);
        it = verifies_.erase(it);
        continue;
      }
    }
    driver_->verified(ctx.round, it->digest, ok, ok ? record_of(bit->second) : Bytes{});
    it = verifies_.erase(it);
  }
}

void LedgerApp::try_propose() {
  if (!propose_ || !driver_) return;
  auto ctx = *propose_;
  if (ctx.round.view < driver_->view()) {
    propose_.reset();  // that view is over
    return;
  }
  if (pool_.empty()) return;  // idle: wait for a transaction (or the view's timeout)
  // Applying lags behind finalization: propose once it catches up (a commit wakes us), with a
  // bigger block, rather than queue more blocks that each cost a commit fsync.
  if (backlog_.load() >= kMaxCommitBacklog) return;
  switch (ensure_executed(ctx.parent_payload)) {
    case Ready::kWaiting:
      return;
    case Ready::kFailed:
      propose_.reset();
      driver_->proposed(ctx.round, std::nullopt);
      return;
    case Ready::kYes:
      break;
  }
  // Transactions already in the (not yet applied) ancestors are not proposed again.
  auto head = chain_.head();
  std::unordered_set<Digest, DigestHash> in_flight;
  for (Digest d = ctx.parent_payload; d != head.id;) {
    auto it = blocks_.find(d);
    if (it == blocks_.end()) break;
    for (const auto& tx : it->second.block->txs) in_flight.insert(tx.id());
    d = it->second.block->header.parent;
  }
  std::vector<state::PendingTx> candidates;
  for (const auto& [seq, id] : pool_order_) {
    if (candidates.size() >= opts_.max_block_txs) break;
    if (in_flight.count(id)) continue;
    const auto& ptx = pool_.at(id);
    if (ptx.objects_pending) continue;  // not proposable before its objects are here
    candidates.push_back(ptx.tx);
  }
  if (candidates.empty()) return;  // everything pending is already on its way
  propose_.reset();
  state::BuildResult built;
  auto t_build = Clock::now();
  try {
    built = chain_.build(ctx.parent_payload, std::move(candidates), ctx.round.view, unix_millis(),
                         self_);
  } catch (const std::exception& e) {
    spdlog::error("ledger: cannot build on {}: {}", hex_encode(ctx.parent_payload), e.what());
    driver_->proposed(ctx.round, std::nullopt);
    return;
  }
  if (built.block.txs.empty()) {
    // Every candidate failed on this parent: most often transactions a block applied moments
    // ago that are still in our pool (the commit thread posts their removal), or ones another
    // block made invalid. An empty block would cost a view, a height and an fsync for nothing:
    // drop them (their submitters hear through Mempool::finished / recheck) and keep waiting
    // for work in this view.
    // Only on the applied head are the verdicts final; on a parent that may yet be abandoned
    // they stay (and the view waits for its timeout or for new work).
    bool on_head = ctx.parent_payload == chain_.head().id;
    if (on_head)
      for (const auto& [t, st] : built.rejected) unpool(t);
    // On the applied head the verdicts are final (every later block extends it): tell the
    // submitters now. On an unapplied parent, Mempool::recheck tells them once it is applied.
    // A transaction rejected because a block just applied it (still in our pool: the commit
    // thread reports it applied right after) is no rejection: leave it out.
    if (on_head) {
      std::vector<std::pair<Digest, Status>> final_rejections;
      for (auto& r : built.rejected)
        if (!chain_.locate(r.first)) final_rejections.push_back(std::move(r));
      mempool_.finished(state::Block{}, final_rejections);
      propose_ = ctx;  // wait for new work in this view
    } else {
      driver_->proposed(ctx.round, std::nullopt);  // skip the view rather than rebuild in a loop
    }
    return;
  }
  auto block = std::make_shared<const state::Block>(std::move(built.block));
  Digest id = block->id();
  Bytes encoded = block->encode();
  executed_[id] = block->header.height;
  store(block, encoded.size());
  mine_[id] =
      Mine{ctx.round.view, block->header.height, Clock::now(), std::move(built.rejected), false};
  // The block travels before our vote (allowed: bytes cannot form a certificate).
  {
    Bytes push;
    push.reserve(encoded.size() + 1);
    push.push_back(kPush);
    push.insert(push.end(), encoded.begin(), encoded.end());
    network_.send_to_validators(p2p::channel::kBlocks, push);
  }
  Bytes record;
  record.reserve(encoded.size() + 1);
  record.push_back(runtime::kAppRecordTag);
  record.insert(record.end(), encoded.begin(), encoded.end());
  spdlog::debug("ledger: proposing block {} (view {}) with {} transactions (built in {:.1f} ms)",
                block->header.height, ctx.round.view, block->txs.size(),
                std::chrono::duration<double, std::milli>(Clock::now() - t_build).count());
  driver_->proposed(ctx.round, id, std::move(record));
}

void LedgerApp::prune() {
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

void LedgerApp::send_blocks(const crypto::PublicKey& peer, const std::vector<Bytes>& blocks) {
  codec::Writer w;
  w.u8(kBlocks).varint(blocks.size());
  for (const auto& b : blocks) w.bytes(b);
  network_.transport().send(peer, p2p::channel::kBlocks, w.data());
}

void LedgerApp::on_blocks(const crypto::PublicKey& peer, const Bytes& payload) {
  bool from_validator =
      std::find(validators_.begin(), validators_.end(), peer) != validators_.end();
  auto head = chain_.head();
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
        std::vector<Bytes> out;
        if (auto it = blocks_.find(d); it != blocks_.end()) {
          out.push_back(it->second.block->encode());
        } else if (auto c = committed_.find(d); c != committed_.end() && c->second > 0) {
          if (auto b = chain_.block_at(c->second)) out.push_back(b->encode());
        }
        send_blocks(peer, out);
        break;
      }
      case kGetRange: {
        uint64_t from = r.u64be();
        uint32_t count = r.u32be();
        r.finish();
        std::vector<Bytes> out;
        size_t bytes = 0;
        for (uint64_t hgt = std::max<uint64_t>(from, 1);
             hgt < from + std::min<uint64_t>(count, kMaxRange) && hgt <= head.height &&
             bytes < kMaxAnswerBytes;
             ++hgt) {
          auto b = chain_.block_at(hgt);
          if (!b) break;
          out.push_back(b->encode());
          bytes += out.back().size();
        }
        send_blocks(peer, out);
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
    network_.transport().block(peer);
  }
}

void LedgerApp::write_stats() {
  if (opts_.stats_file.empty()) return;
  auto summary = [](const std::vector<double>& v) {
    return nlohmann::json{{"count", v.size()},
                          {"p50_ms", percentile(v, 0.50)},
                          {"p90_ms", percentile(v, 0.90)},
                          {"p99_ms", percentile(v, 0.99)},
                          {"max_ms", percentile(v, 1.0)}};
  };
  nlohmann::json j{{"proposal_to_finalized", summary(finality_ms_)},
                   {"proposal_to_applied", summary(applied_ms_)},
                   {"blocks_applied", blocks_committed_},
                   {"transactions_applied", txs_committed_}};
  try {
    atomic_write_file(opts_.stats_file, as_bytes(j.dump(2) + "\n"));
  } catch (const std::exception& e) {
    spdlog::warn("cannot write {}: {}", opts_.stats_file.string(), e.what());
  }
}

// ---------------------------------------------------------------- NodeConsensus

NodeConsensus::NodeConsensus(state::Chain& chain, state::Mempool& mempool,
                             const crypto::SigningKey& key, Network& network,
                             const std::filesystem::path& data_dir, NodeConsensusOptions options) {
  const auto& g = chain.genesis();
  consensus::Config cfg(key);
  cfg.ns = "guts/" + g.chain_id;
  for (const auto& v : g.validators) cfg.participants.push_back(v.key);
  cfg.genesis = g.id();  // the parent of block 1: consensus payloads are block ids
  cfg.leader_timeout = g.leader_timeout_ms;
  cfg.certification_timeout = g.certification_timeout_ms;
  cfg.timeout_retry = g.timeout_retry_ms;
  cfg.skip_timeout = std::max(g.certification_timeout_ms, g.timeout_retry_ms) + 1000;
  cfg.fetch_timeout = std::clamp<uint64_t>(g.leader_timeout_ms / 2, 50, 1000);

  LedgerAppOptions opts;
  opts.max_block_txs = std::min(options.max_block_txs, kMaxConsensusBlockTxs);
  opts.fetch_timeout = std::chrono::milliseconds(cfg.fetch_timeout);
  opts.validator = options.validator;
  opts.on_finalized = std::move(options.on_finalized);
  opts.availability = std::move(options.availability);
  // Objects must arrive well inside the time the other validators wait for our vote.
  opts.availability_timeout = std::chrono::milliseconds(
      std::max<uint64_t>(500, g.leader_timeout_ms + g.certification_timeout_ms / 2));
  if (options.validator) opts.stats_file = data_dir / "consensus" / "stats.json";
  app_ = std::make_unique<LedgerApp>(chain, mempool, key.public_key(), cfg.participants, network,
                                     std::move(opts));
  app_->subscribe(network);
  if (!options.validator) return;
  runtime::SimplexDriver::Options dopts(std::move(cfg));
  dopts.journal_dir = data_dir / "consensus";
  dopts.channels =
      runtime::ChannelMap{p2p::channel::kVotes, p2p::channel::kCertificates, channel::kResolver};
  driver_ = std::make_unique<runtime::SimplexDriver>(std::move(dopts), network.transport(), *app_);
  app_->attach(*driver_);
  for (uint64_t ch : {p2p::channel::kVotes, p2p::channel::kCertificates, channel::kResolver}) {
    network.subscribe(ch, [d = driver_.get(), ch](const crypto::PublicKey& peer, Bytes payload) {
      d->deliver(peer, ch, std::move(payload));
    });
  }
}

NodeConsensus::~NodeConsensus() {
  stop();
}

void NodeConsensus::start() {
  app_->start();
  if (!driver_) return;
  driver_->start();
  // Blocks finalized before a restart whose bytes are in the journal are applied before the
  // node serves clients (a block we must fetch from peers may take longer: do not wait long).
  if (!app_->wait_applied(std::chrono::seconds(10)))
    spdlog::warn("consensus: still applying finalized blocks in the background");
}

void NodeConsensus::stop() {
  if (driver_) driver_->stop();
  if (app_) app_->stop();
}

}  // namespace guts::node
