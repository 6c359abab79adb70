#include "state/smt_proof.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "codec/codec.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "state/block.h"

namespace guts::state {

namespace {

constexpr uint16_t kMaxDepth = kSmtMaxDepth;

Digest hash_of(const std::optional<SmtNode>& n) {
  return n ? n->digest() : Digest{};
}

// ASCII lower case: state::fold_case (state/rules.h), which the wire library cannot link.
std::string fold(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  return out;
}

}  // namespace

Digest smt_mask(const Digest& k, uint16_t depth) {
  Digest out{};
  for (uint16_t i = 0; i < depth / 8; ++i) out[i] = k[i];
  if (depth % 8 && depth / 8 < 32) out[depth / 8] = k[depth / 8] & uint8_t(0xff << (8 - depth % 8));
  return out;
}

Digest smt_leaf_hash(const Digest& key, const Digest& value) {
  return crypto::sha256(ByteView(smt_leaf_message(key, value)));
}

Digest smt_inner_hash(const Digest& left, const Digest& right) {
  return crypto::sha256(ByteView(smt_inner_message(left, right)));
}

Digest SmtNode::digest() const {
  return leaf ? smt_leaf_hash(key, value) : hash;
}

Bytes SmtProof::encode() const {
  codec::Writer w(64 + siblings.size() * 32);
  w.varint(depth);
  Bytes bitmap((depth + 7) / 8, 0);
  for (uint16_t i = 0; i < depth; ++i)
    if (siblings[i] != Digest{}) bitmap[i / 8] |= uint8_t(0x80 >> (i % 8));
  w.fixed(bitmap);
  for (uint16_t i = 0; i < depth; ++i)
    if (siblings[i] != Digest{}) w.fixed(siblings[i]);
  w.u8(terminal ? 1 : 0);
  if (terminal) w.fixed(terminal->key).fixed(terminal->value);
  return w.take();
}

SmtProof decode_smt_proof(ByteView data) {
  codec::Reader r(data);
  SmtProof p;
  p.depth = uint16_t(r.varint_max(kMaxDepth, "proof depth"));
  ByteView bitmap = r.fixed((p.depth + 7) / 8);
  for (uint16_t i = 0; i < p.depth; ++i) {
    bool present = (bitmap[i / 8] >> (7 - i % 8)) & 1;
    Digest d{};
    if (present) {
      d = r.fixed<32>();
      if (d == Digest{}) throw codec::DecodeError("proof sibling is zero but marked present");
    }
    p.siblings.push_back(d);
  }
  if (p.depth % 8 && (bitmap[p.depth / 8] & uint8_t(0xff >> (p.depth % 8))))
    throw codec::DecodeError("proof bitmap has padding bits set");
  uint8_t t = r.u8();
  if (t > 1) throw codec::DecodeError("unknown proof terminal");
  if (t == 1) {
    SmtNode n;
    n.leaf = true;
    n.key = r.fixed<32>();
    n.value = r.fixed<32>();
    p.terminal = n;
  }
  r.finish();
  return p;
}

SmtClaim smt_evaluate(const SmtProof& proof, const Digest& key) {
  if (proof.depth > kMaxDepth || proof.siblings.size() != proof.depth)
    throw Error(Code::kInvalidArgument, "proof: sibling count does not match its depth");
  SmtClaim c;
  if (proof.terminal) {
    if (!proof.terminal->leaf) throw Error(Code::kInvalidArgument, "proof: terminal not a leaf");
    if (smt_mask(proof.terminal->key, proof.depth) != smt_mask(key, proof.depth))
      throw Error(Code::kInvalidArgument, "proof: the leaf is not on the key's path");
    if (proof.terminal->key == key) c.value = proof.terminal->value;
  }
  Digest h = hash_of(proof.terminal);
  for (uint16_t i = proof.depth; i-- > 0;) {
    h = smt_bit(key, i) ? smt_inner_hash(proof.siblings[i], h)
                        : smt_inner_hash(h, proof.siblings[i]);
  }
  c.root = h;
  return c;
}

Digest repo_tree_key(std::string_view owner_login, std::string_view name) {
  codec::Writer w;
  w.str("guts/repo-key").str(fold(owner_login) + "/" + fold(name));
  return crypto::sha256(w.data());
}

Digest validator_tree_key(uint64_t activation_height) {
  codec::Writer w;
  w.str("guts/validator-set").u64be(activation_height);
  return crypto::sha256(w.data());
}

namespace {

void write_repo_fields(codec::Writer& w, std::string_view tag, const RepoState& r,
                       size_t ref_count) {
  w.str(tag)
      .varint(r.id)
      .fixed(r.owner)
      .str(r.owner_login)
      .str(r.name)
      .boolean(r.is_private)
      .str(r.default_branch)
      .varint(ref_count);
}

// The hash of the subtree at `depth` holding the leaves [lo, hi) (sorted by key, distinct).
using KeyValue = std::pair<Digest, Digest>;
Digest subtree_hash(const KeyValue* lo, const KeyValue* hi, uint16_t depth) {
  if (lo == hi) return Digest{};
  if (hi - lo == 1) return smt_leaf_hash(lo->first, lo->second);
  if (depth >= kMaxDepth) throw Error(Code::kInvalidArgument, "tree keys collide");
  const KeyValue* mid =
      std::partition_point(lo, hi, [&](const KeyValue& l) { return !smt_bit(l.first, depth); });
  return smt_inner_hash(subtree_hash(lo, mid, depth + 1), subtree_hash(mid, hi, depth + 1));
}

}  // namespace

void write_repo_state_head(codec::Writer& w, const RepoState& r, size_t ref_count) {
  write_repo_fields(w, "guts/repo-state", r, ref_count);
}

Bytes encode_repo_state_head(const RepoState& r, size_t ref_count) {
  codec::Writer w(128 + r.owner_login.size() + r.name.size() + r.default_branch.size());
  write_repo_state_head(w, r, ref_count);
  return w.take();
}

Bytes encode_repo_state(const RepoState& r, size_t* refs_begin) {
  codec::Writer w(256 + r.refs.size() * 64);
  write_repo_state_head(w, r, r.refs.size());
  if (refs_begin) *refs_begin = w.size();
  for (const auto& [name, target] : r.refs) w.str(name).bytes(target);
  return w.take();
}

RepoState decode_repo_state(ByteView data) {
  codec::Reader r(data);
  if (r.str(64, "tag") != "guts/repo-state") throw codec::DecodeError("not a repository state");
  RepoState s;
  s.id = r.varint();
  s.owner = r.fixed<32>();
  s.owner_login = r.str(4096, "owner login");
  s.name = r.str(4096, "repository name");
  s.is_private = r.boolean();
  s.default_branch = r.str(4096, "default branch");
  size_t n = r.count(kMaxRepoStateRefs, "refs");
  s.refs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string name = r.str(4096, "ref name");
    Bytes target = r.bytes(32, "ref target");
    if (!s.refs.empty() && !(s.refs.back().first < name))
      throw codec::DecodeError("refs are not strictly increasing");
    s.refs.emplace_back(std::move(name), std::move(target));
  }
  r.finish();
  return s;
}

Digest repo_state_hash(const RepoState& r) {
  return crypto::sha256(encode_repo_state(r));
}

namespace {

// SHA-256(str(tag) ‖ bytes(data)) without building the message (a client verifying a state
// hashes two of these per ref).
Digest hash_tagged(std::string_view tag, ByteView data) {
  auto varint = [](uint64_t v, std::array<uint8_t, 10>& buf) {
    size_t n = 0;
    for (; v >= 0x80; v >>= 7) buf[n++] = uint8_t(v | 0x80);
    buf[n++] = uint8_t(v);
    return ByteView(buf.data(), n);
  };
  std::array<uint8_t, 10> a, b;
  const ByteView t = varint(tag.size(), a), d = varint(data.size(), b);
  // A ref's name or target (most calls): hashed from one buffer, one call instead of four.
  std::array<uint8_t, 256> small;
  const size_t n = t.size() + tag.size() + d.size() + data.size();
  if (n <= small.size()) {
    uint8_t* at = small.data();
    at = std::copy(t.begin(), t.end(), at);
    at = std::copy(tag.begin(), tag.end(), at);
    at = std::copy(d.begin(), d.end(), at);
    std::copy(data.begin(), data.end(), at);
    return crypto::sha256(ByteView(small.data(), n));
  }
  crypto::Sha256 h;
  h.update(t).update(tag).update(d).update(data);
  return h.finish();
}

}  // namespace

Digest ref_tree_key(std::string_view ref_name) {
  return hash_tagged("guts/ref-key", as_bytes(ref_name));
}

Digest ref_tree_value(ByteView target) {
  return hash_tagged("guts/ref-target", target);
}

size_t RefHashes::add(std::string_view tag, ByteView data) {
  // Written in place (inserting each part took a third of the block's ref hashing).
  constexpr size_t kMaxVarint = 10;
  const size_t at = messages_.size();
  messages_.resize(at + 2 * kMaxVarint + tag.size() + data.size());
  uint8_t* p = messages_.data() + at;
  auto varint = [&](uint64_t v) {  // as codec::Writer::varint writes it
    for (; v >= 0x80; v >>= 7) *p++ = uint8_t(v | 0x80);
    *p++ = uint8_t(v);
  };
  varint(tag.size());
  if (!tag.empty()) std::memcpy(p, tag.data(), tag.size());
  p += tag.size();
  varint(data.size());
  if (!data.empty()) std::memcpy(p, data.data(), data.size());
  p += data.size();
  messages_.resize(size_t(p - messages_.data()));
  ends_.push_back(messages_.size());
  return ends_.size() - 1;
}

void RefHashes::reserve(size_t messages, size_t bytes) {
  constexpr size_t kTagAndLengths = 40;  // the longer tag (15 bytes) and two varints, with room
  messages_.reserve(messages_.size() + bytes + messages * kTagAndLengths);
  ends_.reserve(ends_.size() + messages);
  digests_.reserve(ends_.size() + messages);
}

size_t RefHashes::add_key(std::string_view ref_name) {
  return add("guts/ref-key", as_bytes(ref_name));
}

size_t RefHashes::add_value(ByteView target) {
  return add("guts/ref-target", target);
}

void RefHashes::hash() {
  std::vector<ByteView> in(ends_.size());
  for (size_t i = 0, begin = 0; i < ends_.size(); begin = ends_[i++])
    in[i] = ByteView(messages_).subspan(begin, ends_[i] - begin);
  digests_.resize(in.size());
  crypto::sha256_many(in, digests_);
}

void RefHashes::clear() {
  messages_.clear();
  ends_.clear();
  digests_.clear();
}

Digest smt_root_of(std::vector<std::pair<Digest, Digest>> leaves) {
  // Sorted through 16-byte handles, not the 64-byte pairs: keys are hashes, so their first eight
  // bytes read as a number order them but for ties (sorting the pairs themselves was a seventh
  // of a client's check of a 1,000-ref state).
  std::vector<std::pair<uint64_t, uint32_t>> order(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i)
    order[i] = {smt_key_prefix(leaves[i].first), uint32_t(i)};
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : leaves[a.second].first < leaves[b.second].first;
  });
  std::vector<KeyValue> sorted;
  sorted.reserve(leaves.size());
  for (const auto& [prefix, i] : order) sorted.push_back(leaves[i]);
  return subtree_hash(sorted.data(), sorted.data() + sorted.size(), 0);
}

Digest repo_refs_root(const RepoState& r) {
  RefHashes hashes;
  for (const auto& [name, target] : r.refs) {
    hashes.add_key(name);
    hashes.add_value(target);
  }
  hashes.hash();
  std::vector<std::pair<Digest, Digest>> leaves;
  leaves.reserve(r.refs.size());
  for (size_t i = 0; i < r.refs.size(); ++i) leaves.emplace_back(hashes[2 * i], hashes[2 * i + 1]);
  return smt_root_of(std::move(leaves));
}

void write_repo_leaf_v3(codec::Writer& w, const RepoState& r, size_t ref_count,
                        const Digest& refs_root) {
  write_repo_fields(w, "guts/repo-state/3", r, ref_count);
  w.fixed(refs_root);
}

Bytes encode_repo_leaf_v3(const RepoState& r, size_t ref_count, const Digest& refs_root) {
  codec::Writer w(160 + r.owner_login.size() + r.name.size() + r.default_branch.size());
  write_repo_leaf_v3(w, r, ref_count, refs_root);
  return w.take();
}

Digest repo_leaf_value(const RepoState& r, uint8_t header_version) {
  if (header_version < kHeaderV3) return repo_state_hash(r);
  return crypto::sha256(encode_repo_leaf_v3(r, r.refs.size(), repo_refs_root(r)));
}

}  // namespace guts::state
