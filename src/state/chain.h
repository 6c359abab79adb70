// The ledger: executes blocks on top of the finalized state, and commits finalized blocks
// durably. This is the application side of consensus (propose = build, verify, finalize =
// commit); the single-node sequencer and Simplex both drive it through the same calls.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "core/status.h"
#include "state/audit.h"
#include "state/block.h"
#include "state/executor.h"
#include "state/genesis.h"
#include "state/kv.h"
#include "state/view.h"

namespace guts::state {

class SmtTree;
class RepoStateCache;

struct Head {
  uint64_t height = 0;
  Digest id{};          // id of the last finalized block (genesis id at height 0)
  Digest state_root{};  // state root after it
  uint64_t timestamp_ms = 0;
};

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

struct PendingTx {
  Transaction tx;
  bool signature_verified = false;
};

struct BuildResult {
  Block block;
  std::vector<std::pair<Digest, Status>> rejected;  // transactions left out, with the reason
};

class Chain {
 public:
  // Opens the ledger in `db` (which must have Schema::families()). A new database is
  // initialised from `genesis`; an existing one must have been created from the same genesis.
  Chain(storage::Db& db, Genesis genesis);
  ~Chain();

  const Genesis& genesis() const { return genesis_; }
  const Schema& schema() const { return schema_; }
  // The database, for reads outside the typed views (proofs: state/smt.h).
  const storage::Db& db() const { return db_; }
  // The committed repository tree (proofs: state/smt.h). Safe from any thread.
  const SmtTree& tree() const { return *smt_tree_; }
  Head head() const;
  // Reads of the finalized state. Safe from any thread.
  StateView view() const { return StateView(schema_, db_reader_); }

  // Validity at the mempool door, against the finalized state, with the nonce expected after
  // the author's pending transactions. Never changes state.
  Status check(const Transaction& tx, uint64_t expected_nonce, uint64_t now_ms,
               bool signature_verified) const;

  // Executes the valid subset of `txs` on top of `parent` (the head, or a block built or
  // verified before and not yet finalized) and returns the block. The execution is cached.
  BuildResult build(const Digest& parent, std::vector<PendingTx> txs, uint64_t view,
                    uint64_t timestamp_ms, const crypto::PublicKey& proposer);
  // Re-executes a proposed block; ok only if every transaction is valid and the roots match.
  Status verify(const Block& block);
  // As verify(), but a transaction for which `signature_checked(id)` is true skips its
  // signature check: the caller verified those exact bytes before (the id covers the
  // signature), e.g. at the mempool door. Consensus uses this so a validator checks each
  // signature once.
  Status verify(const Block& block, const std::function<bool(const Digest&)>& signature_checked);
  // Makes a verified or built block final: one fsynced batch holds the block, its index
  // entries and its state writes, so a crash leaves either all or nothing. The block's parent
  // must be the current head.
  void commit(const Block& block);

  // Called (on the committing thread) after each block is durable, before its submitters are
  // told: projections of state, such as the bare git repositories, follow it here.
  using CommitListener = std::function<void(const Block&)>;
  void add_commit_listener(CommitListener listener);

  // Git facts for branch protection (state/git_facts.h): consulted by check() (unknown passes),
  // build() and verify() (unknown refuses), never by commit()'s own execution of a finalized
  // block nor by replay(). Set before blocks flow; `facts` must outlive the chain's use.
  void set_git_facts(const GitFacts* facts) { facts_ = facts; }

  // The audit log (state/audit.h): chain records written by commit(), local ones by callers.
  state::AuditLog audit() const { return state::AuditLog(db_, schema_.audit); }

  std::optional<Block> block_at(uint64_t height) const;
  std::optional<TxLocation> locate(const Digest& tx_id) const;

  // Re-executes every finalized block of `source` from genesis in a fresh database at
  // `scratch_dir` (what a node that never crashed would hold), checking each block's state
  // root, and the audit log's chain records when `source` holds them all; returns the final
  // root. Throws guts::Error on any divergence.
  static Digest replay(storage::Db& source, const Genesis& genesis,
                       const std::filesystem::path& scratch_dir);

  // Block executions (built or verified, with their overlays) held in memory by every Chain of
  // this process: bounded by the blocks in flight, however long a load lasts (see commit).
  static size_t executions_in_memory();

 private:
  struct Executed;
  std::shared_ptr<Executed> execute(const Digest& parent, const BlockHeader& header,
                                    const std::vector<PendingTx>& txs, BuildResult* build_out,
                                    Status* verify_out, bool consult_facts = true);
  Status verify_block(const Block& block, const std::function<bool(const Digest&)>& checked,
                      bool consult_facts);
  std::shared_ptr<Executed> parent_execution(const Digest& parent, Head* parent_head) const;
  void write_genesis();
  // The repository tree (state/smt.h): built once from the state when the database has none.
  void open_tree();  // at open: converts, builds or loads the repository tree
  void build_tree(bool rebuild);
  // The header version of `block` at `height` (an execution, or a committed block).
  uint8_t header_version_at(const Digest& block, uint64_t height) const;
  // A database from before the audit log: derives its records once, by replaying the chain.
  void backfill_audit();
  static Digest replay_into(storage::Db& source, const Genesis& genesis, storage::Db& fresh);

  storage::Db& db_;
  Genesis genesis_;
  Schema schema_;
  DbReader db_reader_;
  mutable std::mutex mu_;
  Head head_;
  std::map<Digest, std::shared_ptr<Executed>> executed_;  // built or verified, not finalized
  // Executions whose children read the database instead of them since they committed (commit
  // rebases the children): freed once no execution that may still read them is running.
  std::vector<std::shared_ptr<Executed>> retired_;  // guarded by mu_
  std::shared_mutex executing_;                     // held shared by every execution
  std::vector<CommitListener> listeners_;           // set up before blocks flow
  const GitFacts* facts_ = nullptr;                 // set up before blocks flow
  // The committed repository tree, in memory from block to block (state/smt.h).
  std::unique_ptr<SmtTree> smt_tree_;
  std::unique_ptr<RepoStateCache> repo_cache_;  // the leaf states at the head (state/smt.h)
};

}  // namespace guts::state
