#include "state/repo_leaf.h"

#include <boost/container/small_vector.hpp>

#include "codec/byte_delta.h"
#include "codec/codec.h"

namespace guts::state {

namespace {

// A ref entry of an encoding: str(name) ‖ bytes(target), at [begin, end).
struct Entry {
  std::string_view name;
  ByteView target;
  size_t begin = 0, end = 0;
};

// The ref entries of a leaf's encoding, one at a time.
class Entries {
 public:
  explicit Entries(const RepoLeaf& leaf)
      : enc_(leaf.encoding),
        r_(enc_.subspan(leaf.refs_begin)),
        begin_(leaf.refs_begin),
        left_(leaf.ref_count) {}
  std::optional<Entry> next() {
    if (left_ == 0) return std::nullopt;
    --left_;
    Entry e;
    e.begin = begin_ + r_.position();
    ByteView name = r_.bytes_view(enc_.size(), "ref name");
    e.name = {reinterpret_cast<const char*>(name.data()), name.size()};
    e.target = r_.bytes_view(enc_.size(), "ref target");
    e.end = begin_ + r_.position();
    return e;
  }

 private:
  ByteView enc_;
  codec::Reader r_;
  size_t begin_, left_;
};

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
  l->encoding = encode_repo_state(state, &l->refs_begin);
  l->ref_count = state.refs.size();
  l->key = repo_tree_key(state.owner_login, state.name);
  l->record_height = height;
  l->fields = without_refs(state);
  return l;
}

std::vector<std::pair<std::string_view, ByteView>> ref_entries(const RepoLeaf& leaf) {
  std::vector<std::pair<std::string_view, ByteView>> out;
  out.reserve(leaf.ref_count);
  Entries entries(leaf);
  while (auto e = entries.next()) out.emplace_back(e->name, e->target);
  return out;
}

PatchedLeaf patch_repo_leaf(const RepoLeaf& was, RepoState fields, std::span<const RefWrite> refs,
                            uint64_t height) {
  // The merge of the writes into the old entries (both by name): for each write, where the run
  // of old entries before it ends and where the old entries resume after it; the new count.
  struct Step {
    size_t run_end, resume;
    const RefWrite* write;
  };
  boost::container::small_vector<Step, 4> steps;
  Entries entries(was);
  const ByteView old(was.encoding);
  size_t count = was.ref_count, inserted = 0;
  auto cur = entries.next();
  for (const RefWrite& w : refs) {
    while (cur && cur->name < w.name) cur = entries.next();
    const bool held = cur && cur->name == w.name;
    const size_t here = cur ? cur->begin : old.size();
    steps.push_back({here, here, &w});
    if (held) {
      steps.back().resume = cur->end;
      cur = entries.next();
      if (!w.target) --count;
    } else if (w.target) {
      ++count;
    }
    if (w.target) inserted += 20 + w.name.size() + w.target->size();
  }
  // The new encoding and its delta from the old: the head (a copy when it did not change), then
  // the runs of old entries copied and the written ones inserted.
  codec::DeltaBuilder b(old, old.size() + inserted + 16);
  write_repo_state_head(b.out(), fields, count);
  const size_t refs_begin = b.out().size();
  b.match(0);
  size_t run = was.refs_begin;  // the first old entry byte not yet taken
  for (const Step& s : steps) {
    b.copy(run, s.run_end - run);
    if (s.write->target) b.out().str(s.write->name).bytes(as_bytes(*s.write->target));
    run = s.resume;
  }
  b.copy(run, old.size() - run);
  auto [encoding, delta] = std::move(b).finish();
  // The block records' bound: a larger state could not be recorded (nor proven).
  if (encoding.size() > kMaxLeafPreimageBytes)
    throw codec::DecodeError("repository state too large for the tree's records");

  auto l = std::make_shared<RepoLeaf>();
  // Most blocks leave a repository where it was: its key is hashed again only when not.
  const bool moved = fields.owner_login != was.fields.owner_login || fields.name != was.fields.name;
  l->key = moved ? repo_tree_key(fields.owner_login, fields.name) : was.key;
  l->fields = std::move(fields);
  l->fields.refs.clear();
  l->encoding = std::move(encoding);
  l->refs_begin = refs_begin;
  l->ref_count = count;
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
