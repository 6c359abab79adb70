// A repository's leaf in the authenticated repository tree as the node carries it from block to
// block (state/smt.h): the encoding of its state, which is the leaf value's preimage
// (docs/protocol.md §4.4), patched in place by the refs a block writes instead of decoded, copied
// and encoded again (for a repository of many refs those copies were most of a push's tree
// work); and where the block records hold that encoding: whole, or as a delta from the leaf's
// encoding in an earlier record (codec/byte_delta.h), so that a push records what it changed.
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

struct RepoLeaf {
  RepoState fields;       // the state's fields but its refs (fields.refs is empty)
  Bytes encoding;         // encode_repo_state of the whole state
  size_t refs_begin = 0;  // where the first ref entry is in `encoding`
  size_t ref_count = 0;   //
  Digest key{};           // repo_tree_key(owner login, name)
  Digest value{};         // the leaf value (repo_leaf_value), set by the tree (state/smt.cpp)
  std::optional<SmtNodePtr> refs;  // version 3: the refs' tree (its root; null when no refs)
  uint64_t record_height{};        // the block whose record holds this leaf
  uint32_t deltas = 0;             // deltas since its record held it whole (0: this one is whole)
  size_t delta_bytes = 0;          // what those deltas take
};

// The leaf of `state` as the block at `height` sets it (its record holds it whole). Its value is
// not set.
std::shared_ptr<RepoLeaf> make_repo_leaf(const RepoState& state, uint64_t height);

// The leaf's refs, read from its encoding: (name, target) views into it, by name.
std::vector<std::pair<std::string_view, ByteView>> ref_entries(const RepoLeaf& leaf);

// A ref a block wrote: its name and its new target (nullopt: deleted).
struct RefWrite {
  std::string_view name;
  std::optional<std::string_view> target;
};

// What a leaf's preimage may take (the block records' bound: a larger one cannot be recorded).
inline constexpr size_t kMaxLeafPreimageBytes = size_t(1) << 30;

// Bounds of a chain of deltas: a proof's preimage is rebuilt from at most kMaxLeafDeltas + 1
// records, and the deltas since the last whole record take at most as much as the state does.
inline constexpr uint32_t kMaxLeafDeltas = 32;

// The leaf after the block at `height`, which left the repository's fields as `fields` (refs
// ignored) and wrote `refs` (in increasing name order, each once), from its leaf before the
// block; and the delta that makes its encoding from `was`'s, or nothing when its record must
// hold it whole (it moved to another key, or a bound of the chain of deltas was reached). Its
// value and refs' tree are not set.
struct PatchedLeaf {
  std::shared_ptr<RepoLeaf> leaf;
  std::optional<Bytes> delta;
};
PatchedLeaf patch_repo_leaf(const RepoLeaf& was, RepoState fields, std::span<const RefWrite> refs,
                            uint64_t height);

}  // namespace guts::state
