// Branch-protection rules that need git facts (state/git_facts.h; docs/governance.md "Git
// facts"): force pushes detected from the objects, `strict` status checks, linear history,
// signed commits and code owners. Called by the Executor after the rest of a transaction's
// validity passed, only on the check paths (door, block building and verification).
#include <algorithm>
#include <set>

#include "state/codeowners.h"
#include "state/collab.h"
#include "state/git_facts.h"
#include "state/permission.h"
#include "state/protection.h"
#include "state/rejections.h"
#include "state/tx.h"
#include "state/view.h"

namespace guts::state {

namespace {

using reject::denied;
using reject::invalid;
using reject::not_mergeable;

// At most this many changed paths are matched against CODEOWNERS (GitHub's pull request diff
// stops at 3,000 files); more refuses the merge.
constexpr size_t kMaxCodeownerPaths = 3000;

// Reads facts under one policy: an unknown fact sets `unavailable` when it refuses.
struct Facts {
  const FactsUse& use;
  uint64_t repo_id;
  Status unavailable = Status::Ok();

  template <typename T>
  std::optional<T> known(std::optional<T> fact, std::string_view what) {
    if (!fact && use.unknown_refuses && unavailable.ok())
      unavailable =
          Status(Code::kUnavailable, "cannot check branch protection: the git objects of " +
                                         std::string(what) + " are not here (yet)");
    return fact;
  }
  std::optional<bool> is_ancestor(const Bytes& a, const Bytes& b, std::string_view what) {
    return known(use.facts->is_ancestor(repo_id, a, b), what);
  }
};

bool in_team(const StateView& view, const crypto::PublicKey& who, uint64_t team_id) {
  for (uint64_t id : view.teams_of_user(who)) {
    if (id == team_id) return true;
    auto t = view.team(id);  // a child team's members count for its parent
    if (t && t->parent_id == team_id) return true;
  }
  return false;
}

// Whether `owner` resolves to a user or team here (unresolvable owners are ignored, as GitHub
// ignores owners it cannot resolve), and if so whether one of `approvers` is it or in it.
struct OwnerCheck {
  bool resolvable = false;
  bool approved = false;
};
OwnerCheck check_owner(const StateView& view, std::string_view owner,
                       const std::vector<crypto::PublicKey>& approvers) {
  OwnerCheck c;
  if (!owner.starts_with('@')) return c;  // an email address: no mapping to accounts
  std::string_view name = owner.substr(1);
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    auto acct = view.account_by_username(name);
    if (!acct || acct->is_org) return c;
    c.resolvable = true;
    c.approved = std::find(approvers.begin(), approvers.end(), acct->key) != approvers.end();
    return c;
  }
  auto org = view.org_by_login(name.substr(0, slash));
  if (!org) return c;
  auto team = view.team_by_slug(org->key, name.substr(slash + 1));
  if (!team) return c;
  c.resolvable = true;
  for (const auto& a : approvers)
    if (in_team(view, a, team->id)) c.approved = true;
  return c;
}

std::string join_owners(const std::vector<std::string>& owners) {
  std::string out;
  for (const auto& o : owners) out += (out.empty() ? "" : " ") + o;
  return out;
}

Status check_push(const StateView& view, const Transaction& tx, const UpdateRefs& b,
                  const FactsUse& use) {
  auto repo = view.repo(b.repo_id);
  if (!repo) return Status::Ok();  // refused before
  const Permission level = view.permission(*repo, tx.author);
  auto rules = protection_rules(view, repo->id);
  Facts f{use, repo->id};
  bool forced_here = false;
  for (const auto& c : b.changes) {
    if (c.old_oid.empty() || c.new_oid.empty()) continue;  // creation, deletion
    const ProtectionRule* rule = nullptr;
    if (c.ref.starts_with("refs/heads/")) rule = applicable_rule(rules, c.ref.substr(11));
    const bool bypass = rule && level >= Permission::kAdmin && !rule->enforce_admins;
    const bool force_matters =
        !repo->allow_force_push || (rule && !bypass && !rule->allow_force_pushes);
    bool forced = b.force;
    if (force_matters) {
      auto anc = f.is_ancestor(c.old_oid, c.new_oid, c.ref);
      if (!f.unavailable.ok()) return f.unavailable;
      if (anc) forced = !*anc;  // the objects decide, not the pusher's claim
    }
    if (forced && !repo->allow_force_push) forced_here = true;
    if (!rule || bypass) continue;
    ProtectionSubject x = push_subject(view, *repo, tx.author, level, c, forced, *rule);
    if (rule->required_linear_history) {
      auto merges = f.known(use.facts->has_merge_commits(repo->id, c.old_oid, c.new_oid), c.ref);
      if (!f.unavailable.ok()) return f.unavailable;
      if (merges) x.linear = !*merges;
    }
    if (rule->required_signatures) {
      x.signed_commits =
          f.known(use.facts->all_commits_signed(repo->id, c.old_oid, c.new_oid), c.ref);
      if (!f.unavailable.ok()) return f.unavailable;
    }
    if (auto why = protection_denial(*rule, x)) return invalid(*why);
  }
  if (forced_here) return denied("non-fast-forward updates are not allowed on this repository");
  return Status::Ok();
}

// Code owners: every changed path with owners needs an approval from one of them.
Status check_code_owners(const StateView& view, const Repo& repo, const Issue& pull,
                         const MergePullRequest& b, const ProtectionRule& rule, Facts& f) {
  std::optional<Codeowners> file;
  for (auto path : kCodeownersPaths) {
    FileFact r = f.use.facts->read_file(repo.id, b.base_old, path, kMaxCodeownersBytes + 1);
    if (r.state == FileFact::kUnknown) {
      f.known(std::optional<bool>{}, "the base branch");
      return f.unavailable;  // Ok at the door: passes
    }
    if (r.state == FileFact::kPresent) {
      file = parse_codeowners(r.content);
      break;
    }
  }
  if (!file || file->rules.empty()) return Status::Ok();
  auto paths =
      f.known(f.use.facts->changed_paths(repo.id, b.base_old, pull.head_sha), "the pull request");
  if (!paths) return f.unavailable;
  if (paths->size() > kMaxCodeownerPaths)
    return not_mergeable("protected branch: too many changed files to check code owners (over " +
                         std::to_string(kMaxCodeownerPaths) + ")");
  auto approvers = tally_reviews(view, repo, pull, rule).approvers;
  for (const auto& path : *paths) {
    const CodeownersRule* r = codeowners_for(*file, path);
    if (!r) continue;
    bool resolvable = false, approved = false;
    for (const auto& o : r->owners) {
      auto c = check_owner(view, o, approvers);
      resolvable |= c.resolvable;
      approved |= c.approved;
    }
    if (resolvable && !approved)
      return not_mergeable("protected branch: review required from code owners (" + r->pattern +
                           " owned by " + join_owners(r->owners) + ")");
  }
  return Status::Ok();
}

Status check_merge(const StateView& view, const Transaction& tx, const MergePullRequest& b,
                   const FactsUse& use) {
  auto repo = view.repo(b.repo_id);
  if (!repo) return Status::Ok();
  auto pull = view.issue(repo->id, b.number);
  if (!pull) return Status::Ok();
  auto rules = protection_rules(view, repo->id);
  const ProtectionRule* rule = applicable_rule(rules, pull->base_ref);
  if (!rule) return Status::Ok();
  const Permission level = view.permission(*repo, tx.author);
  if (level >= Permission::kAdmin && !rule->enforce_admins) return Status::Ok();
  ProtectionSubject x = merge_subject(view, *repo, *pull, tx.author, level, *rule);
  Facts f{use, repo->id};
  if (rule->require_status_checks && rule->strict) {
    x.head_contains_base = f.is_ancestor(b.base_old, b.head_sha, "the pull request");
    if (!f.unavailable.ok()) return f.unavailable;
  }
  if (rule->required_linear_history) {
    // From the objects: the commits the merge puts on the base branch.
    auto merges =
        f.known(use.facts->has_merge_commits(repo->id, b.base_old, b.merge_sha), "the merge");
    if (!f.unavailable.ok()) return f.unavailable;
    if (merges) x.linear = !*merges;
  }
  if (rule->required_signatures) {
    // The pull request's commits must be signed; the merge or squash commit the node writes
    // for the merger is accepted as GitHub accepts its own web-flow commits. A rebase rewrites
    // the commits: every commit it adds must be signed (in practice: refused, as on GitHub).
    const Bytes& tip = b.method == kMergeRebase ? b.merge_sha : b.head_sha;
    x.signed_commits =
        f.known(use.facts->all_commits_signed(repo->id, b.base_old, tip), "the pull request");
    if (!f.unavailable.ok()) return f.unavailable;
  }
  if (auto why = protection_denial(*rule, x)) return not_mergeable(*why);
  if (rule->require_reviews && rule->require_code_owner_reviews)
    return check_code_owners(view, *repo, *pull, b, *rule, f);
  return Status::Ok();
}

}  // namespace

Status protection_fact_check(const StateView& before, const Transaction& tx, const FactsUse& use) {
  if (!use.facts) return Status::Ok();
  if (const auto* push = std::get_if<UpdateRefs>(&tx.body))
    return check_push(before, tx, *push, use);
  if (const auto* merge = std::get_if<MergePullRequest>(&tx.body))
    return check_merge(before, tx, *merge, use);
  return Status::Ok();
}

}  // namespace guts::state
