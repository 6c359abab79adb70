// The authenticated repository tree (docs/protocol.md §4.4): a sparse Merkle tree over 256-bit
// keys whose root a version-2 or -3 block header commits to through its state root
// (state/block.h). One leaf per repository: key = repo_tree_key(owner login, name), value =
// repo_leaf_value(...) over the repository's id, owner, visibility, default branch and sorted ref
// set (in version 3 through the root of a tree of its refs); and one per
// validator set change (state/validator_set.h): key = validator_tree_key(activation height),
// value = SHA-256 of the change's record.
//
// Hashing (SHA-256): an empty subtree is 32 zero bytes; a subtree holding exactly one leaf
// hashes to leaf(k, v) = H(0x00 ‖ k ‖ v) wherever it sits; any other subtree is
// H(0x01 ‖ left ‖ right). A key's path is its bits, most significant first. So a proof is the
// sibling hashes from the root down to where the key's path reaches an empty subtree or a
// single leaf: about log2(n) hashes for n repositories.
//
// Storage (family `meta`, node-local derived data, not in the state writes digest): each block's
// leaf changes, so that the tree can be loaded at open and a proof served at any height since
// the tree was built:
//   "smt/b/" ‖ u64be height ‖ u32be part → the leaves the block at `height` changed, sorted by
//       key, each once: varint n ‖ n × (key[32] ‖ u8 0 (removed) | u8 1 ‖ value[32] ‖
//       bytes(preimage) | u8 2 ‖ value[32] ‖ varint base height ‖ bytes(delta)); a block's
//       changes are split in parts of about 1 MiB (a build of the whole tree is one "block" of
//       every leaf); a block that changed no leaf writes none. Kind 2: the preimage is what the
//       delta (codec/byte_delta.h) makes of the same key's preimage in the record at the base
//       height (a repository's leaf after a push: state/repo_leaf.h bounds the chains)
//   "smt/r/" ‖ u64be height → history[32] ‖ repos_root[32] ‖ header version u8
//   "smt/blocks-from"       → u64be: the first height with leaves (the tree was built there)
// One record per block, not per changed leaf: a memtable insertion per leaf was as much as
// computing the tree (docs/benchmarks.md, "The repository tree's share of a block").
//
// In memory the tree is persistent: nodes are immutable and shared between versions, a block's
// version copies the paths it changes (SmtVersion), and a version is its root pointer. So the
// committed tree (SmtTree) keeps the recent heights as roots, reads at any of them are exact
// while the head moves, and no node is written twice or looked up by place. Nothing on disk is
// ever deleted; an older height's tree is rebuilt from the block records.
#pragma once

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>  // std::shared_lock
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/rw_lock.h"
#include "state/kv.h"
#include "state/records.h"
#include "state/repo_leaf.h"
#include "state/smt_node.h"
#include "state/smt_proof.h"

namespace guts::state {

// A version of the tree, read from its root.
class SmtReader {
 public:
  virtual ~SmtReader() = default;
  // The root (null: the empty tree). A root held keeps its whole version readable.
  virtual SmtNodePtr root() const = 0;
  // The node at (depth, path): a walk from the root (for tests and tools).
  std::optional<SmtNode> get(uint16_t depth, const Digest& path) const;
};

// The empty tree: the base of a tree built from nothing.
class SmtEmptyReader : public SmtReader {
 public:
  SmtNodePtr root() const override { return nullptr; }
};

// The tree after some leaf changes on top of a base version (one block's, or a build from
// nothing): the paths they change are copied, the rest is shared with the base. The base's
// root is taken at construction; the base may go away afterwards.
class SmtVersion : public SmtReader {
 public:
  // `height`: the block whose changes these are (the leaves remember it: their preimage is in
  // that block's record).
  SmtVersion(const SmtReader& base, uint64_t height) : root_(base.root()), height_(height) {}
  SmtVersion(const SmtVersion&) = delete;
  SmtVersion& operator=(const SmtVersion&) = delete;
  SmtNodePtr root() const override { return root_; }
  uint64_t height() const { return height_; }
  // Sets (value present) or removes leaves. A batch copies each node on the changed paths
  // once: a block's changes share the upper levels.
  using Changes = std::map<Digest, std::optional<Digest>>;
  void apply(const Changes& changes);
  void set(const Digest& key, const std::optional<Digest>& value);  // apply of one change
  // The same for changes sorted by key, each key once (what a block's update builds).
  using Change = std::pair<Digest, std::optional<Digest>>;
  void apply_sorted(std::vector<Change> changes);
  // Room for `n` more preimages (a block's leaves are added one by one).
  void reserve_preimages(size_t n) { preimages_.reserve(preimages_.size() + n); }
  // Remembers a leaf value's preimage (a repository state encoding), stored by write_to.
  void add_preimage(const Digest& value, Bytes encoding) {
    preimages_.insert_or_assign(value, Preimage{std::move(encoding), std::nullopt});
  }
  // The same as the delta that makes it from the preimage of the same key in the block record
  // at `base_height` (below this one's).
  void add_preimage_delta(const Digest& value, Bytes delta, uint64_t base_height) {
    preimages_.insert_or_assign(value, Preimage{std::move(delta), base_height});
  }
  // Writes the block record(s) of the leaves changed here (nothing when none changed). `height`
  // must be the one given at construction.
  void write_to(storage::Batch& batch, storage::Cf cf, uint64_t height) const;
  size_t leaf_changes() const { return changes_.size(); }  // keys changed (each once)
  // What the nodes built here take: what holding the base's version too costs beyond this one.
  size_t bytes_built() const { return bytes_built_; }

 private:
  SmtNodePtr root_;
  uint64_t height_;
  size_t bytes_built_ = 0;
  std::vector<Change> changes_;  // every key changed, with its last value, sorted by key
  struct DigestPrefixHash {      // digests are uniformly distributed: their first bytes will do
    size_t operator()(const Digest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  struct Preimage {
    Bytes bytes;                   // the preimage, or the delta to it
    std::optional<uint64_t> base;  // a delta's base height
  };
  boost::unordered_flat_map<Digest, Preimage, DigestPrefixHash> preimages_;
};

// The committed tree in memory: the root of each held height, from the head down to at least
// kMinHeights below it; more while what the older versions keep alive (the nodes the blocks
// after them replaced) takes less than kMaxUndoBytes, up to kMaxHeights. Node-local, derived
// from the block records (load). Thread-safe: executions and proofs read while a commit
// advances it; a reader takes a root under the lock and walks without it.
class SmtTree {
 public:
  static constexpr size_t kMinHeights = 16;
  static constexpr size_t kMaxHeights = 1024;
  static constexpr size_t kMaxUndoBytes = size_t(64) << 20;
  explicit SmtTree(uint64_t height, SmtNodePtr root = nullptr);
  // The tree at `height` from the block records in `cf`: their changes at or below it, each
  // key's last.
  static std::unique_ptr<SmtTree> load(const storage::Db& db, storage::Cf cf, uint64_t height);
  uint64_t height() const;
  uint64_t oldest() const;  // the oldest height readable here
  // The root of the tree at `height`; throws Error(kUnavailable) when that height is not held.
  SmtNodePtr root(uint64_t height) const;
  // The block at `height` (the head's height + 1) made `block` of the head's version.
  void advance(uint64_t height, const SmtVersion& block);
  // The proof of `key` at a height below oldest(), from the block records in `cf` of `db` (the
  // database this tree was loaded from): that height's tree is rebuilt, a scan of every block
  // record up to it. The newest rebuilt tree and the latest kMaxOldProofs proofs are kept
  // (clients verifying against one certificate ask for its height; the validator-set chain
  // asks for one proof per hand-over, each at its own old height). One rebuild at a time:
  // throws Error (kUnavailable) while another runs. `leaf_height`: as smt_prove's.
  static constexpr size_t kMaxOldProofs = 4096;
  SmtProof prove_past(const storage::Db& db, storage::Cf cf, uint64_t height, const Digest& key,
                      uint64_t* leaf_height = nullptr) const;
  size_t size() const;        // nodes at the head (a walk: for tests and benchmarks)
  size_t bytes() const;       // what the nodes at the head take (a walk)
  size_t undo_bytes() const;  // what the held heights below the head keep alive besides

 private:
  struct Held {
    uint64_t height;
    SmtNodePtr root;
    size_t bytes;  // below the head: the nodes the next block replaced, kept for this height
  };
  uint64_t oldest_locked() const { return held_.front().height; }
  std::shared_ptr<const SmtTree> past(const storage::Db& db, storage::Cf cf, uint64_t height) const;
  mutable WriterFirstRwLock mu_;  // a commit's advance is not starved by readers
  std::deque<Held> held_;         // ascending heights, the last one the head; never empty
  size_t undo_bytes_ = 0;
  mutable std::mutex rebuild_mu_;  // held while past() loads a tree
  mutable std::mutex past_mu_;
  mutable std::shared_ptr<const SmtTree> past_;
  struct OldProof {
    SmtProof proof;
    uint64_t leaf_height;
  };
  mutable std::map<std::pair<uint64_t, Digest>, OldProof> old_proofs_;  // guarded by past_mu_
};

// A reader of the committed tree at one height: its root, taken at construction (throws
// Error(kUnavailable) when that height is not held).
class SmtTreeReader : public SmtReader {
 public:
  SmtTreeReader(const SmtTree& tree, uint64_t height) : root_(tree.root(height)) {}
  SmtNodePtr root() const override { return root_; }

 private:
  SmtNodePtr root_;
};

Digest smt_root(const SmtReader& tree);

// `leaf_height`, when given and the proof ends on a leaf, receives the height of the block
// that set that leaf (whose record holds its preimage).
SmtProof smt_prove(const SmtReader& tree, const Digest& key, uint64_t* leaf_height = nullptr);

class StateView;
// The repository's leaf state from a state view (nullopt: no such repository).
std::optional<RepoState> repo_state_of(const StateView& view, uint64_t repo_id);

// Repositories' leaves, sorted by id, each id once; nullptr where the repository does not exist.
using RepoStates = std::vector<std::pair<uint64_t, std::shared_ptr<const RepoLeaf>>>;
// The entry of `id` in `states` (nullptr: none).
inline const std::shared_ptr<const RepoLeaf>* find_repo_state(const RepoStates& states,
                                                              uint64_t id) {
  auto it = std::lower_bound(states.begin(), states.end(), id,
                             [](const auto& entry, uint64_t i) { return entry.first < i; });
  return it != states.end() && it->first == id ? &it->second : nullptr;
}

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
  using Found = std::optional<std::shared_ptr<const RepoLeaf>>;
  // The state of repository `id` at `height`: nullopt when not known here.
  Found find(uint64_t height, uint64_t id) const;
  // The states of `ids` at `height`, looked up together (out[i] for ids[i]): a block's leaves
  // are out of the cache, and taking each one's count as it is found would wait for each.
  std::vector<Found> find(uint64_t height, std::span<const uint64_t> ids) const;
  // The block at `height` was committed and left the repositories it touched as `block`: the
  // cache follows when it held height - 1, and starts over otherwise.
  void advance(uint64_t height, const RepoStates& block);
  size_t bytes() const;

 private:
  struct Held {
    std::shared_ptr<const RepoLeaf> state;
    size_t bytes;
    uint64_t written;  // when (a count of writes): its entry in written_
  };
  mutable std::mutex mu_;
  uint64_t height_;
  const size_t max_bytes_;
  size_t bytes_ = 0;
  // Open addressing: a block's lookups and writes touch one place each, not a bucket and a node.
  boost::unordered_flat_map<uint64_t, Held> states_;
  // (id, when) per write, the longest ago first; an entry whose id was written again since, or
  // dropped, is stale and skipped (compacted when stale entries are kCompactAt - 1 times the held
  // ones: a compaction looks each entry up, so the fewer compactions, the fewer lookups a write
  // costs, ~kCompactAt / (kCompactAt - 1), for kCompactAt entries of 16 bytes per held state).
  static constexpr size_t kCompactAt = 4;
  std::deque<std::pair<uint64_t, uint64_t>> written_;
  uint64_t writes_ = 0;
};

// Where smt_apply_block finds the states before the block of the repositories it touched without
// reading them, all at once (out[i] for repo_ids[i]): nullopt where a state is not known (then
// it is read from `before`).
using PriorRepoState =
    std::function<std::vector<RepoStateCache::Found>(std::span<const uint64_t> repo_ids)>;

// Applies to `tree` the changes of one block: `before` is the state before it, `after` after
// it (an overlay: the keys it wrote are the block's changes). Deterministic: a function of the
// two states. `prior`, when given, must answer states equal to `before`'s; `touched`, when
// given, receives the states after the block of the repositories the block touched.
// `version`: the block's header version, which sets the leaves' form (repo_leaf_value); the
// first block of version 3 (`parent_version` below it) sets every repository's leaf.
void smt_apply_block(SmtVersion& tree, const Schema& schema, const KvReader& before,
                     const Overlay& after, uint8_t version, uint8_t parent_version,
                     const PriorRepoState& prior = {}, RepoStates* touched = nullptr);
// Builds the whole tree from a state (a new database, or one from before the tree), its leaves
// in the form of `version`.
void smt_build_all(SmtVersion& tree, const Schema& schema, const KvReader& state, uint8_t version);

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

// Converts the records of the previous storage of the tree (one per changed leaf,
// "smt/l/" ‖ key[32] ‖ u64be height → "" | value[32] ‖ preimage, from "smt/leaves-from") into
// block records, keeping its history: written in batches, the last one (sync) setting
// kSmtFromKey and kSmtRecordsHeadKey (= `head`) and removing "smt/leaves-from", so a crash
// midway converts again at the next open. The "smt/l/" records are left for the caller to
// delete. Returns false when the database has no such records. Throws codec::DecodeError on a
// malformed one.
bool smt_convert_leaf_records(storage::Db& db, storage::Cf cf, uint64_t head);

// Keys in `meta`.
std::string smt_roots_key(uint64_t height);
inline constexpr std::string_view kSmtFromKey = "smt/blocks-from";
// The height of the last block whose changes are in the block records (u64be), written with
// each: a version that wrote none in between (a downgrade, then an upgrade) leaves it behind.
inline constexpr std::string_view kSmtRecordsHeadKey = "smt/blocks-head";
// The block records' prefix ("smt/b/" ‖ u64be height ‖ u32be part).
inline constexpr std::string_view kSmtBlockPrefix = "smt/b/";

}  // namespace guts::state
