// A repository's leaf in the authenticated repository tree as the node carries it from block to
// block (state/smt.h). Its state's encoding (the leaf value's preimage, docs/protocol.md §4.4) is
// held as a base, the whole encoding at the last block whose record held it whole, shared by the
// leaves after it, plus the refs changed since: a push copies the few refs changed since the
// base, not the whole ref set (for a repository of many refs those copies were most of a push's
// tree work). The block records hold the encoding whole at the base's height and, at each later
// change, as the delta from the base's encoding (codec/byte_delta.h): a proof's preimage is
// rebuilt from two records, and a push records what changed since the base.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "state/smt_node.h"
#include "state/smt_proof.h"

namespace guts::state {

// A repository state's whole encoding, as the block record at `height` holds it.
struct LeafBase {
  Bytes encoding;                 // encode_repo_state of the state
  size_t refs_begin = 0;          // where the first ref entry is
  std::vector<uint32_t> entries;  // where each ref entry begins (by name)
  uint64_t height = 0;
};

struct RepoLeaf {
  RepoState fields;  // the state's fields but its refs (fields.refs is empty)
  std::shared_ptr<const LeafBase> base;
  // base->encoding and base->refs_begin, read here: a push to a repository whose refs changed
  // since its base reads neither the base nor its entries, which are long out of the cache.
  ByteView base_encoding;
  size_t base_refs_begin = 0;
  // The refs changed since the base, by name, each once: u8 exists ‖ varint begin ‖ varint
  // length ‖ str(name) ‖ [bytes(target) when it exists; else it was deleted], where the base
  // holds the ref as its entry at [begin, +length) (length 0: the base does not hold it, and
  // begin is where its entry would be): a push to a ref changed before finds its place without
  // a search. Empty when the base is this leaf's state.
  Bytes changed;
  size_t changed_count = 0;
  bool head_is_base = true;  // its encoding's head (fields and ref count) is the base's
  size_t ref_count = 0;
  Digest key{};    // repo_tree_key(owner login, name)
  Digest value{};  // the leaf value (repo_leaf_value), set by the tree (state/smt.cpp)
  std::optional<SmtNodePtr> refs;  // version 3: the refs' tree (its root; null when no refs)
  uint64_t record_height{};        // the block whose record holds this leaf
  // Whether the record at record_height holds the encoding whole (else as the delta from the base).
  bool whole() const { return base->height == record_height; }
};

// The leaf of `state` as the block at `height` sets it (its record holds it whole). Its value is
// not set.
std::shared_ptr<RepoLeaf> make_repo_leaf(const RepoState& state, uint64_t height);

// The leaf's state encoding (encode_repo_state), put together from its base and changed refs.
Bytes leaf_encoding(const RepoLeaf& leaf);

// The leaf's refs: (name, target) views into it, by name.
std::vector<std::pair<std::string_view, ByteView>> ref_entries(const RepoLeaf& leaf);

// A ref a block wrote: its name and its new target (nullopt: deleted).
struct RefWrite {
  std::string_view name;
  std::optional<std::string_view> target;
};

// What a leaf's preimage may take (the block records' bound: a larger one cannot be recorded).
inline constexpr size_t kMaxLeafPreimageBytes = size_t(1) << 30;

// A leaf whose refs changed since its base more than this is recorded whole (so is one whose
// delta would take more than its encoding): what a push copies and records stays small.
inline constexpr size_t kMaxLeafChangedRefs = 32;

// The leaf after the block at `height`, which left the repository's fields as `fields` (refs
// ignored) and wrote `refs` (in increasing name order, each once), from its leaf before the
// block; and the delta that makes its encoding from its base's, or nothing when its record must
// hold it whole (it moved to another key, or a bound above was reached: then it is its own
// base). Its value and refs' tree are not set.
struct PatchedLeaf {
  std::shared_ptr<RepoLeaf> leaf;
  std::optional<Bytes> delta;
};
PatchedLeaf patch_repo_leaf(const RepoLeaf& was, RepoState fields, std::span<const RefWrite> refs,
                            uint64_t height);

}  // namespace guts::state
