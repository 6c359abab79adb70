// The authenticated repository tree (docs/protocol.md §4.4): a sparse Merkle tree over 256-bit
// keys whose root a version-2 block header commits to through its state root (state/block.h).
// One leaf per repository: key = repo_tree_key(owner login, name), value = repo_state_hash(...)
// over the repository's id, owner, visibility, default branch and sorted ref set; and one per
// validator set change (state/validator_set.h): key = validator_tree_key(activation height),
// value = SHA-256 of the change's record.
//
// Hashing (SHA-256): an empty subtree is 32 zero bytes; a subtree holding exactly one leaf
// hashes to leaf(k, v) = H(0x00 ‖ k ‖ v) wherever it sits; any other subtree is
// H(0x01 ‖ left ‖ right). A key's path is its bits, most significant first. So a proof is the
// sibling hashes from the root down to where the key's path reaches an empty subtree or a
// single leaf: about log2(n) hashes for n repositories.
//
// Storage (family `meta`, node-local derived data, not in the state writes digest): the leaves,
// versioned, so that a proof can be served at any height since the tree was built:
//   "smt/l/" ‖ key[32] ‖ u64be height → "" (removed) | value[32] ‖ preimage  (a leaf's change)
//   "smt/r/" ‖ u64be height → history[32] ‖ repos_root[32] ‖ header version u8
//   "smt/leaves-from"       → u64be: the first height with leaves (the tree was built there)
// The inner nodes are not stored: the committed tree lives in memory (SmtTree), loaded at open
// from each key's newest leaf record, and keeps the nodes each recent block changed as they were
// before it, so reads at recent heights are exact; a proof at an older height rebuilds that
// height's tree from the leaf records. Storing every changed inner node of every block was most
// of the tree's cost per block (docs/benchmarks.md, "The repository tree's share of a block"):
// one record per changed leaf is what a block writes now. Nothing is ever deleted.
#pragma once

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>  // std::shared_lock
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/rw_lock.h"
#include "state/kv.h"
#include "state/records.h"
#include "state/smt_proof.h"

namespace guts::state {

// Reads the tree's nodes at one version.
class SmtReader {
 public:
  virtual ~SmtReader() = default;
  virtual std::optional<SmtNode> get(uint16_t depth, const Digest& path) const = 0;
};

// The empty tree: the base of a tree built from nothing.
class SmtEmptyReader : public SmtReader {
 public:
  std::optional<SmtNode> get(uint16_t, const Digest&) const override { return std::nullopt; }
};

class SmtOverlay;

// A node's place in the tree: (depth, path with the bits at and below depth zero).
using SmtNodeId = std::pair<uint16_t, Digest>;
struct SmtNodeIdHash {
  size_t operator()(const SmtNodeId& id) const;
};
struct SmtNodeIdEqual {  // inlined: the default pair comparison was a call per probe
  bool operator()(const SmtNodeId& a, const SmtNodeId& b) const {
    return a.first == b.first && std::memcmp(a.second.data(), b.second.data(), 32) == 0;
  }
};
// Open addressing (Boost's flat map): a block's tree update looks up each node on its changed
// paths and their siblings, and node-based maps spent more time there than hashing the nodes.
using SmtNodeMap =
    boost::unordered_flat_map<SmtNodeId, std::optional<SmtNode>, SmtNodeIdHash, SmtNodeIdEqual>;

// Pending changes on top of a reader (one block's execution, or a rebuild).
class SmtOverlay : public SmtReader {
 public:
  explicit SmtOverlay(const SmtReader& base) : base_(&base) {}
  SmtOverlay(const SmtOverlay&) = delete;
  SmtOverlay& operator=(const SmtOverlay&) = delete;
  std::optional<SmtNode> get(uint16_t depth, const Digest& path) const override;
  void put(uint16_t depth, const Digest& path, std::optional<SmtNode> node);
  // As Overlay::rebase (state/kv.h): reads not answered here go to `base` from now on.
  void rebase(const SmtReader& base) { base_.store(&base, std::memory_order_release); }
  // Sets (value present) or removes leaves, keeping every inner hash up to date. A batch reads,
  // hashes and writes each node on the changed paths once: a block's changes share the upper
  // levels, which one update per leaf re-hashed once per leaf.
  using Changes = std::map<Digest, std::optional<Digest>>;
  // The leaf changes are kept too: write_to stores them.
  void apply(const Changes& changes);
  void set(const Digest& key, const std::optional<Digest>& value);  // apply of one change
  // Remembers a leaf value's preimage (a repository state encoding), stored by write_to.
  void add_preimage(const Digest& value, Bytes encoding) {
    preimages_[value] = std::move(encoding);
  }
  // Writes the leaves changed here as records at `height`, each with its value's preimage.
  void write_to(storage::Batch& batch, storage::Cf cf, uint64_t height) const;
  size_t leaf_changes() const { return leaves_.size(); }  // records write_to writes
  size_t size() const { return writes_.size(); }
  // Calls fn(depth, path, node) for every changed node (node nullopt: removed).
  template <typename Fn>
  void for_each_write(Fn&& fn) const {
    for (const auto& [k, n] : writes_) fn(k.first, k.second, n);
  }

 private:
  using Change = std::pair<Digest, std::optional<Digest>>;
  std::optional<SmtNode> update(uint16_t depth, const Digest& path, const Change* lo,
                                const Change* hi);
  std::optional<SmtNode> build(uint16_t depth, const Digest& path, std::vector<SmtNode> leaves);
  std::atomic<const SmtReader*> base_;
  SmtNodeMap writes_;  // unordered: applied to the committed tree in any order
  // Every leaf change applied, in order: a key changed twice is written twice at the same
  // height, and the batch keeps the later.
  std::vector<std::pair<Digest, std::optional<Digest>>> leaves_;
  std::map<Digest, Bytes> preimages_;
};

// The committed tree in memory: its nodes at the head, and for the recent heights the nodes
// each block changed as they were before it (an undo record per height), so that a read at any
// height still held is exact while commits advance the head. Node-local, derived from the leaf
// records (load). Thread-safe: executions and proofs read while a commit advances it.
class SmtTree {
 public:
  // Heights held below the head: at least kMinHeights; more while their undo records take
  // less than kMaxUndoBytes, up to kMaxHeights.
  static constexpr size_t kMinHeights = 16;
  static constexpr size_t kMaxHeights = 1024;
  static constexpr size_t kMaxUndoBytes = size_t(64) << 20;
  explicit SmtTree(uint64_t height) : height_(height) {}
  // The tree at `height` from the leaf records in `cf`: every key's newest record at or below it.
  static std::unique_ptr<SmtTree> load(const storage::Db& db, storage::Cf cf, uint64_t height);
  uint64_t height() const;
  uint64_t oldest() const;  // the oldest height readable here
  // The node at (depth, path) of the tree at `height`; throws when that height is not held.
  std::optional<SmtNode> get(uint64_t height, uint16_t depth, const Digest& path) const;
  // The block at `height` (the head's height + 1) changed the nodes written in `block`.
  void advance(uint64_t height, const SmtOverlay& block);
  // The proof of `key` at a height below oldest(), from the leaf records in `cf` of `db` (the
  // database this tree was loaded from): that height's tree is rebuilt, a scan of every leaf
  // record. The newest rebuilt tree and the latest kMaxOldProofs proofs are kept (clients
  // verifying against one certificate ask for its height; the validator-set chain asks for one
  // proof per hand-over, each at its own old height). One rebuild at a time: throws Error
  // (kUnavailable) while another runs.
  static constexpr size_t kMaxOldProofs = 4096;
  SmtProof prove_past(const storage::Db& db, storage::Cf cf, uint64_t height,
                      const Digest& key) const;
  size_t size() const;        // nodes at the head
  size_t undo_bytes() const;  // what the held heights below the head take

 private:
  struct Undo {
    uint64_t height;  // the nodes the block at this height changed, as they were before it
    SmtNodeMap before;
  };
  uint64_t oldest_locked() const { return undo_.empty() ? height_ : undo_.front().height - 1; }
  std::shared_ptr<const SmtTree> past(const storage::Db& db, storage::Cf cf, uint64_t height) const;
  mutable WriterFirstRwLock mu_;  // a commit's advance is not starved by readers
  uint64_t height_;
  SmtNodeMap nodes_;       // present nodes only
  std::deque<Undo> undo_;  // ascending heights, the last one height_
  size_t undo_bytes_ = 0;
  mutable std::mutex rebuild_mu_;  // held while past() loads a tree
  mutable std::mutex past_mu_;
  mutable std::shared_ptr<const SmtTree> past_;
  mutable std::map<std::pair<uint64_t, Digest>, SmtProof> old_proofs_;  // guarded by past_mu_
};

// A reader of the committed tree at one height.
class SmtTreeReader : public SmtReader {
 public:
  SmtTreeReader(const SmtTree& tree, uint64_t height) : tree_(tree), height_(height) {}
  std::optional<SmtNode> get(uint16_t depth, const Digest& path) const override {
    return tree_.get(height_, depth, path);
  }

 private:
  const SmtTree& tree_;
  uint64_t height_;
};

Digest smt_root(const SmtReader& tree);

SmtProof smt_prove(const SmtReader& tree, const Digest& key);

class StateView;
// The repository's leaf state from a state view (nullopt: no such repository).
std::optional<RepoState> repo_state_of(const StateView& view, uint64_t repo_id);

// Repositories' leaf states by id; nullptr where the repository does not exist.
using RepoStates = std::unordered_map<uint64_t, std::shared_ptr<const RepoState>>;

// The committed repositories' leaf states at the head, kept from block to block like the tree's
// nodes (SmtTree): a block that pushes to a repository rebuilds its leaf from the state
// before plus the refs it wrote, where reading the whole ref set back was a database scan per
// repository (the largest part of a block's tree work). Bounded by `max_bytes`: past it, the
// states written longest ago are dropped (a push writes its repository's state, so the
// repositories pushed to recently stay). Thread-safe.
class RepoStateCache {
 public:
  static constexpr size_t kMaxBytes = size_t(64) << 20;
  explicit RepoStateCache(uint64_t height, size_t max_bytes = kMaxBytes)
      : height_(height), max_bytes_(max_bytes) {}
  // The state of repository `id` at `height`: nullopt when not known here.
  std::optional<std::shared_ptr<const RepoState>> find(uint64_t height, uint64_t id) const;
  // The block at `height` was committed and left the repositories it touched as `block`: the
  // cache follows when it held height - 1, and starts over otherwise.
  void advance(uint64_t height, const RepoStates& block);
  size_t bytes() const;

 private:
  struct Held {
    std::shared_ptr<const RepoState> state;
    size_t bytes;
    std::list<uint64_t>::iterator written;  // its place in written_
  };
  void drop_locked(std::unordered_map<uint64_t, Held>::iterator it);
  mutable std::mutex mu_;
  uint64_t height_;
  const size_t max_bytes_;
  size_t bytes_ = 0;
  std::unordered_map<uint64_t, Held> states_;
  std::list<uint64_t> written_;  // ids, the state written longest ago first
};

// Where smt_apply_block finds a repository's state before the block without reading it:
// nullopt when the state is not known (then it is read from `before`).
using PriorRepoState =
    std::function<std::optional<std::shared_ptr<const RepoState>>(uint64_t repo_id)>;

// Applies to `tree` the changes of one block: `before` is the state before it, `after` after
// it (an overlay: the keys it wrote are the block's changes). Deterministic: a function of the
// two states. `prior`, when given, must answer states equal to `before`'s; `touched`, when
// given, receives the states after the block of the repositories the block touched.
void smt_apply_block(SmtOverlay& tree, const Schema& schema, const KvReader& before,
                     const Overlay& after, const PriorRepoState& prior = {},
                     RepoStates* touched = nullptr);
// Builds the whole tree from a state (a new database, or one from before the tree).
void smt_build_all(SmtOverlay& tree, const Schema& schema, const KvReader& state);

// A repository's proof at a committed height (the node's side of
// GET /api/guts/proofs/repos/{owner}/{repo}): read from `recent` (the chain's committed tree)
// when it holds that height, else from the tree rebuilt from the leaf records at that height.
// nullopt when the tree holds nothing at `height` (before it was built there, or above the head).
struct RepoProofAt {
  uint64_t height = 0;
  uint8_t version = 0;  // the block header's version at that height
  Digest history{};
  Digest repos_root{};
  Digest key{};
  SmtProof proof;
  std::optional<Bytes> state;  // the repository state encoding when the repository exists
};
std::optional<RepoProofAt> prove_repo_at(const storage::Db& db, const Schema& schema,
                                         uint64_t height, std::string_view owner_login,
                                         std::string_view name, const SmtTree* recent = nullptr);
// The same for any key of the tree (a validator set change: validator_tree_key); `state` is
// then the leaf's preimage (the change's encoding).
std::optional<RepoProofAt> prove_key_at(const storage::Db& db, const Schema& schema,
                                        uint64_t height, const Digest& key,
                                        const SmtTree* recent = nullptr);

// Finalization certificates kept for proofs (family `local`, node-local): the certificate of
// the block at `height`, stored by the node when that block is applied and this node holds
// the certificate that finalizes it ("trust/cert/" ‖ u64be height → encoded certificate).
void store_finality_certificate(storage::Db& db, const Schema& schema, uint64_t height,
                                ByteView certificate);
// The certificate at `height`, or the newest one when `height` is nullopt.
std::optional<std::pair<uint64_t, Bytes>> finality_certificate(const storage::Db& db,
                                                               const Schema& schema,
                                                               std::optional<uint64_t> height);

// Keys in `meta`.
std::string smt_roots_key(uint64_t height);
inline constexpr std::string_view kSmtFromKey = "smt/leaves-from";

}  // namespace guts::state
