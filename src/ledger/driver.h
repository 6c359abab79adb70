// The ledger's driver: the threads and I/O around the pure ledger::Core (ledger/core.h), as
// runtime::SimplexDriver is around consensus::Engine. It is the Simplex application of a
// validator (consensus calls arrive on the consensus driver's thread and never block) and the
// ledger of a full node (finalized() fed by the finality relay).
//
// Threads and what each one owns:
//   worker     owns the Core (a local object of worker_loop(): no other thread can reach it)
//              and the ChainPort over state::Chain through which it builds and verifies. It
//              turns queued events into Core calls, stamping each with the time, then carries
//              out the returned Actions: answers to the consensus driver, sends, peers to
//              block, availability / prefetch requests (answers come back as events),
//              rejections to the mempool, commit jobs to the committer; Mempool::recheck
//              between events (stale transactions); ticks at the Core's wake time.
//   intake     takes accepted transactions from the Mempool and queues them to the worker with
//              the peer each came from (origins_).
//   admit      decodes forwarded transaction batches (malformed: block the peer), records their
//              origin, checks their signatures in parallel (verify pool) and submits them to
//              the Mempool in order, retrying door rejections with backoff.
//   verify     (verify_pool_: one helper per core beyond the caller's) checks the signatures
//              of a forwarded batch or a block together with the thread that asks.
//   committer  Chain::commit (fsync, commit listeners) of the finalized blocks in order, then
//              Mempool::finished (the acks) and a committed() event back to the worker. A
//              block it cannot apply is fail-stop: mempool shut down, commit_failed() event.
//   transport I/O threads call on_blocks_message / on_transactions_message (never block).
// Shared state is behind the four mutexes below, each annotated (GUTS_GUARDED_BY).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/compute_pool.h"
#include "core/thread_annotations.h"
#include "ledger/core.h"
#include "runtime/simplex_driver.h"
#include "state/chain.h"
#include "state/mempool.h"

namespace guts::ledger {

// The network as the driver needs it (node::Network in the node).
class Net {
 public:
  virtual ~Net() = default;
  virtual void send(const crypto::PublicKey& peer, Channel channel, ByteView payload) = 0;
  virtual void send_to_validators(Channel channel, ByteView payload) = 0;
  virtual void block(const crypto::PublicKey& peer) = 0;
};

// Data availability (docs/network.md §3): `done(true)` once this node holds every git object
// the block's ref updates need (fetched from `hints` or others) before `deadline`.
using AvailabilityFn = std::function<void(
    const state::Block& block, std::vector<crypto::PublicKey> hints,
    std::chrono::steady_clock::time_point deadline, std::function<void(bool ok)> done)>;

struct DriverOptions {
  // Capped at kMaxConsensusBlockTxs: every validator re-executes a proposal before voting, and
  // that must fit well inside the certification timeout, also on a busy machine.
  size_t max_block_txs = 2000;
  std::chrono::milliseconds fetch_timeout{300};
  std::filesystem::path stats_file;  // latency figures written at stop (empty: none)
  bool validator = true;             // see CoreOptions::validator
  // Every finalization the engine reports (consensus driver thread; must not block).
  std::function<void(const consensus::Finalized&)> on_finalized;
  AvailabilityFn availability;  // empty: no availability checks
  // Fault evidence the engine reports (consensus driver thread; must not block for long).
  std::function<void(const consensus::Fault&)> on_fault;
  std::chrono::milliseconds availability_timeout{3000};
  std::chrono::milliseconds reforward_after{2000};
  std::chrono::milliseconds empty_child_after{200};  // empty_child_delay_ms(leader timeout)
  // Threads that verify signatures alongside the one that asks (0: that thread alone).
  size_t verify_helpers = ComputePool::helpers_for_cores();
  // Test seam (node::TestSeams::forge_block): rewrites each block built here before it is
  // proposed. Empty in every production node.
  std::function<void(state::Block&)> forge_block;
};

class Driver : public runtime::DrivenApplication {
 public:
  Driver(state::Chain& chain, state::Mempool& mempool, crypto::PublicKey self,
         std::vector<crypto::PublicKey> validators, Net& net, DriverOptions options);
  ~Driver() override;
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Before start(): where consensus answers go (validators).
  void attach(runtime::SimplexDriver& driver) { consensus_ = &driver; }
  // Network handlers (transport I/O threads; never block).
  void on_blocks_message(const crypto::PublicKey& peer, Bytes payload);
  void on_transactions_message(const crypto::PublicKey& peer, Bytes payload);
  // Starts the worker, intake, admission and commit threads (before the consensus driver).
  void start();
  void stop();
  // Waits (at most `timeout`) until every finalized block reported so far is applied: after a
  // restart the node applies what its journal finalized before it serves clients.
  bool wait_applied(std::chrono::milliseconds timeout);

  // consensus::Application (consensus driver thread; never blocks)
  void propose(const consensus::Context& ctx) override;
  void verify(const consensus::Context& ctx, const Digest& payload) override;
  void certify(const consensus::Round& round, const Digest& payload) override;
  void finalized(const consensus::Finalized& f) override;
  void fault(const consensus::Fault& f) override {
    if (opts_.on_fault) opts_.on_fault(f);
  }
  // runtime::DrivenApplication
  void restore(ByteView record) override;
  std::optional<bool> certify_now(const consensus::Round&, const Digest&) override { return true; }
  consensus::View retain_from() const override { return committed_view_.load() + 1; }

 private:
  using Clock = std::chrono::steady_clock;
  using Job = std::function<Actions(Core&, Now)>;
  class ChainAdapter;

  void post(Job job);
  void worker_loop();
  void intake_loop();
  void admit_loop();
  void commit_loop();
  void commit_one(CommitJob job);                  // committer thread
  void execute(Actions actions, Now now);          // worker thread
  bool signature_seen(const Digest& tx_id) const;  // any thread
  void note_signature_checked(const Digest& tx_id);
  // The ids of `block`'s transactions whose signature is good: `checked` or seen before, or
  // verified now on the verify pool (a bad one is left to Chain::verify to reject).
  std::unordered_set<Digest, DigestHash> good_signatures(
      const state::Block& block, const std::function<bool(const Digest&)>& checked);
  void write_stats();
  static Now now();

  state::Chain& chain_;
  state::Mempool& mempool_;
  const crypto::PublicKey self_;
  const std::vector<crypto::PublicKey> validators_;
  Net& net_;
  const DriverOptions opts_;
  runtime::SimplexDriver* consensus_ = nullptr;  // set before start()
  std::atomic<bool> failed_{false};
  std::atomic<consensus::View> committed_view_{0};

  // Worker queue.
  mutable Mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  std::vector<double> finality_ms_ GUTS_GUARDED_BY(mu_);  // the Core's, handed over at exit

  // Committer queue.
  Mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::deque<CommitJob> commit_queue_ GUTS_GUARDED_BY(commit_mu_);
  bool commit_stop_ GUTS_GUARDED_BY(commit_mu_) = false;
  // Committer thread only (read by write_stats after it is joined).
  std::vector<double> applied_ms_;
  uint64_t blocks_committed_ = 0, txs_committed_ = 0;

  // Forwarded transactions: admission queue and retries (admission thread), and who sent
  // each (bounded FIFO; read by the intake thread).
  struct Retry {
    state::Transaction tx;
    int attempts = 0;
    Clock::time_point next{};
  };
  Mutex admit_mu_;
  std::condition_variable admit_cv_;
  std::deque<std::pair<crypto::PublicKey, Bytes>> admit_queue_ GUTS_GUARDED_BY(admit_mu_);
  bool admit_stop_ GUTS_GUARDED_BY(admit_mu_) = false;
  std::unordered_map<Digest, crypto::PublicKey, DigestHash> origins_ GUTS_GUARDED_BY(admit_mu_);
  std::deque<Digest> origins_order_ GUTS_GUARDED_BY(admit_mu_);

  // Ids whose signature our mempool door (or a verified block) checked, bounded FIFO: a block
  // holding them is executed without checking those signatures again.
  mutable Mutex sig_mu_;
  std::unordered_set<Digest, DigestHash> sig_ok_ GUTS_GUARDED_BY(sig_mu_);
  std::deque<Digest> sig_ok_order_ GUTS_GUARDED_BY(sig_mu_);

  ComputePool verify_pool_;
  std::thread worker_, intake_, admit_, committer_;
};

}  // namespace guts::ledger
