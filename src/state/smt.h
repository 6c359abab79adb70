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
// Storage (family `meta`, node-local derived data, not in the state writes digest): versioned
// nodes, so that a proof can be served at any height since the tree was built:
//   "smt/n/" ‖ u16be depth ‖ path[32] (bits ≥ depth zero) ‖ u64be height  → node at that height
//        node = "" (removed) | 0x01 ‖ hash[32] (inner) | 0x02 ‖ key[32] ‖ value[32] (leaf)
//   "smt/r/" ‖ u64be height → history[32] ‖ repos_root[32]  (the two halves of the state root)
//   "smt/from"              → u64be: the first height with nodes (the tree was built there)
// A node is read at height h as the newest record at or below h (seek_for_prev). Nothing is
// ever deleted (no pruning yet: a node costs ~80 bytes per changed level per block).
#pragma once

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
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

class SmtOverlay;

// A node's place in the tree: (depth, path with the bits at and below depth zero).
using SmtNodeId = std::pair<uint16_t, Digest>;
struct SmtNodeIdHash {
  size_t operator()(const SmtNodeId& id) const;
};
// Open addressing (Boost's flat map): a block's tree update looks up each node on its changed
// paths and their siblings, and node-based maps spent more time there than hashing the nodes.
using SmtNodeMap = boost::unordered_flat_map<SmtNodeId, std::optional<SmtNode>, SmtNodeIdHash>;

// The committed tree's nodes at the head, kept in memory from block to block. Every block's
// leaf updates read the same upper levels, and the database serves each read with a seek over
// versioned records. Bounded: the first kMaxEntries nodes read or written stay (reads go top
// down, so those are the upper levels); nothing is evicted. Thread-safe.
class SmtNodeCache {
 public:
  static constexpr size_t kMaxEntries = 1 << 18;  // ~40 MB at most
  explicit SmtNodeCache(uint64_t height) : height_(height) {}
  // The node at (depth, path) of the tree at `height`, when known; nullopt when not.
  std::optional<std::optional<SmtNode>> find(uint64_t height, uint16_t depth,
                                             const Digest& path) const;
  // A node read from the database at `height` (kept only if that is the cached height).
  void remember(uint64_t height, uint16_t depth, const Digest& path,
                const std::optional<SmtNode>& node);
  // The block at `height` was committed with the tree changes `block`: the cache follows when
  // it held the tree at height - 1, and starts over otherwise.
  void advance(uint64_t height, const SmtOverlay& block);
  size_t size() const;

 private:
  void put_locked(uint16_t depth, const Digest& path, const std::optional<SmtNode>& node);
  mutable std::mutex mu_;
  uint64_t height_;
  SmtNodeMap nodes_;
};

// The committed tree in the database, at `height`; through `cache` when given.
class SmtDbReader : public SmtReader {
 public:
  SmtDbReader(const storage::Db& db, storage::Cf cf, uint64_t height, SmtNodeCache* cache = nullptr)
      : db_(db), cf_(cf), height_(height), cache_(cache) {}
  std::optional<SmtNode> get(uint16_t depth, const Digest& path) const override;

 private:
  const storage::Db& db_;
  storage::Cf cf_;
  uint64_t height_;
  SmtNodeCache* cache_;
  // One iterator for every read (creating one per node read was a fifth of a block's tree
  // work); the mutex because child executions on other threads may read through this base.
  mutable std::mutex mu_;
  mutable std::unique_ptr<storage::Iterator> it_;
};

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
  void apply(const Changes& changes);
  void set(const Digest& key, const std::optional<Digest>& value);  // apply of one change
  // Remembers a leaf value's preimage (a repository state encoding), stored by write_to.
  void add_preimage(const Digest& value, Bytes encoding) {
    preimages_[value] = std::move(encoding);
  }
  // Writes the changed nodes as records at `height`, and the new preimages.
  void write_to(storage::Batch& batch, storage::Cf cf, uint64_t height) const;
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
  SmtNodeMap writes_;  // unordered: written to a batch, or to the cache, in any order
  std::map<Digest, Bytes> preimages_;
};

Digest smt_root(const SmtReader& tree);

SmtProof smt_prove(const SmtReader& tree, const Digest& key);

class StateView;
// The repository's leaf state from a state view (nullopt: no such repository).
std::optional<RepoState> repo_state_of(const StateView& view, uint64_t repo_id);

// Repositories' leaf states by id; nullptr where the repository does not exist.
using RepoStates = std::unordered_map<uint64_t, std::shared_ptr<const RepoState>>;

// The committed repositories' leaf states at the head, kept from block to block like the tree's
// nodes (SmtNodeCache): a block that pushes to a repository rebuilds its leaf from the state
// before plus the refs it wrote, where reading the whole ref set back was a database scan per
// repository (the largest part of a block's tree work). Bounded: states are added until they
// take kMaxBytes; nothing is evicted (a state already held is replaced). Thread-safe.
class RepoStateCache {
 public:
  static constexpr size_t kMaxBytes = size_t(64) << 20;
  explicit RepoStateCache(uint64_t height) : height_(height) {}
  // The state of repository `id` at `height`: nullopt when not known here.
  std::optional<std::shared_ptr<const RepoState>> find(uint64_t height, uint64_t id) const;
  // The block at `height` was committed and left the repositories it touched as `block`: the
  // cache follows when it held height - 1, and starts over otherwise.
  void advance(uint64_t height, const RepoStates& block);
  size_t bytes() const;

 private:
  mutable std::mutex mu_;
  uint64_t height_;
  size_t bytes_ = 0;
  RepoStates states_;
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

// A repository's proof at a committed height, read from the database (the node's side of
// GET /api/guts/proofs/repos/{owner}/{repo}). nullopt when the tree holds nothing at `height`
// (before it was built there, or above the head).
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
                                         std::string_view name);
// The same for any key of the tree (a validator set change: validator_tree_key); `state` is
// then the leaf's preimage (the change's encoding).
std::optional<RepoProofAt> prove_key_at(const storage::Db& db, const Schema& schema,
                                        uint64_t height, const Digest& key);

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
std::string smt_preimage_key(const Digest& value);
inline constexpr std::string_view kSmtFromKey = "smt/from";

}  // namespace guts::state
