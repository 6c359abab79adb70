#include "state/repo_leaf.h"

#include "codec/byte_delta.h"
#include "codec/codec.h"

namespace guts::state {

namespace {

// A ref entry of an encoding: str(name) ‖ bytes(target), at [begin, end).
struct Entry {
  std::string_view name;
  size_t begin = 0, end = 0;
};

std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

RepoState without_refs(const RepoState& s) {
  RepoState f;
  f.id = s.id;
  f.owner = s.owner;
  f.owner_login = s.owner_login;
  f.name = s.name;
  f.is_private = s.is_private;
  f.default_branch = s.default_branch;
  return f;
}

}  // namespace

std::shared_ptr<RepoLeaf> make_repo_leaf(const RepoState& state, uint64_t height) {
  auto l = std::make_shared<RepoLeaf>();
  l->fields = without_refs(state);
  l->encoding = encode_repo_state(state);
  l->refs_begin = encode_repo_state_head(state, state.refs.size()).size();
  l->ref_count = state.refs.size();
  l->key = repo_tree_key(state.owner_login, state.name);
  l->record_height = height;
  return l;
}

std::vector<std::pair<std::string_view, ByteView>> ref_entries(const RepoLeaf& leaf) {
  const ByteView enc(leaf.encoding);
  codec::Reader r(enc.subspan(leaf.refs_begin));
  std::vector<std::pair<std::string_view, ByteView>> out;
  out.reserve(leaf.ref_count);
  for (size_t i = 0; i < leaf.ref_count; ++i) {
    std::string_view name = as_chars(r.bytes_view(enc.size(), "ref name"));
    out.emplace_back(name, r.bytes_view(enc.size(), "ref target"));
  }
  return out;
}

PatchedLeaf patch_repo_leaf(const RepoLeaf& was, const RepoState& fields,
                            std::span<const RefWrite> refs, uint64_t height) {
  // The ref entries: the runs of the old ones copied, the written ones inserted (merged in name
  // order), then the head with the new count in front of them.
  codec::DeltaWriter entries;
  const ByteView old(was.encoding);
  codec::Reader r(old.subspan(was.refs_begin));
  size_t left = was.ref_count;
  auto next = [&]() -> std::optional<Entry> {
    if (left == 0) return std::nullopt;
    --left;
    Entry e;
    e.begin = was.refs_begin + r.position();
    e.name = as_chars(r.bytes_view(old.size(), "ref name"));
    r.bytes_view(old.size(), "ref target");
    e.end = was.refs_begin + r.position();
    return e;
  };
  size_t run = was.refs_begin, count = was.ref_count;  // run: the first old byte not yet taken
  auto cur = next();
  for (const RefWrite& w : refs) {
    while (cur && cur->name < w.name) cur = next();
    const bool held = cur && cur->name == w.name;
    const size_t here = cur ? cur->begin : old.size();
    entries.copy(run, here - run);
    if (w.target) {
      codec::Writer e(16 + w.name.size() + w.target->size());
      e.str(w.name).bytes(as_bytes(*w.target));
      entries.insert(e.data());
    }
    if (held) {
      run = cur->end;
      cur = next();
      if (!w.target) --count;
    } else {
      run = here;
      if (w.target) ++count;
    }
  }
  entries.copy(run, old.size() - run);

  Bytes head = encode_repo_state_head(fields, count);
  codec::DeltaWriter d;
  if (head.size() == was.refs_begin && std::equal(head.begin(), head.end(), old.begin()))
    d.copy(0, head.size());
  else
    d.insert(head);
  d.append(entries);
  Bytes delta = d.encode();

  auto l = std::make_shared<RepoLeaf>();
  l->fields = without_refs(fields);
  // The new encoding is what the delta makes of the old one: what a proof rebuilds from the
  // records is what was hashed here.
  l->encoding = codec::apply_delta(old, delta, kMaxLeafPreimageBytes);
  l->refs_begin = head.size();
  l->ref_count = count;
  // Most blocks leave a repository where it was: its key is hashed again only when not.
  const bool moved = fields.owner_login != was.fields.owner_login || fields.name != was.fields.name;
  l->key = moved ? repo_tree_key(fields.owner_login, fields.name) : was.key;
  l->record_height = height;
  PatchedLeaf out;
  if (!moved && was.deltas < kMaxLeafDeltas &&
      was.delta_bytes + delta.size() <= l->encoding.size()) {
    l->deltas = was.deltas + 1;
    l->delta_bytes = was.delta_bytes + delta.size();
    out.delta = std::move(delta);
  }
  out.leaf = std::move(l);
  return out;
}

}  // namespace guts::state
