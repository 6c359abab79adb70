#include "state/smt.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "codec/codec.h"
#include "core/assert.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "state/rules.h"
#include "state/validator_set.h"
#include "state/view.h"

namespace guts::state {

namespace {

constexpr std::string_view kLeafPrefix = "smt/l/";
constexpr uint16_t kMaxDepth = 256;

bool bit(const Digest& k, uint16_t i) {
  return smt_bit(k, i);
}

Digest mask(const Digest& k, uint16_t depth) {
  return smt_mask(k, depth);
}

// The path of the child `b` of the node at (depth, path of k).
Digest child(const Digest& k, uint16_t depth, bool b) {
  Digest out = mask(k, depth);
  if (b) out[depth / 8] |= uint8_t(0x80 >> (depth % 8));
  return out;
}

std::string leaf_prefix(const Digest& key) {
  std::string k(kLeafPrefix);
  k.append(key.begin(), key.end());
  return k;
}

// What a map entry takes, roughly (the open-addressing table's slot and its metadata).
constexpr size_t kNodeEntryBytes = sizeof(SmtNodeMap::value_type) + 2;

Digest hash_of(const std::optional<SmtNode>& n) {
  return n ? n->digest() : Digest{};
}

}  // namespace

size_t SmtNodeIdHash::operator()(const SmtNodeId& k) const {
  // Paths are SHA-256 prefixes padded with zeros: their first bytes are well mixed.
  uint64_t h;
  std::memcpy(&h, k.second.data(), sizeof h);
  return std::hash<uint64_t>{}(h ^ (uint64_t(k.first) * 0x9e3779b97f4a7c15ull));
}

std::unique_ptr<SmtTree> SmtTree::load(const storage::Db& db, storage::Cf cf, uint64_t height) {
  // Every key's newest record at or below `height`: records sort by key, then height.
  SmtOverlay::Changes leaves;
  db.scan_prefix(cf, kLeafPrefix, [&](std::string_view k, std::string_view v) {
    GUTS_ASSERT(k.size() == kLeafPrefix.size() + 40 && (v.empty() || v.size() >= 32),
                "repository tree leaf record is malformed");
    if (storage::read_be64(k.substr(kLeafPrefix.size() + 32)) > height) return true;
    Digest key;
    std::copy_n(k.begin() + kLeafPrefix.size(), 32, key.begin());
    if (v.empty()) {
      leaves.erase(key);
    } else {
      Digest value;
      std::copy_n(v.begin(), 32, value.begin());
      leaves[key] = value;
    }
    return true;
  });
  SmtEmptyReader empty;
  SmtOverlay built(empty);
  built.apply(leaves);
  auto tree = std::make_unique<SmtTree>(height);
  tree->nodes_.reserve(built.size());
  built.for_each_write([&](uint16_t depth, const Digest& path, const std::optional<SmtNode>& n) {
    if (n) tree->nodes_.emplace(SmtNodeId{depth, path}, n);
  });
  return tree;
}

uint64_t SmtTree::height() const {
  std::shared_lock lock(mu_);
  return height_;
}

uint64_t SmtTree::oldest() const {
  std::shared_lock lock(mu_);
  return oldest_locked();
}

std::optional<SmtNode> SmtTree::get(uint64_t height, uint16_t depth, const Digest& path) const {
  SmtNodeId id{depth, path};
  std::shared_lock lock(mu_);
  const uint64_t oldest = oldest_locked();
  if (height > height_ || height < oldest)
    throw Error(Code::kUnavailable, "the repository tree at height " + std::to_string(height) +
                                        " is not held in memory (held: " + std::to_string(oldest) +
                                        " to " + std::to_string(height_) + ")");
  // The first block above `height` that changed the node knows what it was at `height`.
  for (size_t i = height - oldest; i < undo_.size(); ++i)
    if (auto it = undo_[i].before.find(id); it != undo_[i].before.end()) return it->second;
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

void SmtTree::advance(uint64_t height, const SmtOverlay& block) {
  std::unique_lock lock(mu_);
  GUTS_ASSERT(height == height_ + 1, "the repository tree advances one height at a time");
  Undo undo{height, {}};
  undo.before.reserve(block.size());
  block.for_each_write([&](uint16_t depth, const Digest& path, const std::optional<SmtNode>& n) {
    SmtNodeId id{depth, path};
    auto it = nodes_.find(id);
    if (it == nodes_.end()) {
      undo.before.emplace(id, std::nullopt);
      if (n) nodes_.emplace(id, n);
    } else {
      undo.before.emplace(id, it->second);
      if (n)
        it->second = n;
      else
        nodes_.erase(it);
    }
  });
  height_ = height;
  undo_bytes_ += undo.before.size() * kNodeEntryBytes;
  undo_.push_back(std::move(undo));
  while (undo_.size() > kMinHeights &&
         (undo_.size() > kMaxHeights || undo_bytes_ > kMaxUndoBytes)) {
    undo_bytes_ -= undo_.front().before.size() * kNodeEntryBytes;
    undo_.pop_front();
  }
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
                             const Digest& key) const {
  {
    std::lock_guard lock(past_mu_);
    if (auto it = old_proofs_.find({height, key}); it != old_proofs_.end()) return it->second;
  }
  SmtProof proof = smt_prove(SmtTreeReader(*past(db, cf, height), height), key);
  std::lock_guard lock(past_mu_);
  if (old_proofs_.size() >= kMaxOldProofs) old_proofs_.clear();
  old_proofs_.emplace(std::pair{height, key}, proof);
  return proof;
}

size_t SmtTree::size() const {
  std::shared_lock lock(mu_);
  return nodes_.size();
}

size_t SmtTree::undo_bytes() const {
  std::shared_lock lock(mu_);
  return undo_bytes_;
}

std::optional<SmtNode> SmtOverlay::get(uint16_t depth, const Digest& path) const {
  auto it = writes_.find({depth, path});
  if (it != writes_.end()) return it->second;
  return base_.load(std::memory_order_acquire)->get(depth, path);
}

void SmtOverlay::put(uint16_t depth, const Digest& path, std::optional<SmtNode> node) {
  writes_[{depth, path}] = std::move(node);
}

void SmtOverlay::write_to(storage::Batch& batch, storage::Cf cf, uint64_t height) const {
  for (const auto& [key, value] : leaves_) {
    std::string record;
    if (value) {
      record.assign(value->begin(), value->end());
      auto pre = preimages_.find(*value);
      GUTS_ASSERT(pre != preimages_.end(), "repository tree leaf without its preimage");
      record += to_string(pre->second);
    }
    batch.put(cf, leaf_prefix(key) + storage::be64(height), record);
  }
}

void SmtOverlay::set(const Digest& key, const std::optional<Digest>& value) {
  apply({{key, value}});
}

void SmtOverlay::apply(const Changes& changes) {
  leaves_.insert(leaves_.end(), changes.begin(), changes.end());
  std::vector<Change> sorted(changes.begin(), changes.end());  // by key: by path, bit by bit
  if (!sorted.empty()) update(0, Digest{}, sorted.data(), sorted.data() + sorted.size());
}

// The subtree at (depth, path) after the changes [lo, hi), all on keys under it: writes every
// node of it that changes (a removed node as nullopt) and returns its new top node.
std::optional<SmtNode> SmtOverlay::update(uint16_t depth, const Digest& path, const Change* lo,
                                          const Change* hi) {
  auto n = get(depth, path);
  if (!n || n->leaf) {
    // At most one leaf lives here and nothing below: build the subtree of the leaves left.
    std::vector<SmtNode> leaves;
    bool keep_old = n.has_value();
    for (const Change* c = lo; c != hi; ++c) {
      if (n && c->first == n->key) keep_old = false;
      if (c->second) {
        SmtNode leaf;
        leaf.leaf = true;
        leaf.key = c->first;
        leaf.value = *c->second;
        leaves.push_back(leaf);
      }
    }
    if (keep_old) leaves.push_back(*n);
    auto result = build(depth, path, std::move(leaves));
    if (result != n) put(depth, path, result);
    return result;
  }
  GUTS_ASSERT(depth < kMaxDepth, "repository tree deeper than 256 levels");
  const Change* mid =
      std::partition_point(lo, hi, [&](const Change& c) { return !bit(c.first, depth); });
  Digest p0 = child(path, depth, false), p1 = child(path, depth, true);
  auto c0 = lo == mid ? get(depth + 1, p0) : update(depth + 1, p0, lo, mid);
  auto c1 = mid == hi ? get(depth + 1, p1) : update(depth + 1, p1, mid, hi);
  // A subtree left with a single leaf is that leaf: it moves up.
  std::optional<SmtNode> result;
  if (!c0 && (!c1 || c1->leaf)) {
    if (c1) put(depth + 1, p1, std::nullopt);
    result = c1;
  } else if (!c1 && c0->leaf) {
    put(depth + 1, p0, std::nullopt);
    result = c0;
  } else {
    SmtNode inner;
    inner.hash = smt_inner_hash(hash_of(c0), hash_of(c1));
    result = inner;
  }
  put(depth, path, result);
  return result;
}

// The subtree at (depth, path) holding exactly `leaves`, where nothing was below: writes the
// nodes under (depth, path) and returns its top node (the caller writes that one).
std::optional<SmtNode> SmtOverlay::build(uint16_t depth, const Digest& path,
                                         std::vector<SmtNode> leaves) {
  if (leaves.empty()) return std::nullopt;
  if (leaves.size() == 1) return leaves.front();
  GUTS_ASSERT(depth < kMaxDepth, "repository tree keys collide");
  std::vector<SmtNode> l0, l1;
  for (auto& l : leaves) (bit(l.key, depth) ? l1 : l0).push_back(std::move(l));
  Digest p0 = child(path, depth, false), p1 = child(path, depth, true);
  auto c0 = build(depth + 1, p0, std::move(l0));
  auto c1 = build(depth + 1, p1, std::move(l1));
  if (c0) put(depth + 1, p0, c0);
  if (c1) put(depth + 1, p1, c1);
  SmtNode inner;
  inner.hash = smt_inner_hash(hash_of(c0), hash_of(c1));
  return inner;
}

Digest smt_root(const SmtReader& tree) {
  return hash_of(tree.get(0, Digest{}));
}

SmtProof smt_prove(const SmtReader& tree, const Digest& key) {
  SmtProof p;
  for (uint16_t depth = 0; depth <= kMaxDepth; ++depth) {
    auto n = tree.get(depth, mask(key, depth));
    if (!n || n->leaf) {
      p.terminal = n;
      p.depth = depth;
      return p;
    }
    p.siblings.push_back(hash_of(tree.get(depth + 1, child(key, depth, !bit(key, depth)))));
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
void add_validator_leaf(SmtOverlay& tree, SmtOverlay::Changes& changes,
                        std::string_view encoded_change) {
  auto change = decode_validator_change(encoded_change);
  Bytes enc(encoded_change.begin(), encoded_change.end());
  Digest v = crypto::sha256(enc);
  changes[validator_tree_key(change.activation_height)] = v;
  tree.add_preimage(v, std::move(enc));
}

// Where a repository's leaf is (its key), without reading its refs as repo_state_of does.
std::optional<Digest> repo_key_of(const StateView& view, uint64_t repo_id) {
  auto repo = view.repo(repo_id);
  if (!repo) return std::nullopt;
  return repo_tree_key(login_of(view, repo->owner), repo->name);
}

// `key`, when given, is the repository's key (repo_tree_key of its owner's login and name).
void add_repo_leaf(SmtOverlay& tree, SmtOverlay::Changes& changes, const RepoState& repo,
                   const Digest* key = nullptr) {
  Bytes enc = encode_repo_state(repo);
  Digest v = crypto::sha256(enc);
  changes[key ? *key : repo_tree_key(repo.owner_login, repo.name)] = v;
  tree.add_preimage(v, std::move(enc));
}

}  // namespace

namespace {

size_t approx_bytes(const std::shared_ptr<const RepoState>& s) {
  size_t n = 64;
  if (!s) return n;
  n += sizeof(RepoState) + s->owner_login.size() + s->name.size() + s->default_branch.size();
  for (const auto& [name, target] : s->refs) n += 64 + name.size() + target.size();
  return n;
}

// What a block wrote of one repository: its record, and which of its refs (keys in `refs`).
struct RepoWrites {
  bool record = false;
  std::vector<std::string_view> refs;
};

// The repository's state after the block, from its state before (`was`, which existed) and
// what the block wrote: reads only what may have changed. Equal to repo_state_of(now, id).
std::shared_ptr<const RepoState> patched_state(const RepoState& was, const RepoWrites& w,
                                               const std::set<std::string_view>& accounts,
                                               const StateView& now) {
  auto s = std::make_shared<RepoState>(was);
  if (w.record) {
    auto repo = now.repo(was.id);
    if (!repo) return nullptr;
    take_record(*s, *repo);
  }
  if (s->owner != was.owner || accounts.contains(key_of(s->owner)))
    s->owner_login = login_of(now, s->owner);
  auto by_name = [](const std::pair<std::string, Bytes>& r, std::string_view n) {
    return std::string_view(r.first) < n;
  };
  for (std::string_view key : w.refs) {
    std::string_view name = key.substr(8);
    auto it = std::lower_bound(s->refs.begin(), s->refs.end(), name, by_name);
    bool held = it != s->refs.end() && it->first == name;
    if (auto target = now.ref(was.id, name)) {
      if (held)
        it->second = std::move(*target);
      else
        s->refs.insert(it, {std::string(name), std::move(*target)});
    } else if (held) {
      s->refs.erase(it);
    }
  }
  return s;
}

}  // namespace

std::optional<std::shared_ptr<const RepoState>> RepoStateCache::find(uint64_t height,
                                                                     uint64_t id) const {
  std::lock_guard lock(mu_);
  if (height != height_) return std::nullopt;
  auto it = states_.find(id);
  if (it == states_.end()) return std::nullopt;
  return it->second.state;
}

void RepoStateCache::drop_locked(std::unordered_map<uint64_t, Held>::iterator it) {
  bytes_ -= it->second.bytes;
  written_.erase(it->second.written);
  states_.erase(it);
}

void RepoStateCache::advance(uint64_t height, const RepoStates& block) {
  std::lock_guard lock(mu_);
  if (height != height_ + 1) {
    states_.clear();
    written_.clear();
    bytes_ = 0;
  }
  height_ = height;
  for (const auto& [id, state] : block) {
    if (auto it = states_.find(id); it != states_.end()) drop_locked(it);
    size_t size = approx_bytes(state);
    if (size > max_bytes_) continue;
    while (bytes_ + size > max_bytes_) drop_locked(states_.find(written_.front()));
    written_.push_back(id);
    states_.emplace(id, Held{state, size, std::prev(written_.end())});
    bytes_ += size;
  }
}

size_t RepoStateCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void smt_apply_block(SmtOverlay& tree, const Schema& schema, const KvReader& before,
                     const Overlay& after, const PriorRepoState& prior, RepoStates* touched_out) {
  // The repositories whose record or refs the block wrote, the accounts it wrote (an owner's
  // login is in the leaf), and the validator set changes it executed (a leaf per change).
  std::map<uint64_t, RepoWrites> touched;
  std::set<std::string_view> accounts;
  std::vector<std::string> changes;
  after.for_each_written([&](int cf, std::string_view key) {
    if (cf == schema.repos.index && key.size() == 8) {
      touched[storage::read_be64(key)].record = true;
    } else if (cf == schema.refs.index && key.size() >= 8) {
      touched[storage::read_be64(key.substr(0, 8))].refs.push_back(key);
    } else if (cf == schema.accounts.index) {
      accounts.insert(key);
    } else if (cf == schema.governance.index && key.starts_with(kValidatorChangePrefix)) {
      changes.emplace_back(key);
    }
  });
  // One batch: the leaves of repositories that no longer are where they were (renamed, moved,
  // deleted) go first, then every leaf as it is after the block, so a name one repository left
  // and another took in the same block holds the latter whatever the order of their ids.
  SmtOverlay::Changes removed, set;
  for (const auto& key : changes) {
    auto v = after.get(schema.governance, key);
    if (v) add_validator_leaf(tree, set, *v);
  }
  StateView old_view(schema, before), new_view(schema, after);
  for (const auto& [id, writes] : touched) {
    auto was = prior ? prior(id) : std::nullopt;
    std::shared_ptr<const RepoState> now;
    Digest old_key;
    const Digest* same_key = nullptr;  // most blocks leave a repository where it was
    if (was && *was) {
      old_key = repo_tree_key((*was)->owner_login, (*was)->name);
      removed[old_key] = std::nullopt;
      now = patched_state(**was, writes, accounts, new_view);
      if (now && now->owner_login == (*was)->owner_login && now->name == (*was)->name)
        same_key = &old_key;
    } else {
      // Not known (read the state before and after), or known not to have existed.
      if (!was)
        if (auto key = repo_key_of(old_view, id)) removed[*key] = std::nullopt;
      if (auto s = repo_state_of(new_view, id))
        now = std::make_shared<const RepoState>(std::move(*s));
    }
    if (now) add_repo_leaf(tree, set, *now, same_key);
    if (touched_out) (*touched_out)[id] = std::move(now);
  }
  for (auto& [key, value] : set) removed[key] = value;
  tree.apply(removed);
}

void smt_build_all(SmtOverlay& tree, const Schema& schema, const KvReader& state) {
  StateView view(schema, state);
  std::vector<uint64_t> ids;
  state.scan_prefix(schema.repos, "", [&](std::string_view k, std::string_view) {
    if (k.size() == 8) ids.push_back(storage::read_be64(k));
    return true;
  });
  SmtOverlay::Changes leaves;
  for (uint64_t id : ids)
    if (auto s = repo_state_of(view, id)) add_repo_leaf(tree, leaves, *s);
  std::vector<std::string> changes;
  state.scan_prefix(schema.governance, kValidatorChangePrefix,
                    [&](std::string_view, std::string_view v) {
                      changes.emplace_back(v);
                      return true;
                    });
  for (const auto& c : changes) add_validator_leaf(tree, leaves, c);
  tree.apply(leaves);
}

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
  if (recent && height >= recent->oldest()) {
    try {
      p.proof = smt_prove(SmtTreeReader(*recent, height), p.key);
      proved = true;
    } catch (const Error&) {
      // The height left memory as a commit advanced the tree: rebuilt below.
    }
  }
  if (!proved)
    p.proof = recent
                  ? recent->prove_past(db, schema.meta, height, key)
                  : smt_prove(SmtTreeReader(*SmtTree::load(db, schema.meta, height), height), key);
  if (p.proof.terminal && p.proof.terminal->key == p.key) {
    auto it = db.iterate(schema.meta);
    std::string prefix = leaf_prefix(p.key);
    it->seek_for_prev(prefix + storage::be64(height));
    GUTS_ASSERT(it->valid() && it->key().size() == prefix.size() + 8 &&
                    it->key().substr(0, prefix.size()) == prefix && it->value().size() >= 32 &&
                    std::memcmp(p.proof.terminal->value.data(), it->value().data(), 32) == 0,
                "repository tree leaf without its record");
    p.state = Bytes(it->value().begin() + 32, it->value().end());
  }
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
