#include "ledger/driver.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "core/fs.h"
#include "core/thread_name.h"
#include "core/time.h"
#include "crypto/did.h"
#include "ledger/signature_checks.h"
#include "state/validator_set_state.h"

namespace guts::ledger {

namespace {

static_assert(kBlockRecordTag == runtime::kAppRecordTag);

constexpr size_t kMaxReceived = 200000;
constexpr size_t kMaxAdmitQueue = 1024;
constexpr size_t kMaxTake = 20000;
constexpr auto kIdlePoll = std::chrono::milliseconds(20);

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

// The Core's view of the chain: state::Chain, plus the signatures this node's mempool door
// (or an earlier verification) already checked. Used on the worker thread only.
class Driver::ChainAdapter : public ChainPort {
 public:
  ChainAdapter(Driver& d) : d_(d) {}
  state::Head head() const override { return d_.chain_.head(); }
  std::optional<state::TxLocation> locate(const Digest& tx_id) const override {
    return d_.chain_.locate(tx_id);
  }
  std::optional<state::Block> block_at(uint64_t height) const override {
    return d_.chain_.block_at(height);
  }
  state::BuildResult build(const Digest& parent, std::vector<state::PendingTx> txs, uint64_t view,
                           uint64_t unix_ms, const crypto::PublicKey& proposer) override {
    auto t0 = Clock::now();
    auto built = d_.chain_.build(parent, std::move(txs), view, unix_ms, proposer);
    if (d_.opts_.forge_block) d_.opts_.forge_block(built.block);
    spdlog::debug("ledger: built block {} in {:.1f} ms", built.block.header.height,
                  std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    return built;
  }
  Status verify(const state::Block& block,
                const std::function<bool(const Digest&)>& checked) override {
    auto t0 = Clock::now();
    auto good = d_.good_signatures(block, checked);
    Status st = d_.chain_.verify(block, [&](const Digest& t) { return good.count(t) > 0; });
    spdlog::debug("ledger: executed block {} in {:.1f} ms", block.header.height,
                  std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (st.ok())
      for (const auto& tx : block.txs) d_.note_signature_checked(tx.id());
    return st;
  }
  std::optional<state::ValidatorSchedule> validator_schedule() const override {
    return state::validator_schedule(d_.chain_.view(), d_.chain_.genesis());
  }

 private:
  Driver& d_;
};

Driver::Driver(state::Chain& chain, state::Mempool& mempool, crypto::PublicKey self,
               std::vector<crypto::PublicKey> validators, Net& net, DriverOptions options)
    : chain_(chain),
      mempool_(mempool),
      self_(self),
      validators_(std::move(validators)),
      net_(net),
      opts_(std::move(options)),
      verify_pool_(opts_.verify_helpers, "guts-verify") {
  auto head = chain_.head();
  if (head.height > 0) {
    if (auto b = chain_.block_at(head.height)) committed_view_ = b->header.view;
  }
}

Driver::~Driver() {
  stop();
}

Now Driver::now() {
  auto steady =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch());
  return Now{static_cast<uint64_t>(steady.count()), unix_millis()};
}

void Driver::on_blocks_message(const crypto::PublicKey& peer, Bytes payload) {
  auto shared = std::make_shared<Bytes>(std::move(payload));
  post([peer, shared](Core& core, Now now) { return core.blocks_message(now, peer, *shared); });
}

void Driver::on_transactions_message(const crypto::PublicKey& peer, Bytes payload) {
  {
    MutexLock lock(admit_mu_);
    if (admit_queue_.size() >= kMaxAdmitQueue) return;  // best effort: the origin keeps it
    admit_queue_.emplace_back(peer, std::move(payload));
  }
  admit_cv_.notify_one();
}

void Driver::start() {
  {
    MutexLock lock(mu_);
    stop_ = false;
  }
  {
    MutexLock lock(commit_mu_);
    commit_stop_ = false;
  }
  {
    MutexLock lock(admit_mu_);
    admit_stop_ = false;
  }
  worker_ = std::thread([this] { worker_loop(); });
  intake_ = std::thread([this] { intake_loop(); });
  admit_ = std::thread([this] { admit_loop(); });
  committer_ = std::thread([this] { commit_loop(); });
}

void Driver::stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  if (!worker_.joinable()) return;  // never started, or stopped already
  {
    MutexLock lock(admit_mu_);
    admit_stop_ = true;
  }
  {
    MutexLock lock(commit_mu_);
    commit_stop_ = true;
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

bool Driver::wait_applied(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && !failed_) {
    auto done = std::make_shared<std::promise<bool>>();
    auto answer = done->get_future();
    post([done](Core& core, Now now) {
      done->set_value(core.idle());
      return core.tick(now);  // as every event, it ends with a pump (and keeps the wake-up)
    });
    if (answer.wait_for(std::chrono::seconds(1)) == std::future_status::ready && answer.get())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void Driver::post(Job job) {
  {
    MutexLock lock(mu_);
    if (stop_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

// ---------------------------------------------------------------- consensus calls

void Driver::propose(const consensus::Context& ctx) {
  post([ctx](Core& core, Now now) { return core.propose(now, ctx); });
}

void Driver::verify(const consensus::Context& ctx, const Digest& payload) {
  post([ctx, payload](Core& core, Now now) { return core.verify(now, ctx, payload); });
}

void Driver::certify(const consensus::Round& round, const Digest& payload) {
  if (consensus_) consensus_->certified(round, payload, true);
}

void Driver::finalized(const consensus::Finalized& f) {
  if (opts_.on_finalized) opts_.on_finalized(f);
  auto round = f.proposal.round;
  auto digest = f.proposal.payload;
  auto at = now();  // finality latency counts from here, not from when the worker gets to it
  post([round, digest, at](Core& core, Now now) {
    now.steady_ms = at.steady_ms;
    return core.finalized(now, round, digest);
  });
}

void Driver::restore(ByteView record) {
  auto bytes = std::make_shared<Bytes>(record.begin(), record.end());
  post([bytes](Core& core, Now now) { return core.restore(now, *bytes); });
}

// ---------------------------------------------------------------- worker

void Driver::worker_loop() {
  set_thread_name("guts-ledger");
  ChainAdapter port(*this);
  CoreOptions co;
  co.self = self_;
  co.validators = validators_;
  co.validator = opts_.validator;
  co.max_block_txs = opts_.max_block_txs;
  co.fetch_timeout_ms = static_cast<uint64_t>(opts_.fetch_timeout.count());
  co.availability = static_cast<bool>(opts_.availability);
  co.availability_timeout_ms = static_cast<uint64_t>(opts_.availability_timeout.count());
  co.reforward_after_ms = static_cast<uint64_t>(opts_.reforward_after.count());
  co.empty_child_after_ms = static_cast<uint64_t>(opts_.empty_child_after.count());
  // Owned by this thread alone: every other thread reaches it through a queued Job.
  Core core(port, std::move(co));
  std::optional<uint64_t> wake;
  auto run = [&](const Job& job) {
    Now t = now();
    if (consensus_) core.consensus_view(consensus_->round());
    Actions a;
    try {
      a = job(core, t);
    } catch (const std::exception& e) {
      spdlog::error("ledger: {}", e.what());
    }
    wake = a.wake_ms;
    // Fail-stop (a finalized block that does not extend our chain): acknowledge nothing more.
    if (core.failed()) failed_ = true;
    execute(std::move(a), t);
  };
  MutexLock lock(mu_);
  while (!stop_) {
    if (jobs_.empty()) {
      // Retries need a tick (and stale transactions a recheck); otherwise sleep until work.
      if (!wake && mempool_.size() == 0)
        lock.wait(cv_);
      else
        lock.wait_for(cv_, kIdlePoll);
    }
    if (stop_) break;
    auto jobs = std::move(jobs_);
    jobs_.clear();
    lock.unlock();
    for (auto& job : jobs) run(job);
    if (jobs.empty() && !core.failed()) run([](Core& c, Now t) { return c.tick(t); });
    // Transactions another validator dropped while building its block (only the builder
    // reports those) fail against the state we hold: the mempool reports them, we stop
    // offering them. (Also with an empty pool: one we dropped while building is still there.)
    if (!core.failed() && mempool_.size() > 0) {
      auto stale = mempool_.recheck(std::chrono::milliseconds(500));
      if (!stale.empty()) run([&stale](Core& c, Now t) { return c.stale(t, stale); });
    }
    lock.lock();
  }
  finality_ms_ = core.finality_ms();
}

void Driver::execute(Actions a, Now now) {
  if (!a.rejected.empty()) mempool_.finished(state::Block{}, a.rejected);
  if (!a.commits.empty()) {
    {
      MutexLock lock(commit_mu_);
      for (auto& j : a.commits) commit_queue_.push_back(std::move(j));
    }
    commit_cv_.notify_one();
  }
  if (consensus_) {
    for (auto& p : a.proposed) consensus_->proposed(p.round, p.digest, std::move(p.record));
    for (auto& v : a.verified) consensus_->verified(v.round, v.digest, v.ok, std::move(v.record));
  }
  for (const auto& s : a.sends) {
    if (s.to)
      net_.send(*s.to, s.channel, s.payload);
    else
      net_.send_to_validators(s.channel, s.payload);
  }
  for (const auto& peer : a.block) net_.block(peer);
  auto deadline = [now](uint64_t ms) {
    return Clock::now() + std::chrono::milliseconds(ms > now.steady_ms ? ms - now.steady_ms : 0);
  };
  if (opts_.availability) {
    for (auto& r : a.availability) {
      Digest id = r.id;
      opts_.availability(
          *r.block, std::move(r.hints), deadline(r.deadline_ms), [this, id](bool ok) {
            post([id, ok](Core& core, Now t) { return core.availability(t, id, ok); });
          });
    }
    for (auto& r : a.prefetch) {
      Digest id = r.tx;
      opts_.availability(r.one, std::move(r.hints), deadline(r.deadline_ms), [this, id](bool ok) {
        post([id, ok](Core& core, Now t) { return core.objects_fetched(t, id, ok); });
      });
    }
  }
}

// ---------------------------------------------------------------- intake and admission

void Driver::intake_loop() {
  set_thread_name("guts-intake");
  for (;;) {
    {
      MutexLock lock(mu_);
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
    auto taken = std::make_shared<std::vector<TakenTx>>();
    taken->reserve(txs.size());
    {
      MutexLock lock(admit_mu_);
      for (auto& p : txs) {
        TakenTx t{std::move(p), std::nullopt};
        if (auto it = origins_.find(t.tx.tx.id()); it != origins_.end()) t.from = it->second;
        taken->push_back(std::move(t));
      }
    }
    post([taken](Core& core, Now now) { return core.transactions(now, std::move(*taken)); });
  }
}

bool Driver::signature_seen(const Digest& tx_id) const {
  MutexLock lock(sig_mu_);
  return sig_ok_.count(tx_id) > 0;
}

void Driver::note_signature_checked(const Digest& tx_id) {
  MutexLock lock(sig_mu_);
  if (!sig_ok_.insert(tx_id).second) return;
  sig_ok_order_.push_back(tx_id);
  while (sig_ok_order_.size() > kMaxReceived) {
    sig_ok_.erase(sig_ok_order_.front());
    sig_ok_order_.pop_front();
  }
}

std::unordered_set<Digest, DigestHash> Driver::good_signatures(
    const state::Block& block, const std::function<bool(const Digest&)>& checked) {
  auto good = check_signatures(
      verify_pool_, block.txs,
      [&](const Digest& t) { return (checked && checked(t)) || signature_seen(t); },
      /*urgent=*/true);
  std::unordered_set<Digest, DigestHash> ids;
  for (size_t i = 0; i < good.size(); ++i)
    if (good[i]) ids.insert(block.txs[i].id());
  return ids;
}

void Driver::admit_loop() {
  set_thread_name("guts-admit");
  std::vector<Retry> retries;  // this thread's
  // `tx`'s signature is good (checked on the verify pool, or before).
  auto admit = [&](const state::Transaction& tx, int attempts) {
    // Already in a block we verified (it raced ahead of the forwarded copy), or admitted
    // before: it is on its way.
    // (Only then: a copy re-forwarded after an earlier door rejection, e.g. a full mempool,
    // must get another chance.)
    if (attempts == 0 && signature_seen(tx.id()) &&
        (mempool_.contains(tx.id()) || chain_.locate(tx.id())))
      return;
    note_signature_checked(tx.id());
    Status st = mempool_.submit(
        tx, [](const state::TxOutcome&) {}, state::Mempool::Origin::kPeer,
        /*signature_verified=*/true);
    // Rejections are usually a race with a block this node has not applied yet (the nonce
    // runs ahead); retry with backoff for about 2.5 s, then leave it to the node it was
    // submitted to (which proposes it when it leads).
    if (!st.ok() && st.code() != Code::kInvalidArgument && attempts < 8)
      retries.push_back(
          {tx, attempts + 1, Clock::now() + std::chrono::milliseconds(10 << attempts)});
  };
  for (;;) {
    std::deque<std::pair<crypto::PublicKey, Bytes>> batches;
    {
      MutexLock lock(admit_mu_);
      if (admit_stop_) return;
      if (admit_queue_.empty()) {
        bool due = std::any_of(retries.begin(), retries.end(),
                               [now = Clock::now()](const Retry& r) { return r.next <= now; });
        if (!due) {
          lock.wait_for(admit_cv_, std::chrono::milliseconds(retries.empty() ? 200 : 10));
          if (admit_stop_) return;
        }
      }
      batches = std::move(admit_queue_);
      admit_queue_.clear();
    }
    auto now = Clock::now();
    std::vector<Retry> due;
    for (auto it = retries.begin(); it != retries.end();) {
      if (it->next <= now) {
        due.push_back(std::move(*it));
        it = retries.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [peer, payload] : batches) {
      std::vector<state::Transaction> txs;
      try {
        txs = decode_tx_batch(payload);
      } catch (const codec::DecodeError& e) {
        spdlog::warn("p2p: malformed transactions from {}: {}", crypto::did_from_key(peer),
                     e.what());
        net_.block(peer);
        continue;
      }
      {
        MutexLock lock(admit_mu_);
        for (const auto& tx : txs)
          if (origins_.emplace(tx.id(), peer).second) origins_order_.push_back(tx.id());
        while (origins_order_.size() > kMaxReceived) {
          origins_.erase(origins_order_.front());
          origins_order_.pop_front();
        }
      }
      // Every core checks the batch's signatures; the mempool then takes them in order (a
      // signer's nonces follow each other).
      auto good = check_signatures(verify_pool_, txs,
                                   [this](const Digest& t) { return signature_seen(t); });
      size_t bad = 0;
      for (size_t i = 0; i < txs.size(); ++i) {
        if (good[i])
          admit(txs[i], 0);
        else
          ++bad;
      }
      // Every honest door checked them: a bad one proves the forwarder broken or byzantine,
      // as a malformed batch does, and it would make us spend every core on its batches.
      if (bad) {
        spdlog::warn("p2p: {} forwarded {} transactions with a bad signature: blocked",
                     crypto::did_from_key(peer), bad);
        net_.block(peer);
      }
    }
    for (auto& r : due) admit(r.tx, r.attempts);
  }
}

// ---------------------------------------------------------------- committer

void Driver::commit_loop() {
  set_thread_name("guts-commit");
  for (;;) {
    CommitJob job;
    {
      MutexLock lock(commit_mu_);
      while (!commit_stop_ && commit_queue_.empty()) lock.wait(commit_cv_);
      if (commit_stop_) return;
      job = std::move(commit_queue_.front());
      commit_queue_.pop_front();
    }
    if (!failed_) commit_one(std::move(job));
  }
}

void Driver::commit_one(CommitJob job) {
  const state::Block& block = *job.block;
  Digest id = block.id();
  const auto& h = block.header;
  double commit_ms = 0;
  try {
    if (!job.executed) {
      // Fetched while catching up: execute it first (signatures our door saw are not re-checked,
      // the others are checked on the verify pool).
      auto good = good_signatures(block, {});
      Status st = chain_.verify(block, [&](const Digest& t) { return good.count(t) > 0; });
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
    mempool_.shutdown();
    post([](Core& core, Now now) { return core.commit_failed(now); });
    return;
  }
  committed_view_ = h.view;
  ++blocks_committed_;
  txs_committed_ += block.txs.size();
  if (job.built_ms && applied_ms_.size() < (1u << 20)) {
    auto at = now().steady_ms;
    applied_ms_.push_back(static_cast<double>(at > *job.built_ms ? at - *job.built_ms : 0));
  }
  mempool_.finished(block, job.rejected);  // after the commit and its listeners: the acks
  spdlog::debug("ledger: applied block {} (view {}) with {} transactions ({:.1f} ms)", h.height,
                h.view, block.txs.size(), commit_ms);
  auto rejected = std::make_shared<std::vector<Digest>>();
  for (const auto& [t, st] : job.rejected) rejected->push_back(t);
  post([b = job.block, rejected](Core& core, Now now) {
    return core.committed(now, *b, *rejected);
  });
}

void Driver::write_stats() {
  if (opts_.stats_file.empty()) return;
  std::vector<double> finality;
  {
    MutexLock lock(mu_);
    finality = finality_ms_;
  }
  auto summary = [](const std::vector<double>& v) {
    return nlohmann::json{{"count", v.size()},
                          {"p50_ms", percentile(v, 0.50)},
                          {"p90_ms", percentile(v, 0.90)},
                          {"p99_ms", percentile(v, 0.99)},
                          {"max_ms", percentile(v, 1.0)}};
  };
  nlohmann::json j{{"proposal_to_finalized", summary(finality)},
                   {"proposal_to_applied", summary(applied_ms_)},
                   {"blocks_applied", blocks_committed_},
                   {"transactions_applied", txs_committed_}};
  try {
    atomic_write_file(opts_.stats_file, as_bytes(j.dump(2) + "\n"));
  } catch (const std::exception& e) {
    spdlog::warn("cannot write {}: {}", opts_.stats_file.string(), e.what());
  }
}

}  // namespace guts::ledger
