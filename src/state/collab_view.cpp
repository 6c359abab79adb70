// StateView's collaboration reads and key layout (state/collab.h, docs/protocol.md §6).
#include "state/rules.h"
#include "state/view.h"

namespace guts::state {

using storage::be64;
using storage::read_be64;

std::string StateView::collaborator_key(uint64_t repo_id, const crypto::PublicKey& user) {
  return be64(repo_id) + key_of(user);
}
std::string StateView::fork_parent_key(uint64_t repo_id) {
  return "p" + be64(repo_id);
}
std::string StateView::fork_child_key(uint64_t parent_id, uint64_t child_id) {
  return "c" + be64(parent_id) + be64(child_id);
}
std::string StateView::issue_key(uint64_t repo_id, uint64_t number) {
  return be64(repo_id) + be64(number);
}
// Newest first: the number is stored inverted.
std::string StateView::issue_index_key(uint64_t repo_id, char tag, char state, uint64_t number) {
  return be64(repo_id) + tag + state + be64(~number);
}
std::string StateView::issue_count_key(uint64_t repo_id, char tag, char state) {
  return be64(repo_id) + "#" + tag + state;
}
std::string StateView::issue_seq_key(uint64_t repo_id) {
  return "issue_seq:" + be64(repo_id);
}
std::string StateView::comment_key(uint64_t id) {
  return be64(id);
}
std::string StateView::comment_index_key(uint64_t repo_id, uint64_t number, uint8_t kind,
                                         uint64_t id) {
  return be64(repo_id) + be64(number) + static_cast<char>(kind) + be64(id);
}
std::string StateView::label_key(uint64_t repo_id, uint64_t id) {
  return be64(repo_id) + be64(id);
}
std::string StateView::milestone_key(uint64_t repo_id, uint64_t number) {
  return be64(repo_id) + be64(number);
}
std::string StateView::milestone_seq_key(uint64_t repo_id) {
  return "milestone_seq:" + be64(repo_id);
}
std::string StateView::reaction_key(uint64_t repo_id, uint8_t type, uint64_t target,
                                    const crypto::PublicKey& user, std::string_view content) {
  return be64(repo_id) + static_cast<char>(type) + be64(target) + key_of(user) +
         std::string(content);
}
std::string StateView::review_key(uint64_t repo_id, uint64_t number, uint64_t id) {
  return be64(repo_id) + be64(number) + be64(id);
}
std::string StateView::revision_key(uint64_t repo_id, uint64_t number, uint64_t index) {
  return be64(repo_id) + be64(number) + be64(index);
}
std::string StateView::pull_head_key(uint64_t head_repo, std::string_view branch, uint64_t repo_id,
                                     uint64_t number) {
  return be64(head_repo) + std::string(branch) + '\0' + be64(repo_id) + be64(number);
}

std::optional<Collaborator> StateView::collaborator(uint64_t repo_id,
                                                    const crypto::PublicKey& user) const {
  auto v = kv_.get(s_.collaborators, collaborator_key(repo_id, user));
  if (!v) return std::nullopt;
  return decode_collaborator(*v);
}

std::vector<Collaborator> StateView::collaborators(uint64_t repo_id) const {
  std::vector<Collaborator> out;
  kv_.scan_prefix(s_.collaborators, be64(repo_id), [&](std::string_view, std::string_view v) {
    out.push_back(decode_collaborator(v));
    return true;
  });
  return out;
}

std::optional<uint64_t> StateView::fork_parent(uint64_t repo_id) const {
  auto v = kv_.get(s_.forks, fork_parent_key(repo_id));
  if (!v) return std::nullopt;
  return read_be64(*v);
}

std::vector<uint64_t> StateView::forks_of(uint64_t repo_id) const {
  std::vector<uint64_t> out;
  kv_.scan_prefix(s_.forks, "c" + be64(repo_id), [&](std::string_view k, std::string_view) {
    out.push_back(read_be64(k.substr(9)));
    return true;
  });
  return out;
}

uint64_t StateView::fork_root(uint64_t repo_id) const {
  // Fork chains are acyclic (a fork's id is always larger than its parent's); bounded anyway.
  for (int i = 0; i < 1000; ++i) {
    auto p = fork_parent(repo_id);
    if (!p) break;
    repo_id = *p;
  }
  return repo_id;
}

std::optional<Issue> StateView::issue(uint64_t repo_id, uint64_t number) const {
  auto v = kv_.get(s_.issues, issue_key(repo_id, number));
  if (!v) return std::nullopt;
  return decode_issue(*v);
}

std::vector<uint64_t> StateView::issue_numbers(uint64_t repo_id, bool pulls_only, char state,
                                               size_t skip, size_t limit) const {
  std::vector<uint64_t> out;
  if (limit == 0) return out;
  std::string prefix = be64(repo_id) + (pulls_only ? 'p' : 'a') + state;
  size_t seen = 0;
  kv_.scan_prefix(s_.issue_index, prefix, [&](std::string_view k, std::string_view) {
    if (seen++ < skip) return true;
    out.push_back(~read_be64(k.substr(prefix.size())));
    return out.size() < limit;
  });
  return out;
}

uint64_t StateView::issue_count(uint64_t repo_id, bool pulls_only, char state) const {
  auto v = kv_.get(s_.issue_index, issue_count_key(repo_id, pulls_only ? 'p' : 'a', state));
  return v ? read_be64(*v) : 0;
}

uint64_t StateView::last_issue_number(uint64_t repo_id) const {
  auto v = kv_.get(s_.meta, issue_seq_key(repo_id));
  return v ? read_be64(*v) : 0;
}

std::optional<Comment> StateView::comment(uint64_t id) const {
  auto v = kv_.get(s_.comments, comment_key(id));
  if (!v) return std::nullopt;
  return decode_comment(*v);
}

std::vector<Comment> StateView::comments_of(uint64_t repo_id, uint64_t number, uint8_t kind) const {
  std::vector<uint64_t> ids;
  kv_.scan_prefix(s_.comment_index, be64(repo_id) + be64(number) + static_cast<char>(kind),
                  [&](std::string_view k, std::string_view) {
                    ids.push_back(read_be64(k.substr(17)));
                    return true;
                  });
  std::vector<Comment> out;
  out.reserve(ids.size());
  for (auto id : ids)
    if (auto c = comment(id)) out.push_back(std::move(*c));
  return out;
}

std::vector<Label> StateView::labels(uint64_t repo_id) const {
  std::vector<Label> out;
  kv_.scan_prefix(s_.labels, be64(repo_id), [&](std::string_view, std::string_view v) {
    out.push_back(decode_label(v));
    return true;
  });
  return out;
}

std::optional<Label> StateView::label(uint64_t repo_id, uint64_t id) const {
  auto v = kv_.get(s_.labels, label_key(repo_id, id));
  if (!v) return std::nullopt;
  return decode_label(*v);
}

std::optional<Label> StateView::label_by_name(uint64_t repo_id, std::string_view name) const {
  auto folded = fold_case(name);
  std::optional<Label> out;
  kv_.scan_prefix(s_.labels, be64(repo_id), [&](std::string_view, std::string_view v) {
    auto l = decode_label(v);
    if (fold_case(l.name) == folded) {
      out = std::move(l);
      return false;
    }
    return true;
  });
  return out;
}

std::optional<Milestone> StateView::milestone(uint64_t repo_id, uint64_t number) const {
  auto v = kv_.get(s_.milestones, milestone_key(repo_id, number));
  if (!v) return std::nullopt;
  return decode_milestone(*v);
}

std::vector<Milestone> StateView::milestones(uint64_t repo_id) const {
  std::vector<Milestone> out;
  kv_.scan_prefix(s_.milestones, be64(repo_id), [&](std::string_view, std::string_view v) {
    out.push_back(decode_milestone(v));
    return true;
  });
  return out;
}

std::vector<Reaction> StateView::reactions(uint64_t repo_id, uint8_t target_type,
                                           uint64_t target_id) const {
  std::vector<Reaction> out;
  kv_.scan_prefix(s_.reactions, be64(repo_id) + static_cast<char>(target_type) + be64(target_id),
                  [&](std::string_view k, std::string_view v) {
                    if (k.size() > 17) out.push_back(decode_reaction(v));  // 17: the totals
                    return true;
                  });
  std::sort(out.begin(), out.end(),
            [](const Reaction& a, const Reaction& b) { return a.id < b.id; });
  return out;
}

std::string StateView::reaction_counts_key(uint64_t repo_id, uint8_t type, uint64_t target) {
  return be64(repo_id) + static_cast<char>(type) + be64(target);
}

ReactionCounts StateView::reaction_counts(uint64_t repo_id, uint8_t target_type,
                                          uint64_t target_id) const {
  auto v = kv_.get(s_.reactions, reaction_counts_key(repo_id, target_type, target_id));
  return v ? decode_reaction_counts(*v) : ReactionCounts{};
}

std::optional<Review> StateView::review(uint64_t repo_id, uint64_t number, uint64_t id) const {
  auto v = kv_.get(s_.reviews, review_key(repo_id, number, id));
  if (!v) return std::nullopt;
  return decode_review(*v);
}

std::vector<Review> StateView::reviews_of(uint64_t repo_id, uint64_t number) const {
  std::vector<Review> out;
  kv_.scan_prefix(s_.reviews, be64(repo_id) + be64(number),
                  [&](std::string_view, std::string_view v) {
                    out.push_back(decode_review(v));
                    return true;
                  });
  return out;
}

std::vector<Revision> StateView::revisions(uint64_t repo_id, uint64_t number) const {
  std::vector<Revision> out;
  kv_.scan_prefix(s_.pull_revisions, be64(repo_id) + be64(number),
                  [&](std::string_view, std::string_view v) {
                    out.push_back(decode_revision(v));
                    return true;
                  });
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> StateView::pulls_with_head(
    uint64_t head_repo, std::string_view branch) const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  std::string prefix = be64(head_repo) + std::string(branch) + '\0';
  kv_.scan_prefix(s_.pull_heads, prefix, [&](std::string_view k, std::string_view) {
    auto rest = k.substr(prefix.size());
    if (rest.size() == 16)
      out.emplace_back(read_be64(rest.substr(0, 8)), read_be64(rest.substr(8)));
    return true;
  });
  return out;
}

std::optional<uint64_t> StateView::receipt(const Digest& tx_id) const {
  auto v = kv_.get(s_.receipts, key_of(tx_id));
  if (!v) return std::nullopt;
  return read_be64(*v);
}

uint64_t StateView::next_id(std::string_view counter) const {
  auto v = kv_.get(s_.meta, counter);
  return v ? read_be64(*v) : 1;
}

}  // namespace guts::state
