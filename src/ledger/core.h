// The ledger as a pure state machine (issue 12; modelled on consensus/engine.h). Consensus
// orders block digests; the ledger core makes, checks, moves and applies the blocks behind
// them. It has no threads, sockets, clocks or mutexes: every input is an event method taking
// the time as an argument (`Now`: steady ms for deadlines, unix ms for block timestamps), and
// every event returns the `Actions` the driver must carry out. The same code runs in the real
// node (ledger/driver.h) and in the deterministic whole-node simulator.
//
// Events (call on ONE thread; the core is not thread-safe and never blocks):
//   propose(ctx)               consensus asks for a block on ctx.parent. Answered (Proposed)
//                              only with a non-empty block of pooled transactions whose pushed
//                              objects are here; with nothing to propose it waits (the view
//                              times out and is nullified: no empty blocks).
//   verify(ctx, d)             wait for block d (pushed by the leader, else fetched by digest,
//                              rotating peers), check that it is the leader's child of
//                              ctx.parent for this view, re-execute it, ask for data
//                              availability, then answer (Verified).
//   finalized(view, d)         commit d and every finalized ancestor not yet applied, in
//                              height order (fetching missing ones by digest, by height range
//                              when far behind): CommitJob actions.
//   restore(record)            a block record from the consensus journal (replay).
//   blocks_message(peer, msg)  a blocks-channel message (decoded here, bounded; malformed =>
//                              block the peer).
//   transactions(txs)          transactions taken from the mempool, each with the peer it came
//                              from (nullopt: submitted here, forwarded to the validators).
//   stale(ids)                 Mempool::recheck found these no longer valid: leave the pool.
//   objects_fetched(tx, ok)    the prefetch of a forwarded push's objects finished; a failure
//                              drops it and reports it to the mempool.
//   availability(block, ok)    the availability check of a block being verified finished.
//   committed(block, rejected) the driver finished applying a CommitJob (Chain::commit done).
//   commit_failed()            the driver could not apply a finalized block: fail-stop.
//   tick(now)                  retries (fetches, reforward after reforward_after_ms).
//   consensus_view(v)          the consensus engine's current view (stale proposals/verifies).
//
// Actions (Actions, apply in this order): `rejected` to Mempool::finished(Block{}, ...);
// `commits` to the committer in order; `proposed` / `verified` to the consensus driver;
// `sends` (and `block` peers); `availability` / `prefetch` requests (their answers come back
// as availability() / objects_fetched() events); re-arm the timer at `wake_ms` (steady) if set.
//
// Chain work is deterministic execution and is CALLED through the narrow ChainPort interface
// (not emitted as actions): the driver implements it over state::Chain, unit tests and the
// simulator with a fake. This keeps one event = one step, as before, and the core testable.
//
// Fail-stop: a finalized block that does not extend the chain handed to the committer, or a
// commit_failed() event, sets failed(): the core then ignores every event (returns nothing)
// and the driver stops acknowledging (it shuts the mempool down). This is the existing
// behaviour (not GUTS_ASSERT: the process keeps serving reads of what it has).
//
// Driver use (ledger/driver.h is the real one; the whole-node simulator is another):
//   - construct with a ChainPort over the chain; then feed every event on ONE thread, with
//     the time as an argument, and carry out the returned Actions in the order above;
//   - before an event, tell the core the consensus engine's view (consensus_view(v)) if it
//     changed: proposals and verifies of views long over are dropped;
//   - call tick(now) once now >= `wake_ms` of the last Actions (the core asks for a tick every
//     20 ms while it has fetches, a waiting proposal, verifies or pooled transactions);
//   - between events, call Mempool::recheck and feed what it returns to stale();
//   - after applying a CommitJob (Chain::commit), report committed(block, its rejected ids);
//     a CommitJob that cannot be applied: commit_failed().
// Queries (same thread): idle() (nothing finalized waits to be handed over or applied:
// wait_applied), failed(), backlog(), pool_size(), finality_ms() (stats).
//
// Transaction pools (a decision, docs/design.md): pooled transactions also stay in
// state::Mempool (nonces reserved, submitters waiting) until a finalized block includes or
// rejects them. The Mempool is the admission door and the submitters' registry, shared with the
// API threads under its mutex; the core's pool is the proposer's ordered view of the same
// transactions plus what only the ledger knows (who forwarded it, when it was last forwarded,
// whether a push's objects are here), owned by the ledger thread alone. One structure would put
// the API threads' lock around the core and its clock-free logic, so the two stay apart; the
// core only ever holds transactions the Mempool holds (taken, then finished or stale).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "consensus/application.h"
#include "consensus/types.h"
#include "core/status.h"
#include "crypto/ed25519.h"
#include "state/chain.h"
#include "state/validator_set.h"

namespace guts::ledger {

inline constexpr size_t kMaxConsensusBlockTxs = 2000;
// First byte of the journal records the core answers with (runtime::kAppRecordTag).
inline constexpr uint8_t kBlockRecordTag = 0xB0;

struct DigestHash {
  size_t operator()(const Digest& d) const noexcept;
};

struct Now {
  uint64_t steady_ms = 0;  // monotonic: deadlines, retries
  uint64_t unix_ms = 0;    // wall clock: block timestamps
};

// The deterministic chain execution the core needs (state::Chain in the node).
class ChainPort {
 public:
  virtual ~ChainPort() = default;
  virtual state::Head head() const = 0;
  virtual std::optional<state::TxLocation> locate(const Digest& tx_id) const = 0;
  virtual std::optional<state::Block> block_at(uint64_t height) const = 0;
  // May throw (a parent that cannot be executed): the core answers "no proposal".
  virtual state::BuildResult build(const Digest& parent, std::vector<state::PendingTx> txs,
                                   uint64_t view, uint64_t unix_ms,
                                   const crypto::PublicKey& proposer) = 0;
  // `checked(id)`: the core knows this transaction's signature was verified (it is pooled);
  // the implementation may also skip those its own mempool door verified.
  virtual Status verify(const state::Block& block,
                        const std::function<bool(const Digest&)>& checked) = 0;
  // The validator schedule of the applied state (state/validator_set.h); nullopt: the set never
  // changes (CoreOptions::validators).
  virtual std::optional<state::ValidatorSchedule> validator_schedule() const {
    return std::nullopt;
  }
};

enum class Channel : uint8_t { kBlocks, kTransactions };

struct CoreOptions {
  crypto::PublicKey self{};
  // The validator set when ChainPort::validator_schedule() has none (a fixed set).
  std::vector<crypto::PublicKey> validators;
  // Whether this node votes. A full node never proposes or verifies: it applies blocks
  // finalized by verified heads and forwards its clients' transactions to the validators.
  bool validator = true;
  size_t max_block_txs = 2000;  // capped at kMaxConsensusBlockTxs
  uint64_t fetch_timeout_ms = 300;
  // Data availability (docs/network.md §3): with `availability` on, a block is voted for only
  // once an availability request for it answered ok, and forwarded pushes are proposed only
  // once their objects were prefetched.
  bool availability = false;
  uint64_t availability_timeout_ms = 3000;
  // How long a transaction this node forwarded may stay pending before it is sent again.
  uint64_t reforward_after_ms = 2000;
  // A leader asked to build on a notarized parent that is not finalized, with nothing valid to
  // put in a block, proposes an EMPTY child after this long: only a child can finalize the
  // parent (and acknowledge its transactions). Without it a network whose pending pushes are
  // all stale against that parent stops for good (found by the whole-node simulator, seed
  // 231). The delay keeps the normal pipeline (the parent's finalization in flight) free of
  // empty blocks; it must stay well below the leader timeout: set it with
  // empty_child_delay_ms(the genesis leader timeout).
  uint64_t empty_child_after_ms = 200;
};

// The empty-child delay for a network whose leader timeout is `leader_timeout_ms`: 200 ms, or
// half the leader timeout when that is shorter, so the child always comes before the view
// times out.
constexpr uint64_t empty_child_delay_ms(uint64_t leader_timeout_ms) {
  return leader_timeout_ms / 2 < 200 ? leader_timeout_ms / 2 : 200;
}

// Taken from the mempool: `from` is the peer that forwarded it, nullopt if submitted here.
struct TakenTx {
  state::PendingTx tx;
  std::optional<crypto::PublicKey> from;
};

struct Send {
  std::optional<crypto::PublicKey> to;  // nullopt: every validator
  Channel channel = Channel::kBlocks;
  Bytes payload;
};

struct Proposed {
  consensus::Round round;
  std::optional<Digest> digest;  // nullopt: no proposal in this view
  Bytes record;                  // journal record (runtime::kAppRecordTag ‖ block)
};

struct Verified {
  consensus::Round round;
  Digest digest{};
  bool ok = false;
  Bytes record;  // when ok
};

// A finalized block to apply, in height order.
struct CommitJob {
  std::shared_ptr<const state::Block> block;
  bool executed = false;  // ChainPort holds its execution (we built or verified it)
  std::vector<std::pair<Digest, Status>> rejected;  // ours: build rejections to report
  std::optional<uint64_t> built_ms;                 // steady ms when we built it
};

// Are the git objects of `block`'s ref updates here? Answer with availability(id, ok).
struct AvailabilityRequest {
  Digest id{};
  std::shared_ptr<const state::Block> block;
  std::vector<crypto::PublicKey> hints;  // who likely has them, best first
  uint64_t deadline_ms = 0;              // steady
};

// Fetch the objects of a forwarded push; answer with objects_fetched(tx, ok).
struct PrefetchRequest {
  Digest tx{};
  state::Block one;  // a block holding just that transaction
  std::vector<crypto::PublicKey> hints;
  uint64_t deadline_ms = 0;  // steady
};

struct Actions {
  std::vector<std::pair<Digest, Status>> rejected;  // Mempool::finished(Block{}, rejected)
  std::vector<CommitJob> commits;
  std::vector<Proposed> proposed;
  std::vector<Verified> verified;
  std::vector<Send> sends;
  std::vector<crypto::PublicKey> block;  // peers to block
  std::vector<AvailabilityRequest> availability;
  std::vector<PrefetchRequest> prefetch;
  std::optional<uint64_t> wake_ms;  // call tick() at this steady time (or earlier)
  bool empty() const {
    return rejected.empty() && commits.empty() && proposed.empty() && verified.empty() &&
           sends.empty() && block.empty() && availability.empty() && prefetch.empty() && !wake_ms;
  }
};

// Transactions channel wire format: u8 0 ‖ varint count ‖ bytes(tx) × count. Throws
// codec::DecodeError on a malformed batch (the driver blocks the sender).
std::vector<state::Transaction> decode_tx_batch(ByteView payload);

class Core {
 public:
  Core(ChainPort& chain, CoreOptions options);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  Actions propose(Now now, const consensus::Context& ctx);
  Actions verify(Now now, const consensus::Context& ctx, const Digest& digest);
  Actions finalized(Now now, consensus::Round round, const Digest& digest);
  Actions restore(Now now, ByteView record);
  Actions blocks_message(Now now, const crypto::PublicKey& peer, ByteView payload);
  Actions transactions(Now now, std::vector<TakenTx> txs);
  Actions stale(Now now, const std::vector<Digest>& tx_ids);
  Actions objects_fetched(Now now, const Digest& tx_id, bool ok);
  Actions availability(Now now, const Digest& block, bool ok);
  Actions committed(Now now, const state::Block& block, const std::vector<Digest>& rejected);
  Actions commit_failed(Now now);
  Actions tick(Now now);
  // The consensus engine's epoch and view.
  void consensus_view(consensus::Round round) { round_ = round; }

  // Nothing finalized is waiting to be handed to the committer or applied.
  bool idle() const { return !target_ && backlog_ == 0; }
  bool failed() const { return failed_; }
  size_t pool_size() const { return pool_.size(); }
  size_t backlog() const { return backlog_; }
  // Proposal-to-finalized latencies (ms) of our own blocks, for the stats file.
  const std::vector<double>& finality_ms() const { return finality_ms_; }

 private:
  struct Entry {
    std::shared_ptr<const state::Block> block;
    size_t bytes = 0;
  };
  struct PoolTx {
    uint64_t seq = 0;
    state::PendingTx tx;
    bool local = false;  // submitted to this node (we forward it), not received from a peer
    uint64_t forwarded_ms = 0;
    // A push or merge received from a peer: proposed only once its objects are here.
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
    uint64_t next_ms = 0;
    uint32_t attempt = 0;
    std::optional<crypto::PublicKey> preferred;
  };
  struct RangeFetch {
    uint64_t from = 0, to = 0;  // inclusive
    uint64_t deadline_ms = 0;
    uint32_t attempt = 0;
  };
  struct Mine {
    consensus::View view = 0;
    uint64_t height = 0;
    uint64_t built_ms = 0;
    std::vector<std::pair<Digest, Status>> rejected;
    bool finalized = false;
  };
  enum class Ready { kYes, kWaiting, kFailed };

  // Runs one event, then the pump every event ends with; collects the actions.
  template <typename F>
  Actions step(Now now, F&& event);
  void pump(Now now, Actions& out);
  void advance_commits(Actions& out);
  void drive_verifies(Now now, Actions& out);
  void try_propose(Now now, Actions& out);
  Ready ensure_executed(const Digest& d);
  void store(std::shared_ptr<const state::Block> block, size_t bytes);
  void want(const Digest& d, std::optional<crypto::PublicKey> preferred, Now now);
  void want_range(uint64_t from, uint64_t to);
  void run_fetches(Now now, Actions& out);
  void prune();
  void on_blocks(const crypto::PublicKey& peer, ByteView payload, Actions& out);
  std::optional<crypto::PublicKey> peer_for(uint32_t attempt, const Digest& salt) const;
  // Transactions go to the other validators unless this node is the only one.
  bool forwards() const;
  void forward(const std::vector<const state::Transaction*>& txs, Actions& out);
  void reforward(Now now, Actions& out);
  void unpool(const Digest& tx_id);
  void note_received(const Digest& tx_id, const crypto::PublicKey& peer);
  std::vector<crypto::PublicKey> availability_hints(const state::Block& b,
                                                    const crypto::PublicKey& proposer) const;
  void wake(Now now, Actions& out) const;

  // Epochs (docs/consensus.md "Epochs"). The keys of epoch `e`, or null when the schedule does
  // not know it (yet).
  const std::vector<crypto::PublicKey>* validators_of(consensus::Epoch e) const;
  // Whether a block at `height` can be judged: the schedule of the applied state fixes the
  // validator set of every height up to two epochs past its height.
  bool schedule_covers(uint64_t height) const;
  // Validators of the epoch after the applied head and of every later one scheduled: where
  // transactions go and whose block pushes are accepted.
  bool is_validator_now_or_later(const crypto::PublicKey& k) const;
  void load_schedule();

  ChainPort& chain_;
  CoreOptions options_;
  consensus::Round round_;  // the consensus engine's epoch and view (validators)
  state::ValidatorSchedule schedule_;
  std::vector<std::vector<crypto::PublicKey>> epoch_keys_;  // by epoch number
  uint64_t schedule_height_ = 0;                            // the applied height it reflects

  std::unordered_map<Digest, Entry, DigestHash> blocks_;
  size_t block_bytes_ = 0;
  std::unordered_map<Digest, uint64_t, DigestHash> executed_;  // id -> height (Chain's cache)
  // Transactions taken from the mempool, pending until a finalized block includes or rejects
  // them. They stay in state::Mempool too (nonces reserved, submitters waiting): the Mempool is
  // the admission door and the submitters' registry (shared with the API threads); this pool is
  // the proposer's ordered view of the same transactions plus what only the ledger knows (who
  // forwarded it, when it was last forwarded, whether its pushed objects are here).
  std::unordered_map<Digest, PoolTx, DigestHash> pool_;
  std::map<uint64_t, Digest> pool_order_;
  uint64_t pool_seq_ = 0;
  std::optional<consensus::Context> propose_;
  uint64_t propose_since_ms_ = 0;  // when propose_ arrived
  std::vector<PendingVerify> verifies_;
  std::optional<std::pair<consensus::Round, Digest>> target_;
  std::map<Digest, Fetch> fetches_;
  std::optional<RangeFetch> range_;
  std::map<Digest, Mine> mine_;
  std::unordered_map<Digest, Availability, DigestHash> available_;  // by block, while verifying
  uint64_t last_reforward_ms_ = 0;
  bool reforwarded_ = false;
  // Recent blocks handed to the committer (committed or about to be): id -> height.
  std::unordered_map<Digest, uint64_t, DigestHash> committed_;
  std::deque<Digest> committed_order_;
  Digest commit_base_{};  // the last block handed over (the head at start)
  uint64_t commit_base_height_ = 0;
  size_t backlog_ = 0;  // commit jobs handed over and not yet committed()
  bool failed_ = false;
  std::vector<double> finality_ms_;
  // Transactions that reached us from peers, and who sent them (where a push's objects are),
  // bounded FIFO.
  std::unordered_map<Digest, crypto::PublicKey, DigestHash> received_;
  std::deque<Digest> received_order_;
};

}  // namespace guts::ledger
