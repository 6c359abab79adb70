// The ledger as a Simplex application (docs/consensus.md §8): consensus orders block digests,
// this class makes, checks, moves and applies the blocks behind them.
//
//   propose(ctx)   build a block of pending transactions on ctx.parent (Chain::build), push it
//                  to the validators on the blocks channel, answer its id. With nothing to
//                  propose the answer waits until a transaction arrives; if none does, the
//                  view times out and is nullified, so an idle network costs one nullify per
//                  leader timeout and no empty blocks.
//   verify(ctx,d)  wait for block d (pushed by the leader, else fetched by digest), check that
//                  it is the leader's child of ctx.parent for this view, re-execute it
//                  (Chain::verify; signatures already checked at our mempool door are not
//                  checked again) and answer. The block bytes are journaled with our vote.
//   certify        true.
//   finalized(f)   commit the finalized block and every finalized ancestor not yet applied, in
//                  height order (fetching missing ones by digest, and by height range when far
//                  behind: a node that catches up links each block to the certified digest by
//                  hash before applying it), then report the outcomes to the mempool — after
//                  Chain::commit and its listeners, so a submitter hears "applied" only then.
//
// Transactions: a worker takes accepted transactions from the Mempool into its pool (they stay
// pending there, nonces reserved, until a finalized block includes or rejects them) and
// forwards them to the other validators, whose mempools admit them through the same door, so
// whichever validator leads next can propose them. A transaction rejected while building our
// proposal is reported only if that proposal is finalized (until then it may still be applied
// by another block).
//
// Threads: consensus calls arrive on the driver thread and are queued to one worker thread,
// which owns the block store and runs every Chain::build / verify / commit in order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/simplex_driver.h"
#include "state/chain.h"
#include "state/mempool.h"

namespace guts::node {

class Network;

inline constexpr size_t kMaxConsensusBlockTxs = 2000;

struct DigestHash {
  size_t operator()(const Digest& d) const noexcept;
};

struct LedgerAppOptions {
  // Capped at kMaxConsensusBlockTxs: every validator re-executes a proposal before voting, and
  // that must fit well inside the certification timeout, also on a busy machine.
  size_t max_block_txs = 2000;
  std::chrono::milliseconds fetch_timeout{300};
  std::filesystem::path stats_file;  // latency figures written at stop (empty: none)
  // Whether this node votes. A full node runs the same ledger without a driver: it never
  // proposes or verifies, it applies blocks finalized by verified heads (node/finality.h) and
  // forwards its clients' transactions to the validators.
  bool validator = true;
  // Every finalization the engine reports (driver thread; must not block).
  std::function<void(const consensus::Finalized&)> on_finalized;
  // Data availability (docs/network.md §3): before voting for a block, `availability` must
  // answer done(true), i.e. this node holds every git object the block's ref updates need
  // (fetched from `hints` — the proposer, the nodes that forwarded its transactions — or
  // others). A proposal whose objects do not arrive by the deadline is not voted for.
  using AvailabilityFn = std::function<void(
      const state::Block& block, std::vector<crypto::PublicKey> hints,
      std::chrono::steady_clock::time_point deadline, std::function<void(bool ok)> done)>;
  AvailabilityFn availability;
  std::chrono::milliseconds availability_timeout{3000};
  // How long a transaction this node forwarded may stay pending before it is sent again (the
  // validators may have missed it: a session was down, an admission queue was full).
  std::chrono::milliseconds reforward_after{2000};
};

class LedgerApp : public runtime::DrivenApplication {
 public:
  LedgerApp(state::Chain& chain, state::Mempool& mempool, crypto::PublicKey self,
            std::vector<crypto::PublicKey> validators, Network& network, LedgerAppOptions options);
  ~LedgerApp() override;

  // Before start(): where answers go; and the network channels this class serves.
  void attach(runtime::SimplexDriver& driver);
  void subscribe(Network& network);
  // Starts the worker, mempool intake and admission threads (before the driver starts).
  void start();
  void stop();
  // Waits (at most `timeout`) until every finalized block reported so far is applied: after a
  // restart the node applies what its journal finalized before it serves clients.
  bool wait_applied(std::chrono::milliseconds timeout);

  // consensus::Application (driver thread; never blocks)
  void propose(const consensus::Context& ctx) override;
  void verify(const consensus::Context& ctx, const Digest& payload) override;
  void certify(const consensus::Round& round, const Digest& payload) override;
  void finalized(const consensus::Finalized& f) override;
  void fault(const consensus::Fault& f) override {}
  // runtime::DrivenApplication
  void restore(ByteView record) override;
  std::optional<bool> certify_now(const consensus::Round&, const Digest&) override { return true; }
  consensus::View retain_from() const override { return committed_view_.load() + 1; }

 private:
  struct Entry {
    std::shared_ptr<const state::Block> block;
    size_t bytes = 0;
  };
  struct PoolTx {
    uint64_t seq = 0;
    state::PendingTx tx;
    bool local = false;  // submitted to this node (we forward it), not received from a peer
    std::chrono::steady_clock::time_point forwarded{};
    // A push or merge received from a peer: proposed only once its objects are here (a leader
    // that proposed what nobody can serve would stall every view it leads).
    bool objects_pending = false;
  };
  struct Availability {
    bool done = false;
    bool ok = false;
  };
  struct PendingVerify {
    consensus::Context ctx;
    Digest digest{};
  };
  struct Fetch {
    std::chrono::steady_clock::time_point next{};
    uint32_t attempt = 0;
    std::optional<crypto::PublicKey> preferred;
  };
  struct RangeFetch {
    uint64_t from = 0, to = 0;  // inclusive
    std::chrono::steady_clock::time_point deadline{};
    uint32_t attempt = 0;
  };
  struct Mine {
    consensus::View view = 0;
    uint64_t height = 0;
    std::chrono::steady_clock::time_point built{};
    std::vector<std::pair<Digest, Status>> rejected;
    bool finalized = false;
  };
  enum class Ready { kYes, kWaiting, kFailed };
  // A finalized block handed to the commit thread, in height order.
  struct CommitJob {
    std::shared_ptr<const state::Block> block;
    bool executed = false;  // Chain holds its execution (we built or verified it)
    std::vector<std::pair<Digest, Status>> rejected;  // ours: build rejections to report
    std::optional<std::chrono::steady_clock::time_point> built;
  };

  void post(std::function<void()> job);
  void worker_loop();
  void intake_loop();
  void admit_loop();
  void commit_loop();
  void commit_one(CommitJob job);  // commit thread

  // worker thread
  void pump();
  void advance_commits();
  void committed(const state::Block& block);  // worker bookkeeping after a commit
  void drive_verifies();
  void try_propose();
  Ready ensure_executed(const Digest& d);
  void store(std::shared_ptr<const state::Block> block, size_t bytes);
  void want(const Digest& d, std::optional<crypto::PublicKey> preferred);
  void want_range(uint64_t from, uint64_t to);
  void run_fetches();
  void prune();
  void on_blocks(const crypto::PublicKey& peer, const Bytes& payload);
  void send_blocks(const crypto::PublicKey& peer, const std::vector<Bytes>& blocks);
  std::optional<crypto::PublicKey> peer_for(uint32_t attempt, const Digest& salt) const;
  bool signature_checked(const Digest& tx_id);  // worker thread
  bool signature_seen(const Digest& tx_id);     // any thread
  void note_signature_checked(const Digest& tx_id);
  void add_to_pool(std::vector<state::PendingTx> txs);
  bool forwards() const { return validators_.size() > 1 || !opts_.validator; }
  void forward(const std::vector<const state::Transaction*>& txs);
  void reforward();                                    // worker thread
  void drop_stale();                                   // worker thread
  void objects_fetched(const Digest& tx_id, bool ok);  // worker thread
  void unpool(const Digest& tx_id);                    // worker thread: leaves pool_
  std::vector<crypto::PublicKey> availability_hints(const state::Block& b,
                                                    const crypto::PublicKey& proposer);
  void write_stats();

  state::Chain& chain_;
  state::Mempool& mempool_;
  crypto::PublicKey self_;
  std::vector<crypto::PublicKey> validators_;
  Network& network_;
  LedgerAppOptions opts_;
  runtime::SimplexDriver* driver_ = nullptr;

  // ---- worker state ----
  std::unordered_map<Digest, Entry, DigestHash> blocks_;
  size_t block_bytes_ = 0;
  std::unordered_map<Digest, uint64_t, DigestHash> executed_;  // id -> height (Chain's cache)
  std::unordered_map<Digest, PoolTx, DigestHash> pool_;
  std::map<uint64_t, Digest> pool_order_;
  uint64_t pool_seq_ = 0;
  std::optional<consensus::Context> propose_;
  std::vector<PendingVerify> verifies_;
  std::optional<std::pair<consensus::View, Digest>> target_;
  std::map<Digest, Fetch> fetches_;
  std::optional<RangeFetch> range_;
  std::map<Digest, Mine> mine_;
  std::unordered_map<Digest, Availability, DigestHash> available_;  // by block, while verifying
  std::chrono::steady_clock::time_point last_reforward_{};
  // Recent blocks handed to the commit thread (committed or about to be): id -> height.
  std::unordered_map<Digest, uint64_t, DigestHash> committed_;
  std::deque<Digest> committed_order_;
  Digest commit_base_{};  // the last block handed over (the head at start)
  uint64_t commit_base_height_ = 0;
  std::atomic<bool> failed_{false};
  std::vector<double> finality_ms_;                    // worker
  std::vector<double> applied_ms_;                     // commit thread
  uint64_t blocks_committed_ = 0, txs_committed_ = 0;  // commit thread
  std::atomic<consensus::View> committed_view_{0};

  // Commits run on their own thread: Chain::commit fsyncs and runs the commit listeners (the
  // git projection moves refs, creates repositories), which must not hold up verifying the
  // next proposals.
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::deque<CommitJob> commit_queue_;
  bool committing_ = false;  // under commit_mu_
  // Finalized blocks handed over and not yet applied. A leader waits while it is high, so
  // under load blocks grow instead of queueing up behind one commit fsync each.
  std::atomic<size_t> backlog_{0};
  std::thread committer_;

  // ---- threads ----
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread worker_, intake_, admit_;

  // Transactions that reached us from peers (not forwarded again), and who sent them (where a
  // push's objects are), bounded FIFO.
  std::mutex fwd_mu_;
  std::unordered_map<Digest, crypto::PublicKey, DigestHash> received_;
  std::deque<Digest> received_order_;
  // Ids whose signature our mempool door verified (bounded FIFO): a block holding them is
  // re-executed without checking those signatures again.
  std::mutex sig_mu_;
  std::unordered_set<Digest, DigestHash> sig_ok_;
  std::deque<Digest> sig_ok_order_;

  // Forwarded batches waiting for admission (signature checks happen off the I/O thread).
  struct Retry {
    state::Transaction tx;
    int attempts = 0;
    std::chrono::steady_clock::time_point next{};
  };
  std::mutex admit_mu_;
  std::condition_variable admit_cv_;
  std::deque<std::pair<crypto::PublicKey, Bytes>> admit_queue_;
  std::vector<Retry> retries_;
};

// The node's consensus: for a validator, the Simplex driver (journal in <data>/consensus) over
// the ledger application; for a full node the ledger alone, fed finalizations by the finality
// relay (node/finality.h). Construct before Network::start() (it subscribes to its channels),
// start() after.
struct NodeConsensusOptions {
  bool validator = true;
  size_t max_block_txs = 5000;
  std::function<void(const consensus::Finalized&)> on_finalized;  // validators
  LedgerAppOptions::AvailabilityFn availability;                  // validators
};

class NodeConsensus {
 public:
  NodeConsensus(state::Chain& chain, state::Mempool& mempool, const crypto::SigningKey& key,
                Network& network, const std::filesystem::path& data_dir,
                NodeConsensusOptions options);
  ~NodeConsensus();
  void start();
  void stop();
  // Null on a full node.
  runtime::SimplexDriver* driver() { return driver_.get(); }
  // Full nodes: a verified finalization (from the finality relay).
  void finalized(const consensus::Finalized& f) { app_->finalized(f); }

 private:
  std::unique_ptr<LedgerApp> app_;
  std::unique_ptr<runtime::SimplexDriver> driver_;
};

}  // namespace guts::node
