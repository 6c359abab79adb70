// The authenticated repository tree's wire side (docs/protocol.md §4.4): node hashing, proofs
// and their evaluation, repository keys and state encodings. Codec and crypto only (no
// RocksDB): the verifier (verify/verify.h) and the CLI use it; state/smt.h keeps the tree.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
}

namespace guts::state {

using Digest = std::array<uint8_t, 32>;

// Keys are 256 bits; a leaf may sit at depth 256 at most.
inline constexpr uint16_t kSmtMaxDepth = 256;
// Bit i, most significant first (inline: every step down a path reads one).
inline bool smt_bit(const Digest& k, uint16_t i) {
  return (k[i / 8] >> (7 - i % 8)) & 1;
}
// A key's first 8 bytes as a big-endian number: keys are hashes, so this orders them but for
// ties (sorting 16-byte (prefix, position) handles instead of the keyed items themselves).
inline uint64_t smt_key_prefix(const Digest& k) {
  uint64_t v = 0;
  for (size_t b = 0; b < 8; ++b) v = v << 8 | k[b];
  return v;
}
Digest smt_mask(const Digest& k, uint16_t depth);  // bits at index >= depth cleared

struct SmtNode {
  bool leaf = false;
  Digest hash{};   // inner: its hash
  Digest key{};    // leaf
  Digest value{};  // leaf
  Digest digest() const;
  bool operator==(const SmtNode&) const = default;
};

// A node's hash is the SHA-256 of its 65-byte message: 0x00 ‖ key ‖ value for a leaf, 0x01 ‖
// left ‖ right for an inner node (the Builder in smt.cpp hashes the messages in batches; inline:
// it writes a block's worth of them, each in its place).
inline void smt_node_message(std::array<uint8_t, 65>& out, uint8_t tag, const Digest& a,
                             const Digest& b) {
  out[0] = tag;
  std::memcpy(out.data() + 1, a.data(), a.size());
  std::memcpy(out.data() + 33, b.data(), b.size());
}
inline std::array<uint8_t, 65> smt_leaf_message(const Digest& key, const Digest& value) {
  std::array<uint8_t, 65> m;
  smt_node_message(m, 0, key, value);
  return m;
}
inline std::array<uint8_t, 65> smt_inner_message(const Digest& left, const Digest& right) {
  std::array<uint8_t, 65> m;
  smt_node_message(m, 1, left, right);
  return m;
}
Digest smt_leaf_hash(const Digest& key, const Digest& value);
Digest smt_inner_hash(const Digest& left, const Digest& right);

// A proof for one key: the non-empty siblings from the root down, and what the key's path ends
// on (nothing, or a leaf — the key's own for inclusion, another for absence).
struct SmtProof {
  uint16_t depth = 0;            // number of levels walked
  std::vector<Digest> siblings;  // siblings[i]: the sibling at depth i+1 (zero when empty)
  std::optional<SmtNode> terminal;
  Bytes encode() const;
};
// Wire: varint depth (≤ 256) ‖ bitmap ceil(depth/8) bytes (bit i, MSB first: sibling i is not
// empty) ‖ the non-empty siblings fixed[32] ‖ u8 terminal (0 none, 1 leaf) ‖ key[32] ‖ value[32]
// if leaf. Throws codec::DecodeError.
SmtProof decode_smt_proof(ByteView data);

// The root a proof implies for `key`, and what it says about the key: the leaf value when
// present, nullopt when absent. Throws guts::Error(kInvalidArgument) when the proof is not a
// proof for `key` (a leaf off the key's path, too deep).
struct SmtClaim {
  Digest root{};
  std::optional<Digest> value;
};
SmtClaim smt_evaluate(const SmtProof& proof, const Digest& key);

// ---- repositories as leaves ----

// key = SHA-256(str("guts/repo-key") ‖ str(fold_case(owner) "/" fold_case(name))).
Digest repo_tree_key(std::string_view owner_login, std::string_view name);

// ---- validator set changes as leaves (state/validator_set.h) ----

// key = SHA-256(str("guts/validator-set") ‖ u64be(activation height)); the leaf's value is the
// SHA-256 of the stored ValidatorChange encoding. Leaves are only ever added, so the tree of the
// last block of an epoch proves the change that starts the next one (docs/verify.md).
Digest validator_tree_key(uint64_t activation_height);

struct RepoState {
  uint64_t id = 0;
  crypto::PublicKey owner{};
  std::string owner_login;
  std::string name;
  bool is_private = false;
  std::string default_branch;
  std::vector<std::pair<std::string, Bytes>> refs;  // sorted by name (bytes)
};
// encoding = str("guts/repo-state") ‖ varint id ‖ owner[32] ‖ str(owner login) ‖ str(name) ‖
//   bool private ‖ str(default branch) ‖ varint n ‖ n × (str(ref) ‖ bytes(target)),
// refs strictly increasing by name: what a proof hands out. The leaf value is repo_leaf_value.
// `refs_begin`, when given, is set to where the first ref entry is (the head's size).
Bytes encode_repo_state(const RepoState& r, size_t* refs_begin = nullptr);
// The encoding up to and including the ref count (r.refs is not read): a state's encoding is
// this followed by its ref entries (state/repo_leaf.h patches them in place).
Bytes encode_repo_state_head(const RepoState& r, size_t ref_count);
void write_repo_state_head(codec::Writer& w, const RepoState& r, size_t ref_count);
// Bounded (≤ kMaxRepoStateRefs refs, names ≤ 4 KiB, targets ≤ 32 bytes); throws
// codec::DecodeError, also when refs are not strictly increasing.
inline constexpr size_t kMaxRepoStateRefs = 1 << 20;
RepoState decode_repo_state(ByteView data);
Digest repo_state_hash(const RepoState& r);  // SHA-256(encoding)

// A repository's refs as a tree of their own (header version 3): the same sparse Merkle tree
// (node hashing as above) over
//   ref key   = SHA-256(str("guts/ref-key") ‖ str(ref name))
//   ref value = SHA-256(str("guts/ref-target") ‖ bytes(target))
// so a push changes O(log refs) of its nodes, not a hash over the whole ref set.
Digest ref_tree_key(std::string_view ref_name);
Digest ref_tree_value(ByteView target);
// Many refs' keys and values hashed together (crypto::sha256_many: several at a time, where one
// at a time each is a call of its own): add_key / add_value give each hash's index, hash()
// computes them all, then (*this)[index] reads them until clear().
class RefHashes {
 public:
  size_t add_key(std::string_view ref_name);
  size_t add_value(ByteView target);
  void hash();
  // Room for `messages` more messages of `bytes` in all (names and targets; tags added here).
  void reserve(size_t messages, size_t bytes);
  const Digest& operator[](size_t i) const { return digests_[i]; }
  size_t size() const { return ends_.size(); }
  void clear();

 private:
  size_t add(std::string_view tag, ByteView data);
  Bytes messages_;            // the messages, one after the other
  std::vector<size_t> ends_;  // where each ends in messages_
  std::vector<Digest> digests_;
};
// The root of the tree holding exactly `leaves` (keys distinct, any order).
Digest smt_root_of(std::vector<std::pair<Digest, Digest>> leaves);
Digest repo_refs_root(const RepoState& r);
// The version-3 leaf preimage: the state's fields, its ref count and its refs' root:
//   str("guts/repo-state/3") ‖ varint id ‖ owner[32] ‖ str(owner login) ‖ str(name) ‖
//   bool private ‖ str(default branch) ‖ varint n ‖ refs_root[32]   (r.refs is not read)
Bytes encode_repo_leaf_v3(const RepoState& r, size_t ref_count, const Digest& refs_root);
// The same appended to `w` (a block's leaves written one after the other).
void write_repo_leaf_v3(codec::Writer& w, const RepoState& r, size_t ref_count,
                        const Digest& refs_root);
// The leaf value of state `r` in the tree of a block of `header_version` (2 or 3):
// SHA-256(encoding) in version 2, SHA-256(encode_repo_leaf_v3(r, n, repo_refs_root(r))) in 3.
Digest repo_leaf_value(const RepoState& r, uint8_t header_version);

}  // namespace guts::state
