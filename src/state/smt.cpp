#include "state/smt.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cstring>
#include <set>

#include "codec/byte_delta.h"
#include "codec/codec.h"
#include "core/assert.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "state/block.h"
#include "state/rules.h"
#include "state/validator_set.h"
#include "state/view.h"

namespace guts::state {

// The in-memory node: a leaf (key, value, the block that set it) or an inner node (two
// children, either null when all the leaves below are on the other side). `hash` is the
// subtree's hash, set once by the Builder that made the node, before anything else sees it.
struct SmtTreeNode {
  explicit SmtTreeNode(bool is_leaf) : leaf(is_leaf) {}
  mutable std::atomic<uint32_t> refs{0};
  const bool leaf;
  Digest hash{};
};

namespace {

struct Leaf : SmtTreeNode {
  Leaf() : SmtTreeNode(true) {}
  Digest key{};
  Digest value{};
  uint64_t height = 0;
};

struct Inner : SmtTreeNode {
  Inner() : SmtTreeNode(false) {}
  SmtNodePtr child[2];
};

// What a node takes with the allocator's header: the memory a version keeps alive.
constexpr size_t kLeafBytes = sizeof(Leaf) + 16;
constexpr size_t kInnerBytes = sizeof(Inner) + 16;

const Leaf& as_leaf(const SmtTreeNode& n) {
  return static_cast<const Leaf&>(n);
}
const Inner& as_inner(const SmtTreeNode& n) {
  return static_cast<const Inner&>(n);
}

constexpr uint16_t kMaxDepth = 256;

bool bit(const Digest& k, uint16_t i) {
  return smt_bit(k, i);
}

Digest hash_of(const SmtNodePtr& n) {
  return n ? n->hash : Digest{};
}

}  // namespace

void intrusive_ptr_add_ref(const SmtTreeNode* n) {
  n->refs.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// Fetches the cache lines of a node an update or a release reads (an inner node may straddle two).
void prefetch_node(const SmtTreeNode* n) {
  __builtin_prefetch(n, 1);
  __builtin_prefetch(reinterpret_cast<const char*>(n) + sizeof(Inner) - 1, 1);
}

// Fetches, to be written, the counts of an object made by std::make_shared: they sit just before
// it (libstdc++'s control block; were they elsewhere, this would only fetch a line for nothing).
void prefetch_shared_count(const void* object) {
  __builtin_prefetch(static_cast<const char*>(object) - 16, 1);
}

// Nodes whose last holder went while an SmtFreeBatch is open on this thread: freed together when
// it closes.
using NodeList = boost::container::small_vector<const SmtTreeNode*, 16>;
thread_local NodeList* t_dead = nullptr;

// Frees `level` (nodes no longer held) and what only they held, one level at a time: the
// children of a level are fetched together before their counts are lowered, so the cache misses
// of many freed paths overlap (a path freed alone waits for each of its nodes in turn, and a
// block's replaced paths are long out of the cache). No recursion: any depth.
void free_nodes(NodeList& level) {
  NodeList next;
  while (!level.empty()) {
    for (const SmtTreeNode* n : level)
      if (!n->leaf)
        for (const auto& c : as_inner(*n).child)
          if (c) prefetch_node(c.get());
    next.clear();
    for (const SmtTreeNode* n : level) {
      if (n->leaf) {
        delete &as_leaf(*n);
        continue;
      }
      // Nothing else holds it: its children are taken out without releasing them here.
      auto& in = const_cast<Inner&>(as_inner(*n));
      for (auto& c : in.child)
        if (const SmtTreeNode* child = c.detach();
            child && child->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
          next.push_back(child);
      delete &in;
    }
    level.swap(next);
  }
}

}  // namespace

void intrusive_ptr_release(const SmtTreeNode* n) {
  if (n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (n->leaf) {  // nothing below it
    delete &as_leaf(*n);
    return;
  }
  if (t_dead) {
    t_dead->push_back(n);
    return;
  }
  NodeList level{n};
  free_nodes(level);
}

namespace {

// While one is open on a thread, the nodes whose last holder goes there are freed together when
// it closes (free_nodes): a commit lets go of a block's worth of replaced paths at once.
class SmtFreeBatch {
 public:
  SmtFreeBatch() {
    if (t_dead) return;  // an enclosing batch frees them
    t_dead = &dead_;
    open_ = true;
  }
  ~SmtFreeBatch() {
    if (!open_) return;
    t_dead = nullptr;
    free_nodes(dead_);
  }
  SmtFreeBatch(const SmtFreeBatch&) = delete;
  SmtFreeBatch& operator=(const SmtFreeBatch&) = delete;

 private:
  NodeList dead_;
  bool open_ = false;
};

}  // namespace

namespace {

// A walk down one key's path, for PathFetch.
struct PathWalk {
  const SmtTreeNode* at;
  const Digest* key;
};

// Fetches the nodes on keys' paths and their siblings (a path copy raises their counts), one
// level of every path at a time, so that the paths' cache misses overlap: a block's paths are
// mostly out of the cache (its execution ran in between), and Builder::update, walking one path
// after another, would wait for each node in turn. step() by step(), work can go on between
// levels while they arrive.
class PathFetch {
 public:
  void add(const SmtTreeNode* root, const Digest* key) {
    if (root) walks_.push_back({root, key});
  }
  // The next level of every walk; false once every walk has ended.
  bool step() {
    if (walks_.empty() || depth_ >= kMaxDepth) return false;
    size_t kept = 0;
    for (const PathWalk& w : walks_) {
      if (w.at->leaf) continue;
      const Inner& in = as_inner(*w.at);
      const bool b = bit(*w.key, depth_);
      if (const SmtTreeNode* sibling = in.child[!b].get()) prefetch_node(sibling);
      const SmtTreeNode* next = in.child[b].get();
      if (!next) continue;
      prefetch_node(next);
      walks_[kept++] = {next, w.key};
    }
    walks_.resize(kept);
    ++depth_;
    return !walks_.empty();
  }
  void all() {
    while (step()) {
    }
  }
  void clear() {
    walks_.clear();
    depth_ = 0;
  }

 private:
  std::vector<PathWalk> walks_;
  uint16_t depth_ = 0;
};

// Builds a new version's nodes: path copying under a batch of sorted changes. The new nodes'
// hashes are computed at the end, level by level from the bottom, each level's in one batch:
// hashed several at a time (crypto::sha256_65), the largest part of a block's tree work takes
// half the time it took one node after another.
class Builder {
 public:
  explicit Builder(uint64_t height) : height_(height) {}
  size_t bytes() const { return bytes_; }

  using Change = std::pair<Digest, std::optional<Digest>>;

  // The tree `root` after the changes [lo, hi) (sorted by key, each once), hashed.
  SmtNodePtr update_root(const SmtNodePtr& root, const Change* lo, const Change* hi) {
    if (root) {
      PathFetch fetch;
      for (const Change* c = lo; c != hi; ++c) fetch.add(root.get(), &c->first);
      fetch.all();
    }
    SmtNodePtr out = update(root, 0, lo, hi);
    hash_new_nodes();
    return out;
  }

  // The tree of exactly `leaves` (built with leaf(); reordered here), hashed.
  SmtNodePtr build_root(std::vector<SmtNodePtr>& leaves) {
    SmtNodePtr out = build(0, leaves.data(), leaves.data() + leaves.size());
    hash_new_nodes();
    return out;
  }

  // The same without hashing: the new nodes, with those of the other trees this Builder updated
  // or built, are hashed by hash_pending(), before anything reads their hashes (the roots
  // returned must be held until then). Several at a time across trees too: one leaf's path is
  // a chain of single nodes.
  SmtNodePtr update_unhashed(const SmtNodePtr& root, const Change* lo, const Change* hi) {
    return update(root, 0, lo, hi);
  }
  SmtNodePtr build_unhashed(std::vector<SmtNodePtr>& leaves) {
    return build(0, leaves.data(), leaves.data() + leaves.size());
  }
  void hash_pending() { hash_new_nodes(); }

  // A new leaf; its hash is set by build_root, which must be given every leaf made here.
  SmtNodePtr leaf(const Digest& key, const Digest& value, uint64_t height) {
    auto* l = new Leaf;
    SmtNodePtr out = born(l);
    l->key = key;
    l->value = value;
    l->height = height;
    new_leaves_.push_back(l);
    bytes_ += kLeafBytes;
    return out;
  }

 private:
  // The subtree `n` at `depth` after the changes [lo, hi), all on keys under it. Returns `n`
  // itself when nothing under it changes.
  SmtNodePtr update(const SmtNodePtr& n, uint16_t depth, const Change* lo, const Change* hi) {
    if (!n || n->leaf) {
      // At most one leaf lives here and nothing below. The most common change, a leaf set again
      // (a push), needs no list.
      if (hi - lo == 1 && (!n || lo->first == as_leaf(*n).key))
        return lo->second ? leaf(lo->first, *lo->second, height_) : nullptr;
      // Else build the subtree of the leaves left.
      std::vector<SmtNodePtr> leaves;
      bool keep_old = n != nullptr;
      for (const Change* c = lo; c != hi; ++c) {
        if (n && c->first == as_leaf(*n).key) keep_old = false;
        if (c->second) leaves.push_back(leaf(c->first, *c->second, height_));
      }
      if (leaves.empty() && (!n || keep_old)) return n;  // nothing under it changes
      if (keep_old) leaves.push_back(n);
      return build(depth, leaves.data(), leaves.data() + leaves.size());
    }
    GUTS_ASSERT(depth < kMaxDepth, "repository tree deeper than 256 levels");
    const Inner& in = as_inner(*n);
    const Change* mid =
        std::partition_point(lo, hi, [&](const Change& c) { return !bit(c.first, depth); });
    // A side left unchanged is shared (its count raised) and hashed into the new node: its
    // node is fetched while the other side is rebuilt (it is rarely in the cache).
    if (lo == mid && in.child[0]) __builtin_prefetch(in.child[0].get(), 1);
    if (mid == hi && in.child[1]) __builtin_prefetch(in.child[1].get(), 1);
    SmtNodePtr c0 = lo == mid ? in.child[0] : update(in.child[0], depth + 1, lo, mid);
    SmtNodePtr c1 = mid == hi ? in.child[1] : update(in.child[1], depth + 1, mid, hi);
    if (c0 == in.child[0] && c1 == in.child[1]) return n;
    return join(depth, std::move(c0), std::move(c1));
  }

  // The subtree at `depth` holding exactly the leaves [lo, hi) (reordered here).
  SmtNodePtr build(uint16_t depth, SmtNodePtr* lo, SmtNodePtr* hi) {
    if (lo == hi) return nullptr;
    if (hi - lo == 1) return *lo;
    GUTS_ASSERT(depth < kMaxDepth, "repository tree keys collide");
    SmtNodePtr* mid =
        std::partition(lo, hi, [&](const SmtNodePtr& l) { return !bit(as_leaf(*l).key, depth); });
    return join(depth, build(depth + 1, lo, mid), build(depth + 1, mid, hi));
  }

  // The node at `depth` over two subtrees: a subtree left with a single leaf is that leaf (it
  // moves up). Its hash is computed by hash_new_nodes.
  SmtNodePtr join(uint16_t depth, SmtNodePtr c0, SmtNodePtr c1) {
    if (!c0 && (!c1 || c1->leaf)) return c1;
    if (!c1 && c0->leaf) return c0;
    auto* in = new Inner;
    SmtNodePtr out = born(in);
    in->child[0] = std::move(c0);
    in->child[1] = std::move(c1);
    new_inner_.push_back({depth, in});
    bytes_ += kInnerBytes;
    return out;
  }

  // A node just made, held once: nothing else sees it yet, so its count is set, not raised (a
  // locked increment per new node).
  static SmtNodePtr born(SmtTreeNode* n) {
    n->refs.store(1, std::memory_order_relaxed);
    return SmtNodePtr(n, /*add_ref=*/false);
  }

  // Every node made here is in the tree returned: update and build place every leaf they make
  // or are given, and join lifts a lone leaf but drops nothing. So the lists hold plain pointers
  // (a count raised and lowered per new node would cost a tenth of its hash). Leaves, which
  // sit at any depth, are hashed first; an inner node's inner children are one level below it,
  // hashed in the level before.
  void hash_new_nodes() {
    hash_batch(new_leaves_, [](const SmtTreeNode* n, crypto::Block65& m) {
      smt_node_message(m, 0, as_leaf(*n).key, as_leaf(*n).value);
    });
    // The inner nodes by depth, deepest first (a counting sort: depths are at most kMaxDepth).
    std::array<uint32_t, kMaxDepth + 2> start{};  // where each depth's nodes begin, deepest first
    for (const auto& [depth, node] : new_inner_) ++start[kMaxDepth - depth + 1];
    for (size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    auto next = start;
    by_depth_.resize(new_inner_.size());
    for (const auto& [depth, node] : new_inner_) by_depth_[next[kMaxDepth - depth]++] = node;
    for (size_t d = 0; d <= kMaxDepth; ++d)
      if (start[d] < start[d + 1])
        hash_batch(std::span<Inner* const>(by_depth_).subspan(start[d], start[d + 1] - start[d]),
                   [](const SmtTreeNode* n, crypto::Block65& m) {
                     const Inner& in = as_inner(*n);
                     smt_node_message(m, 1, hash_of(in.child[0]), hash_of(in.child[1]));
                   });
    new_leaves_.clear();
    new_inner_.clear();
  }

  // Sets each node's hash: the SHA-256 of the message `message(node, out)` writes (smt_proof.h).
  template <typename Nodes, typename Message>
  void hash_batch(const Nodes& nodes, Message&& message) {
    const size_t n = nodes.size();
    if (messages_.size() < n) {  // grown only: not cleared again for each level
      messages_.resize(n);
      digests_.resize(n);
    }
    for (size_t i = 0; i < n; ++i) message(nodes[i], messages_[i]);
    crypto::sha256_65(std::span(messages_).first(n), std::span(digests_).first(n));
    for (size_t i = 0; i < n; ++i) nodes[i]->hash = digests_[i];
  }

  uint64_t height_;
  size_t bytes_ = 0;
  std::vector<Leaf*> new_leaves_;
  std::vector<std::pair<uint16_t, Inner*>> new_inner_;  // with their depths
  std::vector<Inner*> by_depth_;
  std::vector<crypto::Block65> messages_;
  std::vector<Digest> digests_;
};

// ---- block records ----

// A block's changes are split in parts of about this size.
constexpr size_t kPartBytes = size_t(1) << 20;
// What a record may hold (the reader's bounds: records are ours, but a corrupt one must not
// allocate without limit).
constexpr size_t kMaxPartLeaves = size_t(1) << 24;
constexpr size_t kMaxPreimageBytes = kMaxLeafPreimageBytes;

std::string block_record_key(uint64_t height, uint32_t part) {
  std::string k(kSmtBlockPrefix);
  k += storage::be64(height);
  codec::Writer w(4);
  w.u32be(part);
  k.append(w.data().begin(), w.data().end());
  return k;
}

struct RecordLeaf {
  Digest key{};
  std::optional<Digest> value;
  ByteView preimage;             // into the record: the preimage, or the delta to it
  std::optional<uint64_t> base;  // a delta's base height
};

// Calls fn(RecordLeaf) for each leaf of one part; stops when fn returns false.
template <typename Fn>
void for_each_record_leaf(std::string_view record, Fn&& fn) {
  codec::Reader r(as_bytes(record));
  size_t n = r.count(kMaxPartLeaves, "repository tree leaves");
  for (size_t i = 0; i < n; ++i) {
    RecordLeaf l;
    l.key = r.fixed<32>();
    uint8_t kind = r.u8();
    if (kind > 2) throw codec::DecodeError("repository tree leaf record: bad kind");
    if (kind >= 1) {
      l.value = r.fixed<32>();
      if (kind == 2) l.base = r.varint();
      l.preimage = r.bytes_view(kMaxPreimageBytes, "repository tree leaf preimage");
    }
    if (!fn(l)) return;
  }
  r.finish();
}

// The height in a block record's key.
uint64_t record_height(std::string_view key) {
  GUTS_ASSERT(key.size() == kSmtBlockPrefix.size() + 12, "repository tree block record key");
  return storage::read_be64(key.substr(kSmtBlockPrefix.size(), 8));
}

// One leaf of a block record being written: value null when the leaf is removed.
struct RecordOut {
  const Digest* key;
  const Digest* value;
  ByteView preimage;  // or the delta to it
  std::optional<uint64_t> base = std::nullopt;
};

// The block record of `leaves` (sorted by key, each once), in parts of about kPartBytes.
void put_block_record(storage::Batch& batch, storage::Cf cf, uint64_t height,
                      const std::vector<RecordOut>& leaves) {
  uint32_t part = 0;
  for (size_t begin = 0, end = 0; begin < leaves.size(); begin = end) {
    size_t bytes = 0;
    for (; end < leaves.size() && bytes < kPartBytes; ++end)
      bytes += 33 + (leaves[end].value ? 52 + leaves[end].preimage.size() : 0);
    codec::Writer w(bytes + 10);
    w.varint(end - begin);
    for (size_t i = begin; i < end; ++i) {
      w.fixed(*leaves[i].key);
      if (!leaves[i].value)
        w.u8(0);
      else if (leaves[i].base)
        w.u8(2).fixed(*leaves[i].value).varint(*leaves[i].base).bytes(leaves[i].preimage);
      else
        w.u8(1).fixed(*leaves[i].value).bytes(leaves[i].preimage);
    }
    const Bytes& record = w.data();  // put copies it into the batch: no string in between
    batch.put(cf, block_record_key(height, part++),
              std::string_view(reinterpret_cast<const char*>(record.data()), record.size()));
  }
}

// Every key's last change at or below `height`: the tree at that height.
SmtNodePtr load_root(const storage::Db& db, storage::Cf cf, uint64_t height) {
  struct Set {
    Digest value;
    uint64_t height;
  };
  std::map<Digest, Set> leaves;
  db.scan_prefix(cf, kSmtBlockPrefix, [&](std::string_view k, std::string_view v) {
    uint64_t h = record_height(k);
    if (h > height) return false;
    try {
      for_each_record_leaf(v, [&](const RecordLeaf& l) {
        if (l.value)
          leaves[l.key] = Set{*l.value, h};
        else
          leaves.erase(l.key);
        return true;
      });
    } catch (const codec::DecodeError&) {
      GUTS_ASSERT(false, "repository tree block record is malformed");
    }
    return true;
  });
  Builder b(0);
  std::vector<SmtNodePtr> nodes;
  nodes.reserve(leaves.size());
  for (const auto& [key, set] : leaves) nodes.push_back(b.leaf(key, set.value, set.height));
  return b.build_root(nodes);
}

// Counts the nodes of a version (and what they take).
void count_nodes(const SmtTreeNode* n, size_t& nodes, size_t& bytes) {
  if (!n) return;
  ++nodes;
  if (n->leaf) {
    bytes += kLeafBytes;
    return;
  }
  bytes += kInnerBytes;
  count_nodes(as_inner(*n).child[0].get(), nodes, bytes);
  count_nodes(as_inner(*n).child[1].get(), nodes, bytes);
}

}  // namespace

std::optional<SmtNode> SmtReader::get(uint16_t depth, const Digest& path) const {
  SmtNodePtr r = root();
  const SmtTreeNode* n = r.get();
  uint16_t d = 0;
  for (; d < depth && n && !n->leaf; ++d) n = as_inner(*n).child[bit(path, d)].get();
  // A leaf above `depth` is not at (depth, path): nodes are where a walk ends or branches.
  if (!n || d < depth) return std::nullopt;
  SmtNode out;
  out.leaf = n->leaf;
  if (n->leaf) {
    out.key = as_leaf(*n).key;
    out.value = as_leaf(*n).value;
  } else {
    out.hash = n->hash;
  }
  return out;
}

// ---- SmtVersion ----

void SmtVersion::write_to(storage::Batch& batch, storage::Cf cf, uint64_t height) const {
  if (changes_.empty()) return;
  GUTS_ASSERT(height == height_, "repository tree changes written at another height");
  std::vector<RecordOut> leaves;
  leaves.reserve(changes_.size());
  for (const auto& [key, value] : changes_) {
    RecordOut l{&key, nullptr, {}};
    if (value) {
      auto pre = preimages_.find(*value);
      GUTS_ASSERT(pre != preimages_.end(), "repository tree leaf without its preimage");
      GUTS_ASSERT(!pre->second.base || *pre->second.base < height,
                  "repository tree leaf delta from a later block");
      l.value = &*value;
      l.preimage = ByteView(pre->second.bytes);
      l.base = pre->second.base;
    }
    leaves.push_back(l);
  }
  put_block_record(batch, cf, height, leaves);
}

void SmtVersion::set(const Digest& key, const std::optional<Digest>& value) {
  apply({{key, value}});
}

void SmtVersion::apply(const Changes& changes) {
  apply_sorted(std::vector<Change>(changes.begin(), changes.end()));
}

void SmtVersion::apply_sorted(std::vector<Change> changes) {
  if (changes.empty()) return;
  Builder b(height_);  // sorted by key: by path, bit by bit
  root_ = b.update_root(root_, changes.data(), changes.data() + changes.size());
  bytes_built_ += b.bytes();
  if (changes_.empty()) {
    changes_ = std::move(changes);
    return;
  }
  // Merged into the changes before: a key changed again keeps its last value.
  std::vector<Change> merged;
  merged.reserve(changes_.size() + changes.size());
  auto a = changes_.begin(), b_it = changes.begin();
  while (a != changes_.end() || b_it != changes.end()) {
    if (b_it == changes.end() || (a != changes_.end() && a->first < b_it->first)) {
      merged.push_back(std::move(*a++));
    } else {
      if (a != changes_.end() && a->first == b_it->first) ++a;
      merged.push_back(std::move(*b_it++));
    }
  }
  changes_ = std::move(merged);
}

// ---- SmtTree ----

SmtTree::SmtTree(uint64_t height, SmtNodePtr root) {
  held_.push_back(Held{height, std::move(root), 0});
}

std::unique_ptr<SmtTree> SmtTree::load(const storage::Db& db, storage::Cf cf, uint64_t height) {
  return std::make_unique<SmtTree>(height, load_root(db, cf, height));
}

uint64_t SmtTree::height() const {
  std::shared_lock lock(mu_);
  return held_.back().height;
}

uint64_t SmtTree::oldest() const {
  std::shared_lock lock(mu_);
  return oldest_locked();
}

SmtNodePtr SmtTree::root(uint64_t height) const {
  std::shared_lock lock(mu_);
  const uint64_t oldest = oldest_locked(), head = held_.back().height;
  if (height > head || height < oldest)
    throw Error(Code::kUnavailable, "the repository tree at height " + std::to_string(height) +
                                        " is not held in memory (held: " + std::to_string(oldest) +
                                        " to " + std::to_string(head) + ")");
  return held_[height - oldest].root;
}

void SmtTree::advance(uint64_t height, const SmtVersion& block) {
  SmtFreeBatch batch;        // declared first: frees the dropped versions' nodes together, last
  std::deque<Held> dropped;  // freed after the lock: freeing a version's nodes takes a while
  std::unique_lock lock(mu_);
  GUTS_ASSERT(height == held_.back().height + 1,
              "the repository tree advances one height at a time");
  // The head's version now keeps alive what the block replaced: about what it built.
  held_.back().bytes = block.bytes_built();
  undo_bytes_ += block.bytes_built();
  held_.push_back(Held{height, block.root(), 0});
  while (held_.size() > kMinHeights + 1 &&
         (held_.size() > kMaxHeights + 1 || undo_bytes_ > kMaxUndoBytes)) {
    undo_bytes_ -= held_.front().bytes;
    dropped.push_back(std::move(held_.front()));
    held_.pop_front();
  }
  lock.unlock();
}

std::shared_ptr<const SmtTree> SmtTree::past(const storage::Db& db, storage::Cf cf,
                                             uint64_t height) const {
  auto cached = [&]() -> std::shared_ptr<const SmtTree> {
    std::lock_guard lock(past_mu_);
    return past_ && past_->height() == height ? past_ : nullptr;
  };
  if (auto t = cached()) return t;
  // One rebuild at a time: requests for old heights cost one core and one tree's memory at
  // most, however many arrive together. The others are refused rather than queued (a flood of
  // them would otherwise hold every API thread waiting here).
  std::unique_lock rebuilding(rebuild_mu_, std::try_to_lock);
  if (!rebuilding.owns_lock())
    throw Error(Code::kUnavailable,
                "the repository tree at an older height is being rebuilt for another request; "
                "retry after 1 s");
  if (auto t = cached()) return t;  // built while this request waited for the lock
  // The tree kept answers its height meanwhile: two trees in memory at most.
  std::shared_ptr<const SmtTree> tree = load(db, cf, height);
  std::lock_guard lock(past_mu_);
  past_ = tree;
  return tree;
}

SmtProof SmtTree::prove_past(const storage::Db& db, storage::Cf cf, uint64_t height,
                             const Digest& key, uint64_t* leaf_height) const {
  {
    std::lock_guard lock(past_mu_);
    if (auto it = old_proofs_.find({height, key}); it != old_proofs_.end()) {
      if (leaf_height) *leaf_height = it->second.leaf_height;
      return it->second.proof;
    }
  }
  uint64_t at = 0;
  SmtProof proof = smt_prove(SmtTreeReader(*past(db, cf, height), height), key, &at);
  if (leaf_height) *leaf_height = at;
  std::lock_guard lock(past_mu_);
  if (old_proofs_.size() >= kMaxOldProofs) old_proofs_.clear();
  old_proofs_.emplace(std::pair{height, key}, OldProof{proof, at});
  return proof;
}

size_t SmtTree::size() const {
  size_t nodes = 0, bytes = 0;
  count_nodes(root(height()).get(), nodes, bytes);
  return nodes;
}

size_t SmtTree::bytes() const {
  size_t nodes = 0, bytes = 0;
  count_nodes(root(height()).get(), nodes, bytes);
  return bytes;
}

size_t SmtTree::undo_bytes() const {
  std::shared_lock lock(mu_);
  return undo_bytes_;
}

Digest smt_root(const SmtReader& tree) {
  return hash_of(tree.root());
}

SmtProof smt_prove(const SmtReader& tree, const Digest& key, uint64_t* leaf_height) {
  SmtNodePtr root = tree.root();
  const SmtTreeNode* n = root.get();
  SmtProof p;
  for (uint16_t depth = 0; depth <= kMaxDepth; ++depth) {
    if (!n || n->leaf) {
      p.depth = depth;
      if (n) {
        SmtNode t;
        t.leaf = true;
        t.key = as_leaf(*n).key;
        t.value = as_leaf(*n).value;
        p.terminal = t;
        if (leaf_height) *leaf_height = as_leaf(*n).height;
      }
      return p;
    }
    const Inner& in = as_inner(*n);
    bool b = bit(key, depth);
    p.siblings.push_back(hash_of(in.child[!b]));
    n = in.child[b].get();
  }
  GUTS_ASSERT(false, "repository tree deeper than 256 levels");
  return p;
}

// ---- repositories ----

namespace {

// The leaf's fields taken from the repository's record.
void take_record(RepoState& s, const Repo& repo) {
  s.id = repo.id;
  s.owner = repo.owner;
  s.name = repo.name;
  s.is_private = repo.is_private;
  s.default_branch = repo.default_branch;
}

std::string login_of(const StateView& view, const crypto::PublicKey& owner) {
  auto account = view.account(owner);
  return account ? account->username : std::string();
}

}  // namespace

std::optional<RepoState> repo_state_of(const StateView& view, uint64_t repo_id) {
  auto repo = view.repo(repo_id);
  if (!repo) return std::nullopt;
  RepoState s;
  take_record(s, *repo);
  s.owner_login = login_of(view, repo->owner);
  s.refs = view.refs(repo_id);
  return s;
}

namespace {

// Adds to `changes` the leaf of a validator set change / a repository, and to `tree` the
// leaf value's preimage.
using Changes = std::vector<SmtVersion::Change>;

// Sorted by key, each key once: its last change in `c`. Their positions are sorted, not the
// changes (each moved once; a stable sort of the changes took a buffer and moved each log n times).
Changes sorted_unique(Changes c) {
  std::vector<std::pair<uint64_t, size_t>> order(c.size());  // (smt_key_prefix, position)
  for (size_t i = 0; i < c.size(); ++i) order[i] = {smt_key_prefix(c[i].first), i};
  std::sort(order.begin(), order.end(), [&](const auto& x, const auto& y) {
    if (x.first != y.first) return x.first < y.first;
    return c[x.second].first < c[y.second].first ||
           (c[x.second].first == c[y.second].first && x.second < y.second);
  });
  Changes out;
  out.reserve(c.size());
  for (const auto& [prefix, i] : order) {
    if (!out.empty() && out.back().first == c[i].first)
      out.back() = std::move(c[i]);
    else
      out.push_back(std::move(c[i]));
  }
  return out;
}

void add_validator_leaf(SmtVersion& tree, Changes& changes, std::string_view encoded_change) {
  auto change = decode_validator_change(encoded_change);
  Bytes enc(encoded_change.begin(), encoded_change.end());
  Digest v = crypto::sha256(enc);
  changes.emplace_back(validator_tree_key(change.activation_height), v);
  tree.add_preimage(v, std::move(enc));
}

// Where a repository's leaf is (its key), without reading its refs as repo_state_of does.
std::optional<Digest> repo_key_of(const StateView& view, uint64_t repo_id) {
  auto repo = view.repo(repo_id);
  if (!repo) return std::nullopt;
  return repo_tree_key(login_of(view, repo->owner), repo->name);
}

// `delta`: its preimage as the delta from its base's (nullopt: whole, the leaf its own base).
void add_repo_leaf(SmtVersion& tree, Changes& changes, const RepoLeaf& leaf,
                   std::optional<Bytes> delta) {
  changes.emplace_back(leaf.key, leaf.value);
  if (delta)
    tree.add_preimage_delta(leaf.value, std::move(*delta), leaf.base->height);
  else
    tree.add_preimage(leaf.value, leaf_encoding(leaf));
}

}  // namespace

namespace {

size_t approx_bytes(const std::shared_ptr<const RepoLeaf>& l) {
  size_t n = 64;
  if (!l) return n;
  const RepoState& f = l->fields;
  // A refs' tree: a leaf and about one inner node per ref (some shared with the leaf before).
  const size_t tree = l->refs ? l->ref_count * (kLeafBytes + kInnerBytes) : 0;
  // Its base (shared with the leaves before it since that base, which the cache no longer
  // holds), from what the leaf holds: the base itself is long out of the cache (about one entry
  // per ref).
  const size_t base = sizeof(LeafBase) + l->base_encoding.size() + 4 * l->ref_count;
  return n + sizeof(RepoLeaf) + base + l->changed.capacity() + f.owner_login.size() +
         f.name.size() + f.default_branch.size() + tree;
}

// The leaf values of a block's repositories, as the tree of a block of `version` holds them.
// Version 3 commits to each repository's refs through a tree of their own: every leaf's refs'
// tree is updated (or built) first, then each value computed from its tree's root. Hashed in
// batches, several at a time (crypto::sha256_many): the refs' keys and values, the trees' new
// nodes, then the values.
class LeafValues {
 public:
  explicit LeafValues(uint8_t version) : version_(version) {}
  // Room for `leaves` leaves writing `refs` refs in all (names and targets of about `bytes`):
  // a block of pushes then allocates its batch once (a leaf without a refs' tree before it, new
  // or converted, adds all its refs: the batch grows past this).
  void reserve(size_t leaves, size_t refs, size_t bytes) {
    if (version_ < kHeaderV3) return;  // hashed one by one in add()
    jobs_.reserve(leaves);
    refs_.reserve(refs);
    hashes_.reserve(2 * refs, bytes);
  }
  // Sets `l`'s value now (version 2) or in finish(), before which neither `l` nor `was` may go
  // away. Its refs' tree is `was`'s (when it has one) updated by `writes`, else built from all
  // its refs.
  void add(RepoLeaf& l, const RepoLeaf* was, std::span<const RefWrite> writes) {
    if (version_ < kHeaderV3) {
      l.refs.reset();
      l.value = crypto::sha256(leaf_encoding(l));
      return;
    }
    const SmtNodePtr* base = was && was->refs ? &*was->refs : nullptr;
    const size_t begin = refs_.size();
    auto add_ref = [&](std::string_view name, std::optional<ByteView> target) {
      const size_t key = hashes_.add_key(name);
      refs_.push_back({key, target ? hashes_.add_value(*target) : kDeleted});
    };
    if (base) {
      for (const RefWrite& w : writes)
        add_ref(w.name, w.target ? std::optional(as_bytes(*w.target)) : std::nullopt);
    } else {
      for (const auto& [name, target] : ref_entries(l)) add_ref(name, target);
    }
    jobs_.push_back({&l, base, begin, refs_.size()});
    pending_refs_ += l.ref_count;
  }
  void finish() {
    hashes_.hash();
    changes_.clear();
    changes_.reserve(refs_.size());
    for (const auto& [key, value] : refs_)
      changes_.emplace_back(hashes_[key],
                            value == kDeleted ? std::nullopt : std::optional(hashes_[value]));
    for (const Job& j : jobs_)
      std::sort(changes_.begin() + ptrdiff_t(j.begin), changes_.begin() + ptrdiff_t(j.end),
                [](const auto& x, const auto& y) { return x.first < y.first; });
    // The trees' changed paths fetched together, then copied one tree after another.
    fetch_.clear();
    for (const Job& j : jobs_)
      if (j.base)
        for (size_t i = j.begin; i < j.end; ++i) fetch_.add(j.base->get(), &changes_[i].first);
    fetch_.all();
    std::vector<SmtNodePtr> leaves;
    for (const Job& j : jobs_) {
      if (j.base) {
        j.leaf->refs =
            builder_.update_unhashed(*j.base, changes_.data() + j.begin, changes_.data() + j.end);
        continue;
      }
      leaves.clear();
      for (size_t i = j.begin; i < j.end; ++i)
        leaves.push_back(builder_.leaf(changes_[i].first, *changes_[i].second, 0));
      j.leaf->refs = builder_.build_unhashed(leaves);
    }
    builder_.hash_pending();
    // The leaves' preimages one after the other in one buffer.
    codec::Writer encodings(jobs_.size() * 160);
    std::vector<size_t> ends;
    ends.reserve(jobs_.size());
    for (const Job& j : jobs_) {
      write_repo_leaf_v3(encodings, j.leaf->fields, j.leaf->ref_count, hash_of(*j.leaf->refs));
      ends.push_back(encodings.size());
    }
    const ByteView all(encodings.data());
    std::vector<ByteView> messages(jobs_.size());
    for (size_t i = 0; i < jobs_.size(); ++i) {
      const size_t begin = i ? ends[i - 1] : 0;
      messages[i] = all.subspan(begin, ends[i] - begin);
    }
    std::vector<Digest> values(messages.size());
    crypto::sha256_many(messages, values);
    for (size_t i = 0; i < jobs_.size(); ++i) jobs_[i].leaf->value = values[i];
    jobs_.clear();
    refs_.clear();
    hashes_.clear();
    pending_refs_ = 0;
  }
  // The refs of the leaves waiting for finish(): a whole state's conversion or build finishes
  // by batches of about kBatchRefs, so that it does not hold every refs' tree at once.
  size_t pending_refs() const { return pending_refs_; }
  static constexpr size_t kBatchRefs = size_t(1) << 18;  // ~50 MiB of trees

 private:
  uint8_t version_;
  Builder builder_{0};
  // A leaf whose refs' tree is `base` updated by the refs [begin, end) of refs_ (or, without a
  // base, built from them). `base` is the leaf before's (add's `was`), held by the caller until
  // finish(): not counted again here.
  struct Job {
    RepoLeaf* leaf;
    const SmtNodePtr* base;
    size_t begin, end;
  };
  // A ref written: its key's and its value's hashes in hashes_ (kDeleted: deleted, no value).
  static constexpr size_t kDeleted = ~size_t(0);
  std::vector<std::pair<size_t, size_t>> refs_;
  RefHashes hashes_;
  std::vector<Builder::Change> changes_;
  std::vector<Job> jobs_;
  PathFetch fetch_;
  size_t pending_refs_ = 0;
};

// What a block wrote of repository `id`, as its overlay holds it (nullopt: deleted): its
// record when written, and its refs' keys and values, by key.
using Written = std::optional<std::string>;
using RefWritten = std::pair<std::string_view, const Written*>;
struct RepoWrites {
  uint64_t id = 0;
  const Written* record = nullptr;
  std::span<const RefWritten> refs;
};

// The repositories a block wrote, by id, each once: its repository records and its refs (the
// overlay's keys, sorted: by id, then by name within a repository), with the repositories of
// `and_ids` (sorted) that it did not write. `refs` receives the ref writes the spans point into
// (what it held before is dropped).
std::vector<RepoWrites> repos_written(const Schema& schema, const Overlay& after,
                                      std::vector<RefWritten>& refs,
                                      std::span<const uint64_t> and_ids) {
  refs.clear();
  std::vector<RepoWrites> records, by_refs;  // each sorted by id
  std::vector<uint64_t> ref_ids;             // each ref write's repository
  // At most the block's writes each (one allocation each, not a vector grown write by write; a
  // write in the overlay takes more than its entry here).
  for (auto* v : {&records, &by_refs}) v->reserve(after.size());
  ref_ids.reserve(after.size());
  refs.reserve(after.size());
  after.for_each_written(schema.repos, [&](std::string_view key, const Written& value) {
    if (key.size() == 8) records.push_back({storage::read_be64(key), &value, {}});
  });
  after.for_each_written(schema.refs, [&](std::string_view key, const Written& value) {
    if (key.size() < 8) return;
    ref_ids.push_back(storage::read_be64(key.substr(0, 8)));
    refs.emplace_back(key, &value);
  });
  for (size_t i = 0, j = 0; i < ref_ids.size(); i = j) {
    while (j < ref_ids.size() && ref_ids[j] == ref_ids[i]) ++j;
    by_refs.push_back({ref_ids[i], nullptr, std::span(refs).subspan(i, j - i)});
  }
  // The three merged in one pass (each is sorted: a repository is found in each at most once,
  // in step). kNone stands for a source run out; an id equal to it is still taken, since each
  // source's bounds are checked before its id is compared.
  std::vector<RepoWrites> out;
  out.reserve(records.size() + by_refs.size() + and_ids.size());
  constexpr uint64_t kNone = ~uint64_t(0);
  size_t r = 0, f = 0, a = 0;
  for (;;) {
    const uint64_t id = std::min({r < records.size() ? records[r].id : kNone,
                                  f < by_refs.size() ? by_refs[f].id : kNone,
                                  a < and_ids.size() ? and_ids[a] : kNone});
    if (r == records.size() && f == by_refs.size() && a == and_ids.size()) break;
    RepoWrites w{id, nullptr, {}};
    if (r < records.size() && records[r].id == id) w.record = records[r++].record;
    if (f < by_refs.size() && by_refs[f].id == id) w.refs = by_refs[f++].refs;
    while (a < and_ids.size() && and_ids[a] == id) ++a;
    out.push_back(w);
  }
  return out;
}

// The repository's leaf after the block at `height`, from its leaf before (`was`, which existed)
// and what the block wrote: reads only an owner's login that may have changed. Its encoding
// equals encode_repo_state(repo_state_of(now, id)); no leaf when the block deleted it.
PatchedLeaf patched_leaf(const RepoLeaf& was, const RepoWrites& w,
                         const std::set<std::string_view>& accounts, const StateView& now,
                         uint64_t height, LeafValues& values) {
  RepoState fields = was.fields;
  if (w.record) {
    if (!*w.record) return {};
    take_record(fields, decode_repo(**w.record));
  }
  if (fields.owner != was.fields.owner || accounts.contains(key_of(fields.owner)))
    fields.owner_login = login_of(now, fields.owner);
  std::vector<RefWrite> refs;  // the overlay's keys are sorted: by name within a repository
  refs.reserve(w.refs.size());
  for (const auto& [key, target] : w.refs) {
    RefWrite r{key.substr(8), std::nullopt};
    if (*target) r.target = std::string_view(**target);
    refs.push_back(r);
  }
  PatchedLeaf p = patch_repo_leaf(was, std::move(fields), refs, height);
  values.add(*p.leaf, &was, refs);
  return p;
}

}  // namespace

RepoStateCache::Found RepoStateCache::find(uint64_t height, uint64_t id) const {
  std::lock_guard lock(mu_);
  if (height != height_) return std::nullopt;
  auto it = states_.find(id);
  if (it == states_.end()) return std::nullopt;
  return it->second.state;
}

std::vector<RepoStateCache::Found> RepoStateCache::find(uint64_t height,
                                                        std::span<const uint64_t> ids) const {
  std::vector<Found> out(ids.size());
  std::lock_guard lock(mu_);
  if (height != height_) return out;
  // Found first, each held state's count (beside it: make_shared) fetched; then taken.
  std::vector<const Held*> held(ids.size(), nullptr);
  for (size_t i = 0; i < ids.size(); ++i)
    if (auto it = states_.find(ids[i]); it != states_.end()) {
      held[i] = &it->second;
      if (const RepoLeaf* l = it->second.state.get()) prefetch_shared_count(l);
    }
  for (size_t i = 0; i < ids.size(); ++i)
    if (held[i]) out[i] = held[i]->state;
  return out;
}

void RepoStateCache::advance(uint64_t height, const RepoStates& block) {
  // The states let go of here free their refs' trees' nodes together, after the lock.
  SmtFreeBatch batch;
  std::lock_guard lock(mu_);
  if (height != height_ + 1) {
    states_.clear();
    written_.clear();
    bytes_ = 0;
  }
  height_ = height;
  for (const auto& [id, state] : block) {
    const size_t size = approx_bytes(state);
    if (auto it = states_.find(id); it != states_.end()) {
      bytes_ -= it->second.bytes;  // replaced below, or dropped when too large
      if (size > max_bytes_) states_.erase(it);
    }
    if (size > max_bytes_) continue;
    // The others written longest ago go until it fits (its own entry, being replaced, is skipped).
    while (bytes_ + size > max_bytes_ && !written_.empty()) {
      const auto [old_id, when] = written_.front();
      written_.pop_front();
      auto old = states_.find(old_id);
      if (old_id == id || old == states_.end() || old->second.written != when) continue;
      bytes_ -= old->second.bytes;
      states_.erase(old);
    }
    states_.insert_or_assign(id, Held{state, size, ++writes_});
    written_.emplace_back(id, writes_);
    bytes_ += size;
  }
  if (written_.size() > kCompactAt * states_.size() + 64)
    std::erase_if(written_, [&](const std::pair<uint64_t, uint64_t>& w) {
      auto it = states_.find(w.first);
      return it == states_.end() || it->second.written != w.second;
    });
}

size_t RepoStateCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void smt_apply_block(SmtVersion& tree, const Schema& schema, const KvReader& before,
                     const Overlay& after, uint8_t version, uint8_t parent_version,
                     const PriorRepoState& prior, RepoStates* touched_out) {
  // The repositories whose record or refs the block wrote, the accounts it wrote (an owner's
  // login is in the leaf), and the validator set changes it executed (a leaf per change).
  std::set<std::string_view> accounts;
  std::vector<std::string_view> changes;
  after.for_each_written(schema.accounts,
                         [&](std::string_view key, const Written&) { accounts.insert(key); });
  after.for_each_written(schema.governance, [&](std::string_view key, const Written& value) {
    if (key.starts_with(kValidatorChangePrefix) && value) changes.emplace_back(*value);
  });
  // The first block of version 3 sets every repository's leaf in its new form.
  std::vector<uint64_t> every;
  if (version >= kHeaderV3 && parent_version < kHeaderV3)
    after.scan_prefix(schema.repos, "", [&](std::string_view k, std::string_view) {
      if (k.size() == 8) every.push_back(storage::read_be64(k));
      return true;
    });
  std::vector<RefWritten> ref_writes;
  const std::vector<RepoWrites> touched = repos_written(schema, after, ref_writes, every);
  // One batch: the leaves of repositories that no longer are where they were (renamed, moved,
  // deleted) go first, then every leaf as it is after the block, so a name one repository left
  // and another took in the same block holds the latter whatever the order of their ids.
  Changes removed, set;
  for (std::string_view change : changes) add_validator_leaf(tree, set, change);
  StateView old_view(schema, before), new_view(schema, after);
  LeafValues values(version);
  size_t ref_bytes = 0;
  for (const auto& [key, target] : ref_writes)
    ref_bytes += key.size() + (*target ? (*target)->size() : 0);
  values.reserve(touched.size(), ref_writes.size(), ref_bytes);
  struct Patched {
    uint64_t id;
    PatchedLeaf now;
    bool not_written;  // set again by the conversion to version 3 only
    std::shared_ptr<const RepoLeaf> was;
  };
  std::vector<Patched> patched;  // holds the leaves (and those before) until values.finish()
  patched.reserve(touched.size());
  size_t valued = 0;  // patched[0, valued) have their values
  auto finish = [&] {
    values.finish();
    // A repository the block did not write (the conversion's) keeps its encoding, not its refs'
    // tree (rebuilt at its next push): the conversion never holds every tree at once.
    for (; valued < patched.size(); ++valued)
      if (patched[valued].not_written && patched[valued].now.leaf)
        patched[valued].now.leaf->refs.reset();
  };
  // The leaves before, all looked up first and fetched together: each is out of the cache, and
  // patched one after the other each would be a wait.
  std::vector<RepoStateCache::Found> priors;
  if (prior) {
    std::vector<uint64_t> ids;
    ids.reserve(touched.size());
    for (const RepoWrites& w : touched) ids.push_back(w.id);
    priors = prior(ids);
    GUTS_ASSERT(priors.size() == ids.size(), "repository states before the block: one per id");
  } else {
    priors.resize(touched.size());
  }
  for (const auto& p : priors)
    if (p && *p)
      for (size_t at = 0; at < sizeof(RepoLeaf); at += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(p->get()) + at);
  for (const auto& p : priors)  // what they point to, once they are in
    if (p && *p) {
      __builtin_prefetch((*p)->changed.data());
      // The base's count (beside it: make_shared), raised by the leaf after.
      prefetch_shared_count((*p)->base.get());
      if ((*p)->refs && *(*p)->refs) prefetch_node((*p)->refs->get());
    }
  // The leaves' paths in the tree, fetched a level at a time while the leaves are patched (its
  // update, last, then finds them in the cache). The walks hold plain pointers: to the tree's
  // nodes, which its version holds until apply_sorted below, and to the leaves' keys, held by
  // `priors` then `patched`.
  PathFetch main_paths;
  if (SmtNodePtr root = tree.root())
    for (const auto& p : priors)
      if (p && *p) main_paths.add(root.get(), &(*p)->key);
  const size_t fetch_every = std::max<size_t>(1, touched.size() / 24);
  size_t next_prior = 0;
  for (const RepoWrites& writes : touched) {
    const uint64_t id = writes.id;
    if (next_prior % fetch_every == 0) main_paths.step();
    auto was = std::move(priors[next_prior++]);
    PatchedLeaf now;
    if (was && *was) {
      now = patched_leaf(**was, writes, accounts, new_view, tree.height(), values);
      // A leaf that stays where it was is simply set again below.
      if (!now.leaf || now.leaf->key != (*was)->key)
        removed.emplace_back((*was)->key, std::nullopt);
    } else {
      // Not known (read the state before and after), or known not to have existed.
      if (!was)
        if (auto key = repo_key_of(old_view, id)) removed.emplace_back(*key, std::nullopt);
      if (auto s = repo_state_of(new_view, id)) {
        now.leaf = make_repo_leaf(*s, tree.height());
        values.add(*now.leaf, nullptr, {});
      }
    }
    patched.push_back({id, std::move(now), !writes.record && writes.refs.empty(),
                       was ? std::move(*was) : nullptr});
    if (values.pending_refs() >= LeafValues::kBatchRefs) finish();
  }
  finish();
  tree.reserve_preimages(patched.size());
  set.reserve(set.size() + patched.size());
  if (touched_out) {
    touched_out->clear();
    touched_out->reserve(patched.size());
  }
  for (auto& [id, now, not_written, was] : patched) {  // by id: touched_out stays sorted
    if (now.leaf) add_repo_leaf(tree, set, *now.leaf, std::move(now.delta));
    if (touched_out) touched_out->emplace_back(id, std::move(now.leaf));
  }
  // The sets after the removals: a key both left and taken holds what took it.
  if (removed.empty())
    removed = std::move(set);
  else
    removed.insert(removed.end(), std::make_move_iterator(set.begin()),
                   std::make_move_iterator(set.end()));
  tree.apply_sorted(sorted_unique(std::move(removed)));
}

void smt_build_all(SmtVersion& tree, const Schema& schema, const KvReader& state, uint8_t version) {
  StateView view(schema, state);
  std::vector<uint64_t> ids;
  state.scan_prefix(schema.repos, "", [&](std::string_view k, std::string_view) {
    if (k.size() == 8) ids.push_back(storage::read_be64(k));
    return true;
  });
  Changes leaves;
  // By batches: the leaves and their refs' trees go once their values are set.
  LeafValues values(version);
  std::vector<std::shared_ptr<RepoLeaf>> batch;  // held until values.finish()
  auto finish = [&] {
    values.finish();
    for (const auto& leaf : batch) add_repo_leaf(tree, leaves, *leaf, std::nullopt);
    batch.clear();
  };
  for (uint64_t id : ids)
    if (auto s = repo_state_of(view, id)) {
      batch.push_back(make_repo_leaf(*s, tree.height()));
      values.add(*batch.back(), nullptr, {});
      if (values.pending_refs() >= LeafValues::kBatchRefs) finish();
    }
  finish();
  std::vector<std::string> changes;
  state.scan_prefix(schema.governance, kValidatorChangePrefix,
                    [&](std::string_view, std::string_view v) {
                      changes.emplace_back(v);
                      return true;
                    });
  for (const auto& c : changes) add_validator_leaf(tree, leaves, c);
  tree.apply_sorted(sorted_unique(std::move(leaves)));
}

bool smt_convert_leaf_records(storage::Db& db, storage::Cf cf, uint64_t head) {
  constexpr std::string_view kOldPrefix = "smt/l/", kOldFrom = "smt/leaves-from";
  auto from = db.get(cf, kOldFrom);
  if (!from) return false;
  // Scanned by key, then height: each height's leaves come out sorted by key, each once.
  struct Old {
    Digest key;
    std::optional<Digest> value;
    Bytes preimage;
  };
  std::map<uint64_t, std::vector<Old>> by_height;
  db.scan_prefix(cf, kOldPrefix, [&](std::string_view k, std::string_view v) {
    if (k.size() != kOldPrefix.size() + 40 || (!v.empty() && v.size() < 32))
      throw codec::DecodeError("repository tree leaf record is malformed");
    Old o;
    std::copy_n(k.begin() + kOldPrefix.size(), 32, o.key.begin());
    if (!v.empty()) {
      Digest value;
      std::copy_n(v.begin(), 32, value.begin());
      o.value = value;
      o.preimage.assign(v.begin() + 32, v.end());
    }
    by_height[storage::read_be64(k.substr(kOldPrefix.size() + 32))].push_back(std::move(o));
    return true;
  });
  storage::Batch batch;
  size_t bytes = 0;
  for (const auto& [height, leaves] : by_height) {
    std::vector<RecordOut> out;
    out.reserve(leaves.size());
    for (const auto& l : leaves) {
      out.push_back(RecordOut{&l.key, l.value ? &*l.value : nullptr, ByteView(l.preimage)});
      bytes += 75 + l.preimage.size();
    }
    put_block_record(batch, cf, height, out);
    if (bytes >= (size_t(8) << 20)) {
      db.write(batch, /*sync=*/false);
      batch = storage::Batch();
      bytes = 0;
    }
  }
  batch.put(cf, kSmtFromKey, *from);
  batch.put(cf, kSmtRecordsHeadKey, storage::be64(head));
  batch.del(cf, kOldFrom);
  db.write(batch, /*sync=*/true);
  return true;
}

namespace {

// The preimage of the leaf (key, value) that the block at `leaf_height` set (as the tree at
// `height` holds it): in that block's record, whole or as a delta from the same key's preimage
// in an earlier block's record, itself whole or a delta, down to a whole one. `version`: the
// header version at `height` (deltas are repositories' states, whose leaf value it defines).
Bytes record_preimage(const storage::Db& db, storage::Cf cf, uint64_t height, uint64_t leaf_height,
                      const Digest& key, const Digest& value, uint8_t version) {
  // Bounds a chain in records written by any version (this one writes each delta from a whole
  // record; those before session 22 wrote chains of up to 32).
  constexpr size_t kMaxChain = 1024;
  std::vector<Bytes> deltas;  // from `leaf_height` down
  std::optional<Bytes> whole;
  for (uint64_t h = leaf_height; !whole;) {
    std::string prefix(kSmtBlockPrefix);
    prefix += storage::be64(h);
    bool found = false, matches = false;
    std::optional<uint64_t> base;
    try {
      db.scan_prefix(cf, prefix, [&](std::string_view, std::string_view v) {
        for_each_record_leaf(v, [&](const RecordLeaf& l) {
          if (l.key != key) return true;
          found = true;
          // The leaf's own record must hold its value; the records below, any.
          matches = l.value && (h != leaf_height || *l.value == value);
          if (!matches) return false;
          if (l.base)
            deltas.emplace_back(l.preimage.begin(), l.preimage.end());
          else
            whole = Bytes(l.preimage.begin(), l.preimage.end());
          base = l.base;
          return false;
        });
        return !found;
      });
    } catch (const codec::DecodeError& e) {
      throw Error(Code::kInternal, std::string("repository tree block record: ") + e.what());
    }
    if (!found || !matches)
      throw Error(Code::kInternal, "repository tree leaf at height " + std::to_string(height) +
                                       " has no matching record at height " + std::to_string(h));
    if (whole) break;
    if (*base >= h || deltas.size() > kMaxChain)
      throw Error(Code::kInternal, "repository tree block record at height " + std::to_string(h) +
                                       ": a delta from height " + std::to_string(*base));
    h = *base;
  }
  Bytes preimage = std::move(*whole);
  if (deltas.empty()) return preimage;  // as it was written
  bool matches = false;
  try {
    for (auto d = deltas.rbegin(); d != deltas.rend(); ++d)
      preimage = codec::apply_delta(preimage, *d, kMaxPreimageBytes);
    // A rebuilt one is checked: a wrong delta must not be served as the leaf's preimage.
    matches = repo_leaf_value(decode_repo_state(preimage), version) == value;
  } catch (const codec::DecodeError& e) {
    throw Error(Code::kInternal, std::string("repository tree block record: ") + e.what());
  }
  if (!matches)
    throw Error(Code::kInternal, "repository tree leaf at height " + std::to_string(height) +
                                     ": its records make another preimage");
  return preimage;
}

}  // namespace

std::optional<RepoProofAt> prove_key_at(const storage::Db& db, const Schema& schema,
                                        uint64_t height, const Digest& key, const SmtTree* recent) {
  auto from = db.get(schema.meta, kSmtFromKey);
  if (!from || height < storage::read_be64(*from)) return std::nullopt;
  auto roots = db.get(schema.meta, smt_roots_key(height));
  if (!roots || roots->size() != 65) return std::nullopt;
  RepoProofAt p;
  p.height = height;
  std::copy_n(roots->begin(), 32, p.history.begin());
  std::copy_n(roots->begin() + 32, 32, p.repos_root.begin());
  p.version = uint8_t((*roots)[64]);
  p.key = key;
  // The block at `height` is stored but its commit has not advanced the tree yet.
  if (recent && height > recent->height())
    throw Error(Code::kUnavailable, "the block at height " + std::to_string(height) +
                                        " is being applied; retry after 1 s");
  bool proved = false;
  uint64_t leaf_height = 0;
  if (recent && height >= recent->oldest()) {
    try {
      p.proof = smt_prove(SmtTreeReader(*recent, height), p.key, &leaf_height);
      proved = true;
    } catch (const Error&) {
      // The height left memory as a commit advanced the tree: rebuilt below.
    }
  }
  if (!proved)
    p.proof = recent ? recent->prove_past(db, schema.meta, height, key, &leaf_height)
                     : smt_prove(SmtTreeReader(*SmtTree::load(db, schema.meta, height), height),
                                 key, &leaf_height);
  if (p.proof.terminal && p.proof.terminal->key == p.key)
    p.state = record_preimage(db, schema.meta, height, leaf_height, p.key, p.proof.terminal->value,
                              p.version);
  return p;
}

std::optional<RepoProofAt> prove_repo_at(const storage::Db& db, const Schema& schema,
                                         uint64_t height, std::string_view owner_login,
                                         std::string_view name, const SmtTree* recent) {
  return prove_key_at(db, schema, height, repo_tree_key(owner_login, name), recent);
}

namespace {
constexpr std::string_view kCertPrefix = "trust/cert/";
}

void store_finality_certificate(storage::Db& db, const Schema& schema, uint64_t height,
                                ByteView certificate) {
  db.put(schema.local, std::string(kCertPrefix) + storage::be64(height), to_string(certificate));
}

std::optional<std::pair<uint64_t, Bytes>> finality_certificate(const storage::Db& db,
                                                               const Schema& schema,
                                                               std::optional<uint64_t> height) {
  std::string prefix(kCertPrefix);
  if (height) {
    auto v = db.get(schema.local, prefix + storage::be64(*height));
    if (!v) return std::nullopt;
    return std::make_pair(*height, Bytes(v->begin(), v->end()));
  }
  auto it = db.iterate(schema.local);
  it->seek_for_prev(prefix + storage::be64(UINT64_MAX));
  if (!it->valid() || it->key().size() != prefix.size() + 8 ||
      it->key().substr(0, prefix.size()) != prefix)
    return std::nullopt;
  return std::make_pair(storage::read_be64(it->key().substr(prefix.size())),
                        Bytes(it->value().begin(), it->value().end()));
}

std::string smt_roots_key(uint64_t height) {
  return "smt/r/" + storage::be64(height);
}

}  // namespace guts::state
