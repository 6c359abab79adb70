// Validity and application of the branch-protection and commit-status transactions, and the
// state-reading side of protection (state/protection.h; docs/governance.md "Branch protection").
// Rejections name the offending field as "<field>: <reason>" (422 with field errors), unknown
// repositories, rules, users and teams are kNotFound or field errors, missing rights
// kPermissionDenied (403).
#include <algorithm>
#include <set>

#include "crypto/did.h"
#include "state/executor.h"
#include "state/permission.h"
#include "state/protection.h"
#include "state/protection_view.h"
#include "state/rejections.h"
#include "state/rules.h"
#include "state/runner_policy.h"
#include "state/view.h"

namespace guts::state {

// ---- keys and reads ----

std::string protection_prefix(uint64_t repo_id) {
  return "B" + storage::be64(repo_id);
}
std::string protection_key(uint64_t repo_id, std::string_view pattern) {
  return protection_prefix(repo_id) + std::string(pattern);
}
std::string commit_status_prefix(uint64_t repo_id, const Bytes& sha) {
  return "S" + storage::be64(repo_id) + std::string(1, static_cast<char>(sha.size())) + key_of(sha);
}
std::string commit_status_key(uint64_t repo_id, const Bytes& sha, std::string_view context) {
  return commit_status_prefix(repo_id, sha) + std::string(context);
}

std::vector<ProtectionRule> protection_rules(const StateView& view, uint64_t repo_id) {
  std::vector<ProtectionRule> out;
  view.kv().scan_prefix(view.schema().governance, protection_prefix(repo_id),
                        [&](std::string_view, std::string_view v) {
                          out.push_back(decode_protection_rule(v));
                          return true;
                        });
  return out;
}

std::optional<ProtectionRule> protection_rule(const StateView& view, uint64_t repo_id,
                                              std::string_view pattern) {
  auto v = view.kv().get(view.schema().governance, protection_key(repo_id, pattern));
  if (!v) return std::nullopt;
  return decode_protection_rule(*v);
}

std::vector<CommitStatus> commit_statuses(const StateView& view, uint64_t repo_id,
                                          const Bytes& sha) {
  std::vector<CommitStatus> out;
  if (sha.empty()) return out;
  view.kv().scan_prefix(view.schema().governance, commit_status_prefix(repo_id, sha),
                        [&](std::string_view, std::string_view v) {
                          out.push_back(decode_commit_status(v));
                          return true;
                        });
  return out;
}

bool branch_is_protected(const StateView& view, uint64_t repo_id, std::string_view branch) {
  auto rules = protection_rules(view, repo_id);
  return applicable_rule(rules, branch) != nullptr;
}

std::map<std::string, uint8_t> status_map(const StateView& view, uint64_t repo_id,
                                          const Bytes& sha) {
  std::map<std::string, uint8_t> out;
  // A runner's status counts only when the repository trusts the runner (runner_policy.h); an
  // untrusted runner's success is seen as pending.
  for (auto& s : commit_statuses(view, repo_id, sha))
    out[s.context] =
        s.state == kStatusSuccess && !status_trusted(view, s) ? uint8_t{kStatusPending} : s.state;
  return out;
}

namespace {

bool allowed_pusher(const StateView& view, const ProtectionRule& rule,
                    const crypto::PublicKey& who) {
  if (!rule.restrict_pushes) return true;
  if (std::find(rule.users.begin(), rule.users.end(), who) != rule.users.end()) return true;
  if (rule.teams.empty()) return false;
  for (uint64_t id : view.teams_of_user(who)) {
    if (std::find(rule.teams.begin(), rule.teams.end(), id) != rule.teams.end()) return true;
    auto t = view.team(id);  // a child team's members count for its parent
    if (t && t->parent_id &&
        std::find(rule.teams.begin(), rule.teams.end(), t->parent_id) != rule.teams.end())
      return true;
  }
  return false;
}

}  // namespace

ProtectionSubject push_subject(const StateView& view, const Repo& repo,
                               const crypto::PublicKey& who, Permission level,
                               const RefChange& change, bool force, const ProtectionRule& rule) {
  ProtectionSubject x;
  x.kind = ProtectionSubject::kPush;
  x.admin = level >= Permission::kAdmin;
  x.allowed_pusher = allowed_pusher(view, rule, who);
  x.creation = change.old_oid.empty();
  x.deletion = change.new_oid.empty();
  x.force = force && !x.creation && !x.deletion;
  if (rule.require_status_checks && !x.deletion)
    x.statuses = status_map(view, repo.id, change.new_oid);
  return x;
}

std::optional<std::string> push_protection_denial(const StateView& view, const Repo& repo,
                                                  const crypto::PublicKey& who, Permission level,
                                                  const RefChange& change, bool force) {
  constexpr std::string_view kHeads = "refs/heads/";
  if (!change.ref.starts_with(kHeads)) return std::nullopt;
  std::string_view branch = std::string_view(change.ref).substr(kHeads.size());
  auto rules = protection_rules(view, repo.id);
  const ProtectionRule* rule = applicable_rule(rules, branch);
  if (!rule) return std::nullopt;
  return protection_denial(*rule, push_subject(view, repo, who, level, change, force, *rule));
}

ReviewTally tally_reviews(const StateView& view, const Repo& repo, const Issue& pull,
                          const ProtectionRule& rule) {
  // Latest approving / changes-requesting review per reviewer (ids ascend with time; a
  // COMMENTED review does not replace a verdict, as on GitHub).
  std::map<crypto::PublicKey, Review> latest;
  for (auto& r : view.reviews_of(repo.id, pull.number)) {
    if (r.state == kReviewComment) continue;
    latest[r.author] = std::move(r);
  }
  ReviewTally t;
  for (const auto& [who, r] : latest) {
    if (r.state == kReviewDismissed) continue;
    if (who == pull.author) continue;
    if (view.permission(repo, who) < Permission::kWrite) continue;
    if (r.state == kReviewRequestChanges) {
      t.changes_requested = true;
      continue;
    }
    if (r.state != kReviewApprove) continue;
    if (rule.dismiss_stale_reviews && r.commit_sha != pull.head_sha) continue;
    ++t.approvals;
    t.approvers.push_back(who);
  }
  return t;
}

ProtectionSubject merge_subject(const StateView& view, const Repo& repo, const Issue& pull,
                                const crypto::PublicKey& who, Permission level,
                                const ProtectionRule& rule) {
  ProtectionSubject x;
  x.kind = ProtectionSubject::kMerge;
  x.admin = level >= Permission::kAdmin;
  x.allowed_pusher = allowed_pusher(view, rule, who);
  x.base_branch = pull.base_ref;
  if (rule.require_status_checks) x.statuses = status_map(view, repo.id, pull.head_sha);
  if (rule.require_reviews) {
    auto t = tally_reviews(view, repo, pull, rule);
    x.approvals = t.approvals;
    x.changes_requested = t.changes_requested;
  }
  return x;
}

std::optional<std::string> merge_protection_denial(const StateView& view, const Repo& repo,
                                                   const Issue& pull, const crypto::PublicKey& who,
                                                   Permission level) {
  auto rules = protection_rules(view, repo.id);
  const ProtectionRule* rule = applicable_rule(rules, pull.base_ref);
  if (!rule) return std::nullopt;
  return protection_denial(*rule, merge_subject(view, repo, pull, who, level, *rule));
}

namespace {

using reject::denied;
using reject::invalid;
using reject::not_found;

Status field(const std::string& name, const std::string& why) {
  return invalid(name + ": " + why);
}

bool valid_sha(const Bytes& b) {
  return b.size() == 20 || b.size() == 32;
}

}  // namespace

Status Executor::apply_protection(Overlay& state, const Transaction& tx) const {
  StateView view(s_, state);
  const auto& author = tx.author;
  const uint64_t now = ctx_.timestamp_ms;
  auto repo_with = [&](uint64_t id, Permission need, Repo* out) -> Status {
    auto repo = view.repo(id);
    if (!repo) return not_found("repository " + std::to_string(id) + " does not exist");
    auto have = view.permission(*repo, author);
    if (have == Permission::kNone)
      return not_found("repository " + std::to_string(id) + " does not exist");
    if (have < need) {
      if (need == Permission::kAdmin) return denied("Must have admin rights to Repository.");
      return denied(std::string("requires ") + permission_name(need) +
                    " permission on the repository");
    }
    *out = std::move(*repo);
    return Status::Ok();
  };
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, SetBranchProtection>) {
          ProtectionRule rule = b.rule;
          Repo repo;
          if (auto st = repo_with(rule.repo_id, Permission::kAdmin, &repo); !st.ok()) return st;
          if (auto e = branch_pattern_error(rule.pattern); !e.empty()) return field("branch", e);
          if (rule.required_approving_review_count > kMaxRequiredReviews)
            return field("required_approving_review_count", "must be between 0 and 6");
          if (!rule.require_reviews &&
              (rule.required_approving_review_count || rule.dismiss_stale_reviews ||
               rule.require_code_owner_reviews))
            return field("required_pull_request_reviews", "review settings without reviews");
          if (!rule.require_status_checks && (rule.strict || !rule.contexts.empty()))
            return field("required_status_checks", "check settings without status checks");
          std::set<std::string> seen;
          for (const auto& c : rule.contexts) {
            if (c.empty() || c.size() > kMaxStatusContext)
              return field("contexts", "a context must be 1-255 bytes");
            if (!seen.insert(c).second) return field("contexts", "\"" + c + "\" is listed twice");
          }
          if (!rule.restrict_pushes && (!rule.users.empty() || !rule.teams.empty()))
            return field("restrictions", "users or teams without restrictions");
          if (rule.restrict_pushes) {
            auto org = view.org(repo.owner);
            if (!org)
              return field("restrictions",
                           "Only organization repositories can have users and team "
                           "restrictions");
            for (const auto& u : rule.users) {
              auto a = view.account(u);
              if (!a || a->is_org)
                return field("restrictions", "user " + crypto::did_from_key(u) + " is not a user");
            }
            for (uint64_t id : rule.teams) {
              auto t = view.team(id);
              if (!t || t->org != org->key)
                return field("restrictions",
                             "team " + std::to_string(id) + " is not a team of " + org->login);
            }
            std::sort(rule.users.begin(), rule.users.end());
            rule.users.erase(std::unique(rule.users.begin(), rule.users.end()), rule.users.end());
            std::sort(rule.teams.begin(), rule.teams.end());
            rule.teams.erase(std::unique(rule.teams.begin(), rule.teams.end()), rule.teams.end());
          }
          rule.updated_ms = now;
          state.put(s_.governance, protection_key(repo.id, rule.pattern),
                    encode_protection_rule(rule));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DeleteBranchProtection>) {
          Repo repo;
          if (auto st = repo_with(b.repo_id, Permission::kAdmin, &repo); !st.ok()) return st;
          if (!protection_rule(view, repo.id, b.pattern)) return not_found("Branch not protected");
          state.del(s_.governance, protection_key(repo.id, b.pattern));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SetCommitStatus>) {
          Repo repo;
          if (auto st = repo_with(b.repo_id, Permission::kWrite, &repo); !st.ok()) return st;
          if (!valid_sha(b.sha)) return field("sha", "is not an object id");
          if (b.state < kStatusPending || b.state > kStatusError)
            return field("state", "must be one of error, failure, pending, success");
          if (b.context.empty() || b.context.size() > kMaxStatusContext)
            return field("context", "must be 1-255 bytes");
          if (b.description.size() > kMaxStatusDescription)
            return field("description", "is longer than 1024 bytes");
          if (b.target_url.size() > kMaxStatusUrl)
            return field("target_url", "is longer than 2048 bytes");
          CommitStatus s;
          auto key = commit_status_key(repo.id, b.sha, b.context);
          if (auto old = state.get(s_.governance, key))
            s.created_ms = decode_commit_status(*old).created_ms;
          else
            s.created_ms = now;
          s.repo_id = repo.id;
          s.sha = b.sha;
          s.state = b.state;
          s.context = b.context;
          s.description = b.description;
          s.target_url = b.target_url;
          s.creator = author;
          s.updated_ms = now;
          state.put(s_.governance, key, encode_commit_status(s));
          return Status::Ok();
        } else {
          return invalid("not a branch-protection transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
