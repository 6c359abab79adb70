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

constexpr std::string_view kNodePrefix = "smt/n/";
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

std::string node_prefix(uint16_t depth, const Digest& path) {
  std::string k(kNodePrefix);
  k.push_back(char(depth >> 8));
  k.push_back(char(depth & 0xff));
  k.append(path.begin(), path.end());
  return k;
}

std::string encode_node(const std::optional<SmtNode>& n) {
  if (!n) return {};
  std::string out;
  if (n->leaf) {
    out.push_back(2);
    out.append(n->key.begin(), n->key.end());
    out.append(n->value.begin(), n->value.end());
  } else {
    out.push_back(1);
    out.append(n->hash.begin(), n->hash.end());
  }
  return out;
}

std::optional<SmtNode> decode_node(std::string_view v) {
  if (v.empty()) return std::nullopt;
  SmtNode n;
  auto copy = [&](Digest& d, size_t at) { std::copy_n(v.begin() + at, 32, d.begin()); };
  if (v[0] == 2 && v.size() == 65) {
    n.leaf = true;
    copy(n.key, 1);
    copy(n.value, 33);
  } else {
    GUTS_ASSERT(v[0] == 1 && v.size() == 33, "repository tree node record is malformed");
    copy(n.hash, 1);
  }
  return n;
}

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

std::optional<std::optional<SmtNode>> SmtNodeCache::find(uint64_t height, uint16_t depth,
                                                         const Digest& path) const {
  std::lock_guard lock(mu_);
  if (height != height_) return std::nullopt;
  auto it = nodes_.find({depth, path});
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

void SmtNodeCache::remember(uint64_t height, uint16_t depth, const Digest& path,
                            const std::optional<SmtNode>& node) {
  std::lock_guard lock(mu_);
  if (height == height_) put_locked(depth, path, node);
}

void SmtNodeCache::advance(uint64_t height, const SmtOverlay& block) {
  std::lock_guard lock(mu_);
  if (height != height_ + 1) nodes_.clear();
  height_ = height;
  block.for_each_write([&](uint16_t depth, const Digest& path, const std::optional<SmtNode>& n) {
    put_locked(depth, path, n);
  });
}

size_t SmtNodeCache::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

void SmtNodeCache::put_locked(uint16_t depth, const Digest& path,
                              const std::optional<SmtNode>& node) {
  auto it = nodes_.find({depth, path});
  if (it != nodes_.end())
    it->second = node;
  else if (nodes_.size() < kMaxEntries)
    nodes_.emplace(std::pair{depth, path}, node);
}

std::optional<SmtNode> SmtDbReader::get(uint16_t depth, const Digest& path) const {
  if (cache_)
    if (auto hit = cache_->find(height_, depth, path)) return *hit;
  std::string prefix = node_prefix(depth, path);
  std::optional<SmtNode> node;
  {
    std::lock_guard lock(mu_);
    if (!it_) it_ = db_.iterate(cf_);
    it_->seek_for_prev(prefix + storage::be64(height_));
    if (it_->valid() && it_->key().size() == prefix.size() + 8 &&
        it_->key().substr(0, prefix.size()) == prefix)
      node = decode_node(it_->value());
  }
  if (cache_) cache_->remember(height_, depth, path, node);
  return node;
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
  // In the map's order, not the keys': putting them sorted was measured to make no difference
  // to the memtable's inserts (docs/benchmarks.md, "The repository tree's share of a block").
  for (const auto& [k, n] : writes_)
    batch.put(cf, node_prefix(k.first, k.second) + storage::be64(height), encode_node(n));
  for (const auto& [v, bytes] : preimages_) batch.put(cf, smt_preimage_key(v), to_string(bytes));
}

void SmtOverlay::set(const Digest& key, const std::optional<Digest>& value) {
  apply({{key, value}});
}

void SmtOverlay::apply(const Changes& changes) {
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

void add_repo_leaf(SmtOverlay& tree, SmtOverlay::Changes& changes, const RepoState& repo) {
  Bytes enc = encode_repo_state(repo);
  Digest v = crypto::sha256(enc);
  changes[repo_tree_key(repo.owner_login, repo.name)] = v;
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
  return it->second;
}

void RepoStateCache::advance(uint64_t height, const RepoStates& block) {
  std::lock_guard lock(mu_);
  if (height != height_ + 1) {
    states_.clear();
    bytes_ = 0;
  }
  height_ = height;
  for (const auto& [id, state] : block) {
    size_t size = approx_bytes(state);
    auto it = states_.find(id);
    if (it != states_.end()) {
      bytes_ -= approx_bytes(it->second);
      states_.erase(it);
    }
    if (bytes_ + size > kMaxBytes) continue;
    bytes_ += size;
    states_.emplace(id, state);
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
    if (was && *was) {
      removed[repo_tree_key((*was)->owner_login, (*was)->name)] = std::nullopt;
      now = patched_state(**was, writes, accounts, new_view);
    } else {
      // Not known (read the state before and after), or known not to have existed.
      if (!was)
        if (auto key = repo_key_of(old_view, id)) removed[*key] = std::nullopt;
      if (auto s = repo_state_of(new_view, id))
        now = std::make_shared<const RepoState>(std::move(*s));
    }
    if (now) add_repo_leaf(tree, set, *now);
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
                                        uint64_t height, const Digest& key) {
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
  SmtDbReader tree(db, schema.meta, height);
  p.proof = smt_prove(tree, p.key);
  if (p.proof.terminal && p.proof.terminal->key == p.key) {
    auto pre = db.get(schema.meta, smt_preimage_key(p.proof.terminal->value));
    GUTS_ASSERT(pre.has_value(), "tree leaf without its preimage");
    p.state = Bytes(pre->begin(), pre->end());
  }
  return p;
}

std::optional<RepoProofAt> prove_repo_at(const storage::Db& db, const Schema& schema,
                                         uint64_t height, std::string_view owner_login,
                                         std::string_view name) {
  return prove_key_at(db, schema, height, repo_tree_key(owner_login, name));
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

std::string smt_preimage_key(const Digest& value) {
  return "smt/v/" + std::string(value.begin(), value.end());
}

}  // namespace guts::state
