#include "state/smt.h"

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

std::optional<SmtNode> SmtDbReader::get(uint16_t depth, const Digest& path) const {
  std::string prefix = node_prefix(depth, path);
  auto it = db_.iterate(cf_);
  it->seek_for_prev(prefix + storage::be64(height_));
  if (!it->valid() || it->key().size() != prefix.size() + 8 ||
      it->key().substr(0, prefix.size()) != prefix)
    return std::nullopt;
  return decode_node(it->value());
}

std::optional<SmtNode> SmtOverlay::get(uint16_t depth, const Digest& path) const {
  auto it = writes_.find({depth, path});
  if (it != writes_.end()) return it->second;
  return base_.get(depth, path);
}

void SmtOverlay::put(uint16_t depth, const Digest& path, std::optional<SmtNode> node) {
  writes_[{depth, path}] = std::move(node);
}

void SmtOverlay::write_to(storage::Batch& batch, storage::Cf cf, uint64_t height) const {
  for (const auto& [k, n] : writes_)
    batch.put(cf, node_prefix(k.first, k.second) + storage::be64(height), encode_node(n));
  for (const auto& [v, bytes] : preimages_) batch.put(cf, smt_preimage_key(v), to_string(bytes));
}

void SmtOverlay::set(const Digest& key, const std::optional<Digest>& value) {
  if (value) {
    SmtNode leaf;
    leaf.leaf = true;
    leaf.key = key;
    leaf.value = *value;
    insert(0, leaf);
  } else {
    remove(0, key);
  }
}

void SmtOverlay::rehash(uint16_t depth, const Digest& key) {
  SmtNode n;
  n.hash = smt_inner_hash(hash_of(get(depth + 1, child(key, depth, false))),
                          hash_of(get(depth + 1, child(key, depth, true))));
  put(depth, mask(key, depth), n);
}

void SmtOverlay::insert(uint16_t depth, const SmtNode& leaf) {
  // Depth 256 holds only a leaf: two keys that differ in their last bit only sit there.
  GUTS_ASSERT(depth <= kMaxDepth, "repository tree deeper than 256 levels");
  auto n = get(depth, mask(leaf.key, depth));
  if (!n || (n->leaf && n->key == leaf.key)) {
    put(depth, mask(leaf.key, depth), leaf);
    return;
  }
  if (n->leaf) {
    put_pair(depth, *n, leaf);
    return;
  }
  insert(depth + 1, leaf);
  rehash(depth, leaf.key);
}

// Two leaves that share the path down to `depth`: inner nodes until their paths part.
void SmtOverlay::put_pair(uint16_t depth, const SmtNode& a, const SmtNode& b) {
  GUTS_ASSERT(depth < kMaxDepth, "repository tree keys collide");
  if (bit(a.key, depth) != bit(b.key, depth)) {
    put(depth + 1, mask(a.key, depth + 1), a);
    put(depth + 1, mask(b.key, depth + 1), b);
  } else {
    put_pair(depth + 1, a, b);
  }
  rehash(depth, a.key);
}

void SmtOverlay::remove(uint16_t depth, const Digest& key) {
  auto n = get(depth, mask(key, depth));
  if (!n) return;
  if (n->leaf) {
    if (n->key == key) put(depth, mask(key, depth), std::nullopt);
    return;
  }
  remove(depth + 1, key);
  Digest p0 = child(key, depth, false), p1 = child(key, depth, true);
  auto c0 = get(depth + 1, p0), c1 = get(depth + 1, p1);
  // A subtree left with a single leaf is that leaf: it moves up.
  if (!c0 && (!c1 || c1->leaf)) {
    put(depth + 1, p1, std::nullopt);
    put(depth, mask(key, depth), c1);
  } else if (!c1 && c0->leaf) {
    put(depth + 1, p0, std::nullopt);
    put(depth, mask(key, depth), c0);
  } else {
    SmtNode inner;
    inner.hash = smt_inner_hash(hash_of(c0), hash_of(c1));
    put(depth, mask(key, depth), inner);
  }
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

std::optional<RepoState> repo_state_of(const StateView& view, uint64_t repo_id) {
  auto repo = view.repo(repo_id);
  if (!repo) return std::nullopt;
  RepoState s;
  s.id = repo->id;
  s.owner = repo->owner;
  auto owner = view.account(repo->owner);
  s.owner_login = owner ? owner->username : std::string();
  s.name = repo->name;
  s.is_private = repo->is_private;
  s.default_branch = repo->default_branch;
  s.refs = view.refs(repo_id);
  return s;
}

namespace {

void add_validator_leaf(SmtOverlay& tree, std::string_view encoded_change) {
  auto change = decode_validator_change(encoded_change);
  Bytes enc(encoded_change.begin(), encoded_change.end());
  Digest v = crypto::sha256(enc);
  tree.set(validator_tree_key(change.activation_height), v);
  tree.add_preimage(v, std::move(enc));
}

}  // namespace

void smt_apply_block(SmtOverlay& tree, const Schema& schema, const KvReader& before,
                     const Overlay& after) {
  std::set<uint64_t> touched;
  after.for_each_written([&](int cf, std::string_view key) {
    if ((cf == schema.repos.index && key.size() == 8) ||
        (cf == schema.refs.index && key.size() >= 8))
      touched.insert(storage::read_be64(key.substr(0, 8)));
  });
  // Validator set changes (state/validator_set.h): a leaf per change, added when executed.
  std::vector<std::string> changes;
  after.for_each_written([&](int cf, std::string_view key) {
    if (cf == schema.governance.index && key.starts_with(kValidatorChangePrefix))
      changes.emplace_back(key);
  });
  for (const auto& key : changes) {
    auto v = after.get(schema.governance, key);
    if (v) add_validator_leaf(tree, *v);
  }
  StateView old_view(schema, before), new_view(schema, after);
  for (uint64_t id : touched) {
    auto was = repo_state_of(old_view, id);
    auto now = repo_state_of(new_view, id);
    std::optional<Digest> new_key;
    if (now) new_key = repo_tree_key(now->owner_login, now->name);
    if (was) {
      Digest old_key = repo_tree_key(was->owner_login, was->name);
      if (!new_key || *new_key != old_key) tree.set(old_key, std::nullopt);
    }
    if (now) {
      Bytes enc = encode_repo_state(*now);
      Digest v = crypto::sha256(enc);
      tree.set(*new_key, v);
      tree.add_preimage(v, std::move(enc));
    }
  }
}

void smt_build_all(SmtOverlay& tree, const Schema& schema, const KvReader& state) {
  StateView view(schema, state);
  std::vector<uint64_t> ids;
  state.scan_prefix(schema.repos, "", [&](std::string_view k, std::string_view) {
    if (k.size() == 8) ids.push_back(storage::read_be64(k));
    return true;
  });
  for (uint64_t id : ids) {
    auto s = repo_state_of(view, id);
    if (!s) continue;
    Bytes enc = encode_repo_state(*s);
    Digest v = crypto::sha256(enc);
    tree.set(repo_tree_key(s->owner_login, s->name), v);
    tree.add_preimage(v, std::move(enc));
  }
  std::vector<std::string> changes;
  state.scan_prefix(schema.governance, kValidatorChangePrefix,
                    [&](std::string_view, std::string_view v) {
                      changes.emplace_back(v);
                      return true;
                    });
  for (const auto& c : changes) add_validator_leaf(tree, c);
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
