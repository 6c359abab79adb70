#include "state/repo_leaf.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>

#include "codec/byte_delta.h"
#include "codec/codec.h"

namespace guts::state {

namespace {

// A ref entry of an encoding, str(name) ‖ bytes(target), at [begin, end).
struct Entry {
  std::string_view name;
  ByteView target;
  size_t begin = 0, end = 0;
};

Entry entry_at(ByteView encoding, size_t begin) {
  codec::Reader r(encoding.subspan(begin));
  Entry e;
  e.begin = begin;
  ByteView name = r.bytes_view(encoding.size(), "ref name");
  e.name = {reinterpret_cast<const char*>(name.data()), name.size()};
  e.target = r.bytes_view(encoding.size(), "ref target");
  e.end = begin + r.position();
  return e;
}

// The base of a whole encoding whose ref entries begin at `refs_begin`.
std::shared_ptr<const LeafBase> make_base(Bytes encoding, size_t refs_begin, size_t ref_count,
                                          uint64_t height) {
  auto b = std::make_shared<LeafBase>();
  b->entries.reserve(ref_count);
  for (size_t at = refs_begin, i = 0; i < ref_count; ++i) {
    b->entries.push_back(static_cast<uint32_t>(at));
    at = entry_at(encoding, at).end;
  }
  b->encoding = std::move(encoding);
  b->refs_begin = refs_begin;
  b->height = height;
  return b;
}

// The index of the base's first entry whose name is not below `name`.
size_t lower_bound(const LeafBase& base, std::string_view name) {
  auto it = std::partition_point(base.entries.begin(), base.entries.end(), [&](uint32_t at) {
    return entry_at(base.encoding, at).name < name;
  });
  return size_t(it - base.entries.begin());
}

// A ref changed since the base: its new target, or nullopt when it was deleted; and its entry
// in the base's encoding (RepoLeaf::changed).
struct Changed {
  std::string_view name;
  std::optional<ByteView> target;
  size_t begin = 0, end = 0;  // end == begin: the base does not hold it
};
using ChangedList = boost::container::small_vector<Changed, 4>;

ChangedList read_changed(const RepoLeaf& leaf) {
  ChangedList out;
  out.reserve(leaf.changed_count);
  codec::Reader r(leaf.changed);
  for (size_t i = 0; i < leaf.changed_count; ++i) {
    Changed c;
    const bool exists = r.u8() != 0;
    c.begin = r.varint();
    c.end = c.begin + r.varint();
    ByteView name = r.bytes_view(leaf.changed.size(), "ref name");
    c.name = {reinterpret_cast<const char*>(name.data()), name.size()};
    if (exists) c.target = r.bytes_view(leaf.changed.size(), "ref target");
    out.push_back(c);
  }
  return out;
}

// Calls fn(name, target) for each ref of the base with `changed` applied, by name.
template <typename Fn>
void for_each_ref(const LeafBase& base, const ChangedList& changed, Fn&& fn) {
  size_t i = 0;
  auto base_until = [&](std::string_view name, bool all) {
    for (; i < base.entries.size(); ++i) {
      Entry e = entry_at(base.encoding, base.entries[i]);
      if (!all && e.name >= name) {
        if (e.name == name) ++i;  // replaced or deleted
        return;
      }
      fn(e.name, e.target);
    }
  };
  for (const Changed& c : changed) {
    base_until(c.name, false);
    if (c.target) fn(c.name, *c.target);
  }
  base_until({}, true);
}

void set_base(RepoLeaf& l, std::shared_ptr<const LeafBase> base) {
  l.base_encoding = base->encoding;
  l.base_refs_begin = base->refs_begin;
  l.base = std::move(base);
}

bool same_fields(const RepoState& a, const RepoState& b) {
  return a.id == b.id && a.owner == b.owner && a.owner_login == b.owner_login && a.name == b.name &&
         a.is_private == b.is_private && a.default_branch == b.default_branch;
}

// The state's fields but its refs.
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
  size_t refs_begin = 0;
  Bytes encoding = encode_repo_state(state, &refs_begin);
  set_base(*l, make_base(std::move(encoding), refs_begin, state.refs.size(), height));
  l->ref_count = state.refs.size();
  l->key = repo_tree_key(state.owner_login, state.name);
  l->record_height = height;
  l->fields = without_refs(state);
  return l;
}

Bytes leaf_encoding(const RepoLeaf& leaf) {
  if (leaf.changed_count == 0 && leaf.head_is_base) return leaf.base->encoding;
  codec::Writer w(leaf.base->encoding.size() + leaf.changed.size() + 64);
  write_repo_state_head(w, leaf.fields, leaf.ref_count);
  for_each_ref(*leaf.base, read_changed(leaf),
               [&](std::string_view name, ByteView target) { w.str(name).bytes(target); });
  return w.take();
}

std::vector<std::pair<std::string_view, ByteView>> ref_entries(const RepoLeaf& leaf) {
  std::vector<std::pair<std::string_view, ByteView>> out;
  out.reserve(leaf.ref_count);
  for_each_ref(*leaf.base, read_changed(leaf),
               [&](std::string_view name, ByteView target) { out.emplace_back(name, target); });
  return out;
}

PatchedLeaf patch_repo_leaf(const RepoLeaf& was, RepoState fields, std::span<const RefWrite> refs,
                            uint64_t height) {
  const LeafBase& base = *was.base;
  const ChangedList before = read_changed(was);
  // The refs changed since the base after the block: those before merged with the writes (both
  // by name; a write replaces an earlier change of its ref). The count follows what each write
  // finds: a change before it, else the base's entry.
  ChangedList changed;
  changed.reserve(before.size() + refs.size());
  size_t count = was.ref_count;
  auto b = before.begin();
  for (const RefWrite& w : refs) {
    for (; b != before.end() && b->name < w.name; ++b) changed.push_back(*b);
    Changed c{w.name, w.target ? std::optional(as_bytes(*w.target)) : std::nullopt};
    bool existed;
    if (b != before.end() && b->name == w.name) {
      existed = b->target.has_value();
      c.begin = b->begin;
      c.end = b->end;
      ++b;
    } else {
      const size_t i = lower_bound(base, w.name);
      c.begin = c.end = i < base.entries.size() ? base.entries[i] : base.encoding.size();
      if (i < base.entries.size()) {
        Entry e = entry_at(base.encoding, c.begin);
        if (e.name == w.name) c.end = e.end;
      }
      existed = c.end != c.begin;
    }
    if (existed && !w.target) --count;
    if (!existed && w.target) ++count;
    // A ref deleted that the base does not hold either is no change from the base.
    if (c.target || c.end != c.begin) changed.push_back(c);
  }
  changed.insert(changed.end(), b, before.end());

  auto l = std::make_shared<RepoLeaf>();
  // Most blocks leave a repository where it was: its key is hashed again only when not.
  const bool moved = fields.owner_login != was.fields.owner_login || fields.name != was.fields.name;
  l->key = moved ? repo_tree_key(fields.owner_login, fields.name) : was.key;
  l->fields = std::move(fields);
  l->fields.refs.clear();
  l->ref_count = count;
  l->record_height = height;
  PatchedLeaf out;
  if (!moved && changed.size() <= kMaxLeafChangedRefs) {
    // The delta from the base: the head (a copy when it did not change), then the runs of the
    // base's entries between the changed refs copied, and the changed refs' new entries.
    size_t inserted = 0;
    for (const Changed& c : changed)
      if (c.target) inserted += 20 + c.name.size() + c.target->size();
    codec::DeltaBuilder d(was.base_encoding, 160 + inserted, /*string=*/false);
    // A head like the one before, which was the base's, is the base's: not written to compare.
    if (was.head_is_base && count == was.ref_count && same_fields(l->fields, was.fields)) {
      d.copy(0, was.base_refs_begin);
    } else {
      write_repo_state_head(d.out(), l->fields, count);
      l->head_is_base = d.match(0);
    }
    size_t run = was.base_refs_begin;  // the first base entry byte not yet taken
    for (const Changed& c : changed) {
      d.copy(run, c.begin - run);
      run = c.end;
      if (c.target) d.out().str(c.name).bytes(*c.target);
    }
    d.copy(run, was.base_encoding.size() - run);
    const size_t size = d.size();
    // The block records' bound: a larger state could not be recorded (nor proven).
    if (size > kMaxLeafPreimageBytes)
      throw codec::DecodeError("repository state too large for the tree's records");
    auto built = std::move(d).finish();
    if (built.delta.size() <= size) {
      l->base = was.base;
      l->base_encoding = was.base_encoding;
      l->base_refs_begin = was.base_refs_begin;
      codec::Writer w(16 + inserted + 8 * changed.size());
      for (const Changed& c : changed) {
        w.u8(c.target ? 1 : 0).varint(c.begin).varint(c.end - c.begin).str(c.name);
        if (c.target) w.bytes(*c.target);
      }
      l->changed = w.take();
      l->changed_count = changed.size();
      out.delta = std::move(built.delta);
      out.leaf = std::move(l);
      return out;
    }
  }
  // Recorded whole: the leaf becomes its own base.
  l->head_is_base = true;
  codec::Writer w(base.encoding.size() + 64 * changed.size() + 64);
  write_repo_state_head(w, l->fields, count);
  const size_t refs_begin = w.size();
  for_each_ref(base, changed,
               [&](std::string_view name, ByteView target) { w.str(name).bytes(target); });
  if (w.size() > kMaxLeafPreimageBytes)
    throw codec::DecodeError("repository state too large for the tree's records");
  set_base(*l, make_base(w.take(), refs_begin, count, height));
  out.leaf = std::move(l);
  return out;
}

}  // namespace guts::state
