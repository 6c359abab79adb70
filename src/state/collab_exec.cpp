// Validity and application of the collaboration transactions (state/collab.h). Rejections
// name the offending field as "<field>: <reason>" so the API can answer GitHub's 422 shape.
//
// Permissions (docs/protocol.md §6.3): reading a repository is enough to open issues and pull
// requests, comment, react and review; authors may edit, close and reopen their own items and
// edit or delete their own comments; triage is needed to label, assign, set milestones, lock,
// and close or edit others' items; write to merge, change a pull request's base, delete others'
// comments and dismiss reviews; admin to manage collaborators.
#include <algorithm>
#include <cctype>
#include <set>

#include "core/utf8.h"
#include "crypto/did.h"
#include "state/executor.h"
#include "state/rejections.h"
#include "state/reputation.h"
#include "state/rules.h"
#include "state/view.h"

namespace guts::state {

namespace {

using reject::conflict;
using reject::denied;
using reject::invalid;
using reject::not_found;
using reject::not_mergeable;
using reject::taken;

Status field(const char* name, const std::string& why) {
  return invalid(std::string(name) + ": " + why);
}

char state_char(uint8_t s) {
  return s == kIssueOpen ? 'o' : 'c';
}
std::string head_ref(std::string_view branch) {
  return "refs/heads/" + std::string(branch);
}
bool valid_oid(const Bytes& b) {
  return b.size() == 20 || b.size() == 32;
}

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// One transaction's application: the state, a view over it, and the author.
class Apply {
 public:
  Apply(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now)
      : s_(s), state_(state), view_(s, state), tx_(tx), author_(tx.author), now_(now) {}

  Status operator()(const SetCollaborator& b);
  Status operator()(const ForkRepo& b);
  Status operator()(const CreateIssue& b);
  Status operator()(const EditIssue& b);
  Status operator()(const CreateComment& b);
  Status operator()(const EditComment& b);
  Status operator()(const DeleteComment& b);
  Status operator()(const SetLabel& b);
  Status operator()(const SetMilestone& b);
  Status operator()(const SetReaction& b);
  Status operator()(const OpenPullRequest& b);
  Status operator()(const MergePullRequest& b);
  Status operator()(const SubmitReview& b);
  Status operator()(const CreateReviewComment& b);
  Status operator()(const DismissReview& b);
  template <typename T>
  Status operator()(const T&) {
    return invalid("not a collaboration transaction");
  }

 private:
  // The repository, if the author may see it and has `need`.
  Status repo_with(uint64_t id, Permission need, Repo* out) {
    auto repo = view_.repo(id);
    if (!repo) return not_found("repository " + std::to_string(id) + " does not exist");
    perm_ = view_.permission(*repo, author_);
    if (perm_ == Permission::kNone)
      return not_found("repository " + std::to_string(id) + " does not exist");
    if (perm_ < need)
      return denied(std::string("requires ") + permission_name(need) +
                    " permission on the repository");
    *out = std::move(*repo);
    return Status::Ok();
  }
  Status registered() {
    if (!view_.account(author_)) return denied("the author has no registered username");
    return Status::Ok();
  }
  Status load_issue(uint64_t repo_id, uint64_t number, Issue* out, bool pull_only = false) {
    auto x = view_.issue(repo_id, number);
    if (!x || (pull_only && !x->is_pull))
      return not_found(std::string(pull_only ? "pull request" : "issue") + " #" +
                       std::to_string(number) + " does not exist");
    *out = std::move(*x);
    return Status::Ok();
  }
  void count_reaction(uint64_t repo_id, uint8_t type, uint64_t target, std::string_view content,
                      int delta) {
    int i = reaction_index(content);
    if (i < 0) return;
    auto c = view_.reaction_counts(repo_id, type, target);
    c[i] = delta < 0 && c[i] == 0 ? 0 : c[i] + delta;
    auto key = StateView::reaction_counts_key(repo_id, type, target);
    if (c == ReactionCounts{})
      state_.del(s_.reactions, key);
    else
      state_.put(s_.reactions, key, encode_reaction_counts(c));
  }
  // Records what this transaction created, so that its submitter can find it.
  void receipt(uint64_t v) { state_.put(s_.receipts, key_of(tx_.id()), storage::be64(v)); }
  uint64_t take_id(std::string_view counter) {
    uint64_t id = view_.next_id(counter);
    state_.put(s_.meta, counter, storage::be64(id + 1));
    return id;
  }
  void bump(const std::string& key, int64_t delta) {
    auto v = state_.get(s_.issue_index, key);
    uint64_t n = v ? storage::read_be64(*v) : 0;
    n = delta < 0 && n < static_cast<uint64_t>(-delta) ? 0 : n + delta;
    state_.put(s_.issue_index, key, storage::be64(n));
  }
  std::vector<char> tags(const Issue& x) {
    return x.is_pull ? std::vector<char>{'a', 'p'} : std::vector<char>{'a'};
  }
  void index_new(const Issue& x) {
    for (char t : tags(x)) {
      for (char st : {state_char(x.state), '*'}) {
        state_.put(s_.issue_index, StateView::issue_index_key(x.repo_id, t, st, x.number), "");
        bump(StateView::issue_count_key(x.repo_id, t, st), 1);
      }
    }
  }
  void index_state(const Issue& x, uint8_t old_state) {
    if (state_char(old_state) == state_char(x.state)) return;
    for (char t : tags(x)) {
      state_.del(s_.issue_index,
                 StateView::issue_index_key(x.repo_id, t, state_char(old_state), x.number));
      bump(StateView::issue_count_key(x.repo_id, t, state_char(old_state)), -1);
      state_.put(s_.issue_index,
                 StateView::issue_index_key(x.repo_id, t, state_char(x.state), x.number), "");
      bump(StateView::issue_count_key(x.repo_id, t, state_char(x.state)), 1);
    }
  }
  void put_issue(const Issue& x) {
    state_.put(s_.issues, StateView::issue_key(x.repo_id, x.number), encode_issue(x));
  }
  void milestone_count(uint64_t repo_id, uint64_t number, uint8_t state, int delta) {
    if (number == 0) return;
    auto m = view_.milestone(repo_id, number);
    if (!m) return;
    uint64_t& n = state == kIssueOpen ? m->open_issues : m->closed_issues;
    n = delta < 0 && n == 0 ? 0 : n + delta;
    state_.put(s_.milestones, StateView::milestone_key(repo_id, number), encode_milestone(*m));
  }
  // Label names to ids; missing labels are created (the caller has triage).
  Status resolve_labels(uint64_t repo_id, const std::vector<std::string>& names,
                        std::vector<uint64_t>* out) {
    for (const auto& n : names) {
      if (auto e = label_name_error(n)) return field("labels", "'" + n + "' " + *e);
      auto l = view_.label_by_name(repo_id, n);
      if (!l) {
        if (view_.labels(repo_id).size() >= kMaxLabelsPerRepo)
          return field("labels", "the repository has too many labels");
        Label nl{take_id(StateView::kNextLabelId), repo_id, n, "ededed", ""};
        state_.put(s_.labels, StateView::label_key(repo_id, nl.id), encode_label(nl));
        l = nl;
      }
      if (!contains(*out, l->id)) out->push_back(l->id);
    }
    if (out->size() > kMaxLabelsPerIssue) return field("labels", "too many labels on one issue");
    return Status::Ok();
  }
  // A person who may be assigned: registered, with triage or more on the repository.
  Status check_assignee(const Repo& repo, const crypto::PublicKey& who) {
    if (!view_.account(who))
      return field("assignees", crypto::did_from_key(who) + " is not a registered user");
    if (view_.permission(repo, who) < Permission::kTriage)
      return field("assignees",
                   crypto::did_from_key(who) + " cannot be assigned to this repository");
    return Status::Ok();
  }
  Status new_review_comment(const Issue& pr, uint64_t review_id, const Bytes& commit,
                            const std::string& path, uint64_t line, uint8_t side,
                            uint64_t start_line, const std::string& body, uint64_t in_reply_to) {
    if (path.empty() || path.size() > kMaxPathBytes || !is_valid_utf8(path))
      return field("path", "must be a file path of the pull request");
    if (line == 0) return field("line", "must be a positive line number");
    if (side != kSideLeft && side != kSideRight) return field("side", "must be LEFT or RIGHT");
    if (start_line >= line && start_line != 0) return field("start_line", "must precede line");
    if (body.empty()) return field("body", "can't be blank");
    if (auto e = body_error(body)) return field("body", *e);
    Comment c;
    c.id = take_id(StateView::kNextCommentId);
    c.repo_id = pr.repo_id;
    c.number = pr.number;
    c.kind = kReviewCommentKind;
    c.author = author_;
    c.body = body;
    c.created_ms = c.updated_ms = now_;
    c.review_id = review_id;
    c.path = path;
    c.line = line;
    c.side = side;
    c.start_line = start_line;
    c.commit_sha = commit;
    c.in_reply_to = in_reply_to;
    state_.put(s_.comments, StateView::comment_key(c.id), encode_comment(c));
    state_.put(s_.comment_index, StateView::comment_index_key(c.repo_id, c.number, c.kind, c.id),
               "");
    return Status::Ok();
  }

  const Schema& s_;
  Overlay& state_;
  StateView view_;
  const Transaction& tx_;
  const crypto::PublicKey& author_;
  uint64_t now_;
  Permission perm_ = Permission::kNone;  // the author's, on the last repository checked
};

Status Apply::operator()(const SetCollaborator& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kAdmin, &repo); !st.ok()) return st;
  if (b.permission > static_cast<uint8_t>(Permission::kAdmin))
    return field("permission", "is not a valid permission");
  if (!view_.account(b.user))
    return not_found("user: " + crypto::did_from_key(b.user) + " is not registered");
  if (b.user == repo.owner) return field("user", "is the repository's owner");
  if (view_.org(b.user)) return field("user", "is an organization");
  auto key = StateView::collaborator_key(repo.id, b.user);
  if (b.permission == 0) {
    if (!view_.collaborator(repo.id, b.user)) return not_found("user: is not a collaborator");
    state_.del(s_.collaborators, key);
    return Status::Ok();
  }
  auto existing = view_.collaborator(repo.id, b.user);
  state_.put(s_.collaborators, key,
             encode_collaborator({b.user, b.permission, existing ? existing->added_ms : now_}));
  return Status::Ok();
}

Status Apply::operator()(const ForkRepo& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo parent;
  if (auto st = repo_with(b.parent_id, Permission::kRead, &parent); !st.ok()) return st;
  if (auto e = repo_name_error(b.name)) return field("name", *e);
  if (view_.repo_by_name(author_, b.name)) return taken("name: already exists on this account");
  Repo fork;
  fork.id = view_.next_repo_id();
  fork.owner = author_;
  fork.name = b.name;
  fork.description = parent.description;
  fork.is_private = parent.is_private;
  fork.default_branch = parent.default_branch;
  fork.created_ms = fork.updated_ms = now_;
  fork.pushed_ms = parent.pushed_ms;
  state_.put(s_.meta, StateView::kNextRepoId, storage::be64(fork.id + 1));
  state_.put(s_.repos, StateView::repo_key(fork.id), encode_repo(fork));
  state_.put(s_.repo_names, StateView::repo_name_key(author_, fork.name), storage::be64(fork.id));
  for (const auto& [name, oid] : view_.refs(parent.id)) {
    bool copy = b.default_branch_only
                    ? name == head_ref(parent.default_branch)
                    : name.rfind("refs/heads/", 0) == 0 || name.rfind("refs/tags/", 0) == 0;
    if (copy) state_.put(s_.refs, StateView::ref_key(fork.id, name), key_of(oid));
  }
  state_.put(s_.forks, StateView::fork_parent_key(fork.id), storage::be64(parent.id));
  state_.put(s_.forks, StateView::fork_child_key(parent.id, fork.id), "");
  receipt(fork.id);
  return Status::Ok();
}

Status Apply::operator()(const CreateIssue& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  if (auto e = title_error(b.title)) return field("title", *e);
  if (auto e = body_error(b.body)) return field("body", *e);
  Issue x;
  x.id = take_id(StateView::kNextIssueId);
  x.repo_id = repo.id;
  x.number = view_.last_issue_number(repo.id) + 1;
  state_.put(s_.meta, StateView::issue_seq_key(repo.id), storage::be64(x.number));
  x.author = author_;
  x.title = b.title;
  x.body = b.body;
  x.created_ms = x.updated_ms = now_;
  // As on GitHub, labels, assignees and a milestone from someone without triage are dropped.
  if (perm_ >= Permission::kTriage) {
    if (auto st = resolve_labels(repo.id, b.labels, &x.labels); !st.ok()) return st;
    if (b.assignees.size() > kMaxAssignees) return field("assignees", "too many assignees");
    for (const auto& a : b.assignees) {
      if (auto st = check_assignee(repo, a); !st.ok()) return st;
      if (!contains(x.assignees, a)) x.assignees.push_back(a);
    }
    if (b.milestone) {
      if (!view_.milestone(repo.id, b.milestone)) return field("milestone", "does not exist");
      x.milestone = b.milestone;
    }
  }
  put_issue(x);
  index_new(x);
  milestone_count(repo.id, x.milestone, x.state, 1);
  receipt(x.number);
  return Status::Ok();
}

Status Apply::operator()(const EditIssue& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  Issue x;
  if (auto st = load_issue(repo.id, b.number, &x); !st.ok()) return st;
  const bool own = x.author == author_;
  const bool triage = perm_ >= Permission::kTriage;
  const uint8_t old_state = x.state;
  const uint64_t old_milestone = x.milestone;
  auto need_triage = [&](const char* what) {
    return denied(std::string("requires triage permission to change ") + what);
  };
  if ((b.title || b.body) && !own && !triage) return need_triage("another person's title or body");
  if (b.title) {
    if (auto e = title_error(*b.title)) return field("title", *e);
    x.title = *b.title;
  }
  if (b.body) {
    if (auto e = body_error(*b.body)) return field("body", *e);
    x.body = *b.body;
  }
  if (b.state) {
    if (*b.state != kIssueOpen && *b.state != kIssueClosed)
      return field("state", "must be open or closed");
    if (!own && !triage) return need_triage("the state of another person's item");
    if (x.merged) return field("state", "a merged pull request cannot be reopened or closed");
    if (*b.state == kIssueClosed) {
      if (b.state_reason != kReasonNone && b.state_reason != kReasonCompleted &&
          b.state_reason != kReasonNotPlanned)
        return field("state_reason", "must be completed or not_planned when closing");
      if (x.state == kIssueOpen) {
        x.closed_ms = now_;
        x.closed_by = author_;
      }
      x.state = kIssueClosed;
      x.state_reason =
          x.is_pull ? static_cast<uint8_t>(kReasonNone)
                    : (b.state_reason ? b.state_reason : static_cast<uint8_t>(kReasonCompleted));
    } else {
      if (b.state_reason != kReasonNone && b.state_reason != kReasonReopened)
        return field("state_reason", "must be reopened when reopening");
      if (x.state == kIssueClosed) {
        x.state_reason = x.is_pull ? uint8_t{kReasonNone} : uint8_t{kReasonReopened};
        x.closed_ms = 0;
        x.closed_by.reset();
      }
      x.state = kIssueOpen;
    }
  } else if (b.state_reason != kReasonNone) {
    return field("state_reason", "needs a state");
  }
  bool label_change = b.labels || !b.labels_add.empty() || !b.labels_remove.empty();
  if (label_change) {
    if (!triage) return need_triage("labels");
    std::vector<uint64_t> ids = x.labels;
    if (b.labels) {
      ids.clear();
      if (auto st = resolve_labels(repo.id, *b.labels, &ids); !st.ok()) return st;
    }
    if (auto st = resolve_labels(repo.id, b.labels_add, &ids); !st.ok()) return st;
    for (const auto& n : b.labels_remove) {
      auto l = view_.label_by_name(repo.id, n);
      if (!l || !contains(ids, l->id)) return not_found("labels: '" + n + "' is not on this issue");
      ids.erase(std::find(ids.begin(), ids.end(), l->id));
    }
    x.labels = std::move(ids);
  }
  bool assignee_change = b.assignees || !b.assignees_add.empty() || !b.assignees_remove.empty();
  if (assignee_change) {
    if (!triage) return need_triage("assignees");
    auto list = b.assignees ? *b.assignees : x.assignees;
    for (const auto& a : b.assignees_add)
      if (!contains(list, a)) list.push_back(a);
    for (const auto& a : b.assignees_remove)
      list.erase(std::remove(list.begin(), list.end(), a), list.end());
    std::vector<crypto::PublicKey> unique;
    for (const auto& a : list) {
      if (contains(unique, a)) continue;
      if (!contains(x.assignees, a))
        if (auto st = check_assignee(repo, a); !st.ok()) return st;
      unique.push_back(a);
    }
    if (unique.size() > kMaxAssignees) return field("assignees", "too many assignees");
    x.assignees = std::move(unique);
  }
  if (b.milestone) {
    if (!triage) return need_triage("the milestone");
    if (*b.milestone && !view_.milestone(repo.id, *b.milestone))
      return field("milestone", "does not exist");
    x.milestone = *b.milestone;
  }
  if (b.locked) {
    if (!triage) return need_triage("the lock");
    if (!is_valid_lock_reason(b.lock_reason))
      return field("lock_reason", "is not a valid lock reason");
    x.locked = *b.locked;
    x.lock_reason = *b.locked ? b.lock_reason : "";
  } else if (!b.lock_reason.empty()) {
    return field("lock_reason", "needs locked");
  }
  if (b.base || b.draft || !b.reviewers_add.empty() || !b.reviewers_remove.empty()) {
    if (!x.is_pull)
      return field(b.base ? "base" : b.draft ? "draft" : "reviewers", "only pull requests have it");
    if (x.merged && b.base) return field("base", "the pull request is merged");
  }
  if (b.base) {
    if (!own && perm_ < Permission::kWrite)
      return denied("requires write permission to change the base");
    if (auto e = branch_name_error(*b.base)) return field("base", *e);
    if (!view_.ref(repo.id, head_ref(*b.base))) return field("base", "branch does not exist");
    if (x.head_repo_id == repo.id && *b.base == x.head_ref)
      return field("base", "is the head branch");
    x.base_ref = *b.base;
  }
  if (b.draft) {
    if (!own && perm_ < Permission::kWrite)
      return denied("requires write permission to change the draft state");
    x.draft = *b.draft;
  }
  if (!b.reviewers_add.empty() || !b.reviewers_remove.empty()) {
    if (!own && !triage) return need_triage("requested reviewers");
    for (const auto& r : b.reviewers_add) {
      if (r == x.author)
        return field("reviewers", "Review cannot be requested from pull request author.");
      if (!view_.account(r))
        return field("reviewers", crypto::did_from_key(r) + " is not a registered user");
      if (view_.permission(repo, r) < Permission::kRead)
        return field("reviewers", crypto::did_from_key(r) + " cannot read this repository");
      if (!contains(x.requested_reviewers, r)) x.requested_reviewers.push_back(r);
    }
    for (const auto& r : b.reviewers_remove)
      x.requested_reviewers.erase(
          std::remove(x.requested_reviewers.begin(), x.requested_reviewers.end(), r),
          x.requested_reviewers.end());
    if (x.requested_reviewers.size() > kMaxRequestedReviewers)
      return field("reviewers", "too many reviewers");
  }
  x.updated_ms = now_;
  put_issue(x);
  index_state(x, old_state);
  reputation::on_issue_state(s_, state_, x, old_state, author_);  // docs/reputation.md
  if (old_milestone != x.milestone || old_state != x.state) {
    milestone_count(repo.id, old_milestone, old_state, -1);
    milestone_count(repo.id, x.milestone, x.state, 1);
  }
  return Status::Ok();
}

Status Apply::operator()(const CreateComment& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  Issue x;
  if (auto st = load_issue(repo.id, b.number, &x); !st.ok()) return st;
  if (b.body.empty()) return field("body", "can't be blank");
  if (auto e = body_error(b.body)) return field("body", *e);
  if (x.locked && perm_ < Permission::kWrite) return denied("the conversation is locked");
  Comment c;
  c.id = take_id(StateView::kNextCommentId);
  c.repo_id = repo.id;
  c.number = x.number;
  c.kind = kIssueComment;
  c.author = author_;
  c.body = b.body;
  c.created_ms = c.updated_ms = now_;
  state_.put(s_.comments, StateView::comment_key(c.id), encode_comment(c));
  state_.put(s_.comment_index, StateView::comment_index_key(c.repo_id, c.number, c.kind, c.id), "");
  x.comments += 1;
  x.updated_ms = now_;
  put_issue(x);
  receipt(c.id);
  return Status::Ok();
}

Status Apply::operator()(const EditComment& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  auto c = view_.comment(b.comment_id);
  if (!c || c->repo_id != repo.id) return not_found("comment does not exist");
  if (c->author != author_ && perm_ < Permission::kMaintain)
    return denied("only the author or a maintainer may edit a comment");
  if (b.body.empty()) return field("body", "can't be blank");
  if (auto e = body_error(b.body)) return field("body", *e);
  c->body = b.body;
  c->updated_ms = now_;
  state_.put(s_.comments, StateView::comment_key(c->id), encode_comment(*c));
  return Status::Ok();
}

Status Apply::operator()(const DeleteComment& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  auto c = view_.comment(b.comment_id);
  if (!c || c->repo_id != repo.id) return not_found("comment does not exist");
  if (c->author != author_ && perm_ < Permission::kWrite)
    return denied("only the author or someone with write permission may delete a comment");
  state_.del(s_.comments, StateView::comment_key(c->id));
  state_.del(s_.comment_index, StateView::comment_index_key(c->repo_id, c->number, c->kind, c->id));
  for (const auto& r : view_.reactions(repo.id, kReactComment, c->id))
    state_.del(s_.reactions,
               StateView::reaction_key(repo.id, kReactComment, c->id, r.user, r.content));
  state_.del(s_.reactions, StateView::reaction_counts_key(repo.id, kReactComment, c->id));
  if (auto x = view_.issue(repo.id, c->number)) {
    uint64_t& n = c->kind == kIssueComment ? x->comments : x->review_comments;
    if (n) --n;
    put_issue(*x);
  }
  return Status::Ok();
}

Status Apply::operator()(const SetLabel& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kTriage, &repo); !st.ok()) return st;
  if (b.color)
    if (auto e = label_color_error(*b.color)) return field("color", *e);
  if (b.description)
    if (auto e = label_description_error(*b.description)) return field("description", *e);
  auto existing = view_.label_by_name(repo.id, b.name);
  switch (b.op) {
    case kLabelCreate: {
      if (auto e = label_name_error(b.name)) return field("name", *e);
      if (existing) return taken("name: already_exists");
      if (view_.labels(repo.id).size() >= kMaxLabelsPerRepo)
        return field("name", "the repository has too many labels");
      Label l{take_id(StateView::kNextLabelId), repo.id, b.name, b.color.value_or("ededed"),
              b.description.value_or("")};
      std::transform(l.color.begin(), l.color.end(), l.color.begin(), ::tolower);
      state_.put(s_.labels, StateView::label_key(repo.id, l.id), encode_label(l));
      receipt(l.id);
      return Status::Ok();
    }
    case kLabelUpdate: {
      if (!existing) return not_found("label does not exist");
      Label l = *existing;
      if (b.new_name) {
        if (auto e = label_name_error(*b.new_name)) return field("name", *e);
        auto other = view_.label_by_name(repo.id, *b.new_name);
        if (other && other->id != l.id) return taken("name: already_exists");
        l.name = *b.new_name;
      }
      if (b.color) {
        l.color = *b.color;
        std::transform(l.color.begin(), l.color.end(), l.color.begin(), ::tolower);
      }
      if (b.description) l.description = *b.description;
      state_.put(s_.labels, StateView::label_key(repo.id, l.id), encode_label(l));
      return Status::Ok();
    }
    case kLabelDelete:
      // Issues keep the id; reads skip labels that no longer exist (ids are never reused).
      if (!existing) return not_found("label does not exist");
      state_.del(s_.labels, StateView::label_key(repo.id, existing->id));
      return Status::Ok();
    default:
      return field("op", "is not a label operation");
  }
}

Status Apply::operator()(const SetMilestone& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kTriage, &repo); !st.ok()) return st;
  if (b.title)
    if (auto e = title_error(*b.title)) return field("title", *e);
  if (b.description)
    if (auto e = body_error(*b.description)) return field("description", *e);
  if (b.state && *b.state != kIssueOpen && *b.state != kIssueClosed)
    return field("state", "must be open or closed");
  auto title_taken = [&](const std::string& t, uint64_t except) {
    for (const auto& m : view_.milestones(repo.id))
      if (m.number != except && m.title == t) return true;
    return false;
  };
  Milestone m;
  if (b.op == kMilestoneCreate) {
    if (!b.title) return field("title", "can't be blank");
    if (title_taken(*b.title, 0)) return taken("title: already_exists");
    m.id = take_id(StateView::kNextMilestoneId);
    m.repo_id = repo.id;
    auto seq = state_.get(s_.meta, StateView::milestone_seq_key(repo.id));
    m.number = (seq ? storage::read_be64(*seq) : 0) + 1;
    state_.put(s_.meta, StateView::milestone_seq_key(repo.id), storage::be64(m.number));
    m.creator = author_;
    m.created_ms = now_;
  } else if (b.op == kMilestoneUpdate || b.op == kMilestoneDelete) {
    auto existing = view_.milestone(repo.id, b.number);
    if (!existing) return not_found("milestone does not exist");
    if (b.op == kMilestoneDelete) {
      // Issues keep the number; reads skip milestones that no longer exist.
      state_.del(s_.milestones, StateView::milestone_key(repo.id, b.number));
      return Status::Ok();
    }
    m = *existing;
    if (b.title && title_taken(*b.title, m.number)) return taken("title: already_exists");
  } else {
    return field("op", "is not a milestone operation");
  }
  if (b.title) m.title = *b.title;
  if (b.description) m.description = *b.description;
  if (b.state && *b.state != m.state) {
    m.state = *b.state;
    m.closed_ms = m.state == kIssueClosed ? now_ : 0;
  }
  if (b.due_on_ms) m.due_on_ms = *b.due_on_ms;
  m.updated_ms = now_;
  state_.put(s_.milestones, StateView::milestone_key(repo.id, m.number), encode_milestone(m));
  receipt(m.number);
  return Status::Ok();
}

Status Apply::operator()(const SetReaction& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  if (!is_valid_reaction(b.content)) return field("content", "is not a valid reaction");
  if (b.target_type == kReactIssue) {
    if (!view_.issue(repo.id, b.target_id)) return not_found("issue does not exist");
  } else if (b.target_type == kReactComment) {
    auto c = view_.comment(b.target_id);
    if (!c || c->repo_id != repo.id) return not_found("comment does not exist");
  } else {
    return field("target", "is not a valid reaction target");
  }
  auto key = StateView::reaction_key(repo.id, b.target_type, b.target_id, author_, b.content);
  bool exists = state_.get(s_.reactions, key).has_value();
  if (b.remove) {
    if (!exists) return not_found("reaction does not exist");
    state_.del(s_.reactions, key);
    count_reaction(repo.id, b.target_type, b.target_id, b.content, -1);
    return Status::Ok();
  }
  if (exists) {  // idempotent, as on GitHub
    receipt(decode_reaction(*state_.get(s_.reactions, key)).id);
    return Status::Ok();
  }
  Reaction r{take_id(StateView::kNextReactionId),
             repo.id,
             b.target_type,
             b.target_id,
             author_,
             b.content,
             now_};
  state_.put(s_.reactions, key, encode_reaction(r));
  count_reaction(repo.id, b.target_type, b.target_id, b.content, 1);
  receipt(r.id);
  return Status::Ok();
}

Status Apply::operator()(const OpenPullRequest& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  const Permission base_perm = perm_;
  if (auto e = title_error(b.title)) return field("title", *e);
  if (auto e = body_error(b.body)) return field("body", *e);
  Repo head_repo;
  if (auto st = repo_with(b.head_repo_id, Permission::kRead, &head_repo); !st.ok())
    return field("head", "repository does not exist");
  perm_ = base_perm;
  if (head_repo.id != repo.id && view_.fork_root(head_repo.id) != view_.fork_root(repo.id))
    return field("head", "is not in the fork network of the base repository");
  if (auto e = branch_name_error(b.head)) return field("head", *e);
  if (auto e = branch_name_error(b.base)) return field("base", *e);
  if (!valid_oid(b.head_sha)) return field("head_sha", "is not an object id");
  auto base_oid = view_.ref(repo.id, head_ref(b.base));
  if (!base_oid) return field("base", "branch does not exist");
  auto head_oid = view_.ref(head_repo.id, head_ref(b.head));
  if (!head_oid) return field("head", "branch does not exist");
  if (*head_oid != b.head_sha) return invalid("head: the branch moved to " + hex_encode(*head_oid));
  if (head_repo.id == repo.id && b.head == b.base) return field("base", "is the head branch");
  for (const auto& [r, n] : view_.pulls_with_head(head_repo.id, b.head)) {
    if (r != repo.id) continue;
    auto other = view_.issue(r, n);
    if (other && other->state == kIssueOpen && other->base_ref == b.base)
      return taken("head: a pull request already exists for this head and base (#" +
                   std::to_string(n) + ")");
  }
  Issue x;
  x.id = take_id(StateView::kNextIssueId);
  x.repo_id = repo.id;
  x.number = view_.last_issue_number(repo.id) + 1;
  state_.put(s_.meta, StateView::issue_seq_key(repo.id), storage::be64(x.number));
  x.is_pull = true;
  x.author = author_;
  x.title = b.title;
  x.body = b.body;
  x.created_ms = x.updated_ms = now_;
  x.head_repo_id = head_repo.id;
  x.head_ref = b.head;
  x.head_sha = b.head_sha;
  x.base_ref = b.base;
  x.base_sha = *base_oid;
  x.draft = b.draft;
  x.revisions = 1;
  put_issue(x);
  index_new(x);
  state_.put(s_.pull_revisions, StateView::revision_key(repo.id, x.number, 0),
             encode_revision({0, x.head_sha, x.base_sha, now_}));
  state_.put(s_.pull_heads, StateView::pull_head_key(head_repo.id, b.head, repo.id, x.number), "");
  receipt(x.number);
  return Status::Ok();
}

Status Apply::operator()(const MergePullRequest& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kWrite, &repo); !st.ok()) return st;
  Issue x;
  if (auto st = load_issue(repo.id, b.number, &x, true); !st.ok()) return st;
  if (x.merged) return not_mergeable("Pull Request is not mergeable: it is already merged");
  if (x.state != kIssueOpen) return not_mergeable("Pull Request is not mergeable: it is closed");
  if (x.draft) return not_mergeable("Pull Request is not mergeable: it is a draft");
  if (b.method < kMergeCommit || b.method > kMergeRebase)
    return field("merge_method", "is not merge, squash or rebase");
  if (!valid_oid(b.head_sha) || !valid_oid(b.base_old) || !valid_oid(b.merge_sha) ||
      b.merge_sha.size() != b.base_old.size())
    return field("sha", "is not an object id");
  if (b.head_sha != x.head_sha)
    return conflict("sha: Head branch was modified. Review and try the merge again.");
  auto ref = head_ref(x.base_ref);
  auto cur = view_.ref(repo.id, ref);
  if (!cur) return not_mergeable("Pull Request is not mergeable: the base branch does not exist");
  if (*cur != b.base_old)
    return conflict("base: Base branch was modified. Review and try the merge again.");
  if (b.merge_sha == b.base_old) return field("merge_sha", "does not change the base branch");
  if (auto why = merge_protection_denial(view_, repo, x, author_, perm_))
    return not_mergeable(*why);
  state_.put(s_.refs, StateView::ref_key(repo.id, ref), key_of(b.merge_sha));
  repo.pushed_ms = now_;
  state_.put(s_.repos, StateView::repo_key(repo.id), encode_repo(repo));
  const uint8_t old_state = x.state;
  x.merged = true;
  x.merged_ms = now_;
  x.merged_by = author_;
  x.merge_sha = b.merge_sha;
  x.merge_method = b.method;
  x.base_sha = b.base_old;
  x.state = kIssueClosed;
  x.closed_ms = now_;
  x.closed_by = author_;
  x.updated_ms = now_;
  put_issue(x);
  index_state(x, old_state);
  reputation::on_merge(s_, state_, x, author_);  // docs/reputation.md
  milestone_count(repo.id, x.milestone, old_state, -1);
  milestone_count(repo.id, x.milestone, x.state, 1);
  state_.del(s_.pull_heads,
             StateView::pull_head_key(x.head_repo_id, x.head_ref, repo.id, x.number));
  return Status::Ok();
}

Status Apply::operator()(const SubmitReview& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  Issue x;
  if (auto st = load_issue(repo.id, b.number, &x, true); !st.ok()) return st;
  if (x.state != kIssueOpen) return invalid("pull request is closed");
  if (b.event < kReviewApprove || b.event > kReviewComment)
    return field("event", "must be APPROVE, REQUEST_CHANGES or COMMENT");
  if (x.author == author_ && b.event == kReviewApprove)
    return field("event", "Can not approve your own pull request");
  if (x.author == author_ && b.event == kReviewRequestChanges)
    return field("event", "Can not request changes on your own pull request");
  if (auto e = body_error(b.body)) return field("body", *e);
  if (b.body.empty() && b.event != kReviewApprove && b.comments.empty())
    return field("body", "is required for this review event");
  if (b.comments.size() > kMaxReviewComments)
    return field("comments", "too many comments in one review");
  if (!b.commit_sha.empty() && !valid_oid(b.commit_sha))
    return field("commit_id", "is not an object id");
  if (x.locked && perm_ < Permission::kWrite) return denied("the conversation is locked");
  Review r;
  r.id = take_id(StateView::kNextReviewId);
  r.repo_id = repo.id;
  r.number = x.number;
  r.author = author_;
  r.state = b.event;
  r.body = b.body;
  r.commit_sha = b.commit_sha.empty() ? x.head_sha : b.commit_sha;
  r.submitted_ms = now_;
  for (const auto& c : b.comments)
    if (auto st = new_review_comment(x, r.id, r.commit_sha, c.path, c.line, c.side, c.start_line,
                                     c.body, 0);
        !st.ok())
      return st;
  state_.put(s_.reviews, StateView::review_key(repo.id, x.number, r.id), encode_review(r));
  x.review_comments += b.comments.size();
  x.requested_reviewers.erase(
      std::remove(x.requested_reviewers.begin(), x.requested_reviewers.end(), author_),
      x.requested_reviewers.end());
  x.updated_ms = now_;
  put_issue(x);
  receipt(r.id);
  return Status::Ok();
}

Status Apply::operator()(const CreateReviewComment& b) {
  if (auto st = registered(); !st.ok()) return st;
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kRead, &repo); !st.ok()) return st;
  Issue x;
  if (auto st = load_issue(repo.id, b.number, &x, true); !st.ok()) return st;
  if (x.locked && perm_ < Permission::kWrite) return denied("the conversation is locked");
  if (!b.commit_sha.empty() && !valid_oid(b.commit_sha))
    return field("commit_id", "is not an object id");
  std::string path = b.path;
  uint64_t line = b.line, start_line = b.start_line, root = 0;
  uint8_t side = b.side;
  Bytes commit = b.commit_sha.empty() ? x.head_sha : b.commit_sha;
  if (b.in_reply_to) {
    auto parent = view_.comment(b.in_reply_to);
    if (!parent || parent->repo_id != repo.id || parent->number != x.number ||
        parent->kind != kReviewCommentKind)
      return not_found("in_reply_to: review comment does not exist");
    root = parent->in_reply_to ? parent->in_reply_to : parent->id;
    path = parent->path;
    line = parent->line;
    side = parent->side;
    start_line = parent->start_line;
    commit = parent->commit_sha;
  }
  Review r;
  r.id = take_id(StateView::kNextReviewId);
  r.repo_id = repo.id;
  r.number = x.number;
  r.author = author_;
  r.state = kReviewComment;
  r.commit_sha = commit;
  r.submitted_ms = now_;
  if (auto st = new_review_comment(x, r.id, commit, path, line, side, start_line, b.body, root);
      !st.ok())
    return st;
  state_.put(s_.reviews, StateView::review_key(repo.id, x.number, r.id), encode_review(r));
  x.review_comments += 1;
  x.updated_ms = now_;
  put_issue(x);
  receipt(view_.next_id(StateView::kNextCommentId) - 1);  // the comment just created
  return Status::Ok();
}

Status Apply::operator()(const DismissReview& b) {
  Repo repo;
  if (auto st = repo_with(b.repo_id, Permission::kWrite, &repo); !st.ok()) return st;
  Issue x;
  if (auto st = load_issue(repo.id, b.number, &x, true); !st.ok()) return st;
  auto r = view_.review(repo.id, x.number, b.review_id);
  if (!r) return not_found("review does not exist");
  if (r->state != kReviewApprove && r->state != kReviewRequestChanges)
    return invalid("Can not dismiss a " +
                   std::string(r->state == kReviewDismissed ? "dismissed" : "commented") +
                   " pull request review");
  if (b.message.empty()) return field("message", "can't be blank");
  if (auto e = body_error(b.message)) return field("message", *e);
  r->state = kReviewDismissed;
  r->dismiss_message = b.message;
  state_.put(s_.reviews, StateView::review_key(repo.id, x.number, r->id), encode_review(*r));
  x.updated_ms = now_;
  put_issue(x);
  return Status::Ok();
}

}  // namespace

Status Executor::apply_collab(Overlay& state, const Transaction& tx) const {
  // Repository interaction limits (state/reputation.h).
  if (auto st =
          reputation::check_interaction(StateView(s_, state), tx, ctx_.timestamp_ms, ctx_.height);
      !st.ok())
    return st;
  Apply apply(s_, state, tx, ctx_.timestamp_ms);
  Status st = std::visit(apply, tx.body);
  if (st.ok()) {
    // A merge moves the base branch: pull requests whose head is that branch follow it.
    if (const auto* m = std::get_if<MergePullRequest>(&tx.body)) {
      StateView view(s_, state);
      if (auto x = view.issue(m->repo_id, m->number))
        record_pull_heads(state, m->repo_id, head_ref(x->base_ref), m->merge_sha);
    }
  }
  return st;
}

void Executor::record_pull_heads(Overlay& state, uint64_t repo_id, std::string_view ref,
                                 const Bytes& new_oid) const {
  if (new_oid.empty() || ref.rfind("refs/heads/", 0) != 0) return;  // deleted: keep the last head
  StateView view(s_, state);
  for (const auto& [r, n] : view.pulls_with_head(repo_id, ref.substr(11))) {
    auto x = view.issue(r, n);
    if (!x || x->state != kIssueOpen || x->merged || x->head_sha == new_oid) continue;
    auto base = view.ref(r, head_ref(x->base_ref));
    Revision rev{x->revisions, new_oid, base ? *base : Bytes{}, ctx_.timestamp_ms};
    state.put(s_.pull_revisions, StateView::revision_key(r, n, rev.index), encode_revision(rev));
    x->head_sha = new_oid;
    x->revisions += 1;
    x->updated_ms = ctx_.timestamp_ms;
    state.put(s_.issues, StateView::issue_key(r, n), encode_issue(*x));
  }
}

}  // namespace guts::state
