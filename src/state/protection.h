// Branch protection and commit statuses (issue 14 §3; docs/governance.md "Branch protection").
//
// A protection rule belongs to a repository and a branch pattern (fnmatch-style like GitHub:
// `main`, `release/*`, `**`); it is replicated state, set and deleted by signed transactions
// (kinds 34, 35) and enforced by the state machine on every validator: a push (UpdateRefs) or a
// pull-request merge (MergePullRequest) that breaks it is an invalid transaction, so a block
// containing one is refused by Chain::verify. Commit statuses (kind 36) are what required
// status checks read.
//
// Layout, in the `governance` family (tags next to state/org_view.cpp's):
//   B·be64(repo)·pattern                  → ProtectionRule
//   S·be64(repo)·u8(len)·sha·context      → CommitStatus (the latest per context)
//
// Evaluation is one pure function, `protection_denial(rule, subject)`, used by the push path
// (ref_change_denial in state/permission.cpp) and the merge path (collab_exec.cpp); the
// state-reading wrappers `push_protection_denial` and `merge_protection_denial` build its
// subject and are what other features (quorum proposals) call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

class StateView;
struct Repo;
struct Issue;
struct RefChange;
struct Transaction;
struct FactsUse;
enum class Permission;

inline constexpr size_t kMaxProtectionPattern = 255;
inline constexpr size_t kMaxStatusContexts = 100;
inline constexpr size_t kMaxStatusContext = 255;
inline constexpr size_t kMaxRestrictionEntries = 100;
inline constexpr size_t kMaxStatusDescription = 1024;
inline constexpr size_t kMaxStatusUrl = 2048;
inline constexpr uint8_t kMaxRequiredReviews = 6;

// Commit status states (numeric values are part of the encodings).
enum StatusState : uint8_t {
  kStatusPending = 1,
  kStatusSuccess = 2,
  kStatusFailure = 3,
  kStatusError = 4,
};
const char* status_state_name(uint8_t state);  // "pending", "success", "failure", "error"
std::optional<uint8_t> status_state_of(std::string_view name);

// One rule; GitHub's objects that may be null are a presence flag plus their fields.
struct ProtectionRule {
  uint64_t repo_id = 0;
  std::string pattern;
  // required_pull_request_reviews (present: changes go through pull requests).
  bool require_reviews = false;
  uint8_t required_approving_review_count = 0;  // 0..6
  bool dismiss_stale_reviews = false;
  bool require_code_owner_reviews = false;
  // required_status_checks.
  bool require_status_checks = false;
  bool strict = false;
  std::vector<std::string> contexts;
  bool enforce_admins = false;
  bool allow_force_pushes = false;
  bool allow_deletions = false;
  bool required_linear_history = false;
  bool required_signatures = false;
  // restrictions (present: only these users and teams may push or merge).
  bool restrict_pushes = false;
  std::vector<crypto::PublicKey> users;
  std::vector<uint64_t> teams;
  uint64_t updated_ms = 0;  // record only (0 in a transaction body)
  bool operator==(const ProtectionRule&) const = default;
};

struct CommitStatus {
  uint64_t repo_id = 0;
  Bytes sha;
  uint8_t state = kStatusPending;
  std::string context = "default";
  std::string description;
  std::string target_url;
  crypto::PublicKey creator{};
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
  bool operator==(const CommitStatus&) const = default;
};

// ---- transaction bodies ----

// Creates or replaces the rule for (repo, pattern). Admin permission.
struct SetBranchProtection {
  ProtectionRule rule;  // updated_ms ignored
};
// Admin permission; the rule must exist.
struct DeleteBranchProtection {
  uint64_t repo_id = 0;
  std::string pattern;
};
// Write permission. Replaces the status of (sha, context).
struct SetCommitStatus {
  uint64_t repo_id = 0;
  Bytes sha;
  uint8_t state = kStatusPending;
  std::string context = "default";
  std::string description;
  std::string target_url;
};

template <typename T>
inline constexpr bool kIsProtectionBody =
    std::is_same_v<T, SetBranchProtection> || std::is_same_v<T, DeleteBranchProtection> ||
    std::is_same_v<T, SetCommitStatus>;

// ---- codec ----

void encode_protection_body(codec::Writer& w, const SetBranchProtection& b);
void encode_protection_body(codec::Writer& w, const DeleteBranchProtection& b);
void encode_protection_body(codec::Writer& w, const SetCommitStatus& b);
template <typename T>
T decode_protection_body(codec::Reader& r);  // throws codec::DecodeError

std::string encode_protection_rule(const ProtectionRule& rule);
ProtectionRule decode_protection_rule(std::string_view data);
std::string encode_commit_status(const CommitStatus& s);
CommitStatus decode_commit_status(std::string_view data);

// ---- keys and reads ----

std::string protection_key(uint64_t repo_id, std::string_view pattern);
std::string protection_prefix(uint64_t repo_id);
std::string commit_status_key(uint64_t repo_id, const Bytes& sha, std::string_view context);
std::string commit_status_prefix(uint64_t repo_id, const Bytes& sha);

std::vector<ProtectionRule> protection_rules(const StateView& view, uint64_t repo_id);
std::optional<ProtectionRule> protection_rule(const StateView& view, uint64_t repo_id,
                                              std::string_view pattern);
std::vector<CommitStatus> commit_statuses(const StateView& view, uint64_t repo_id,
                                          const Bytes& sha);

// ---- patterns ----

// fnmatch-style: `*` any run of characters except '/', `**` any run, `?` one character except
// '/', `[abc]`/`[a-z]`/`[!x]` a class; everything else literal.
bool branch_pattern_matches(std::string_view pattern, std::string_view branch);
// "" when well-formed, else why not.
std::string branch_pattern_error(std::string_view pattern);
// The one rule that applies to `branch` among `rules`: an exact name wins, otherwise the
// matching pattern with the most literal characters (ties: the smallest pattern bytewise).
const ProtectionRule* applicable_rule(const std::vector<ProtectionRule>& rules,
                                      std::string_view branch);

// ---- evaluation ----

// Everything the rule looks at, gathered by the caller (pure data: the decision is a function
// of it and of the rule only).
struct ProtectionSubject {
  enum Kind : uint8_t { kPush, kMerge } kind = kPush;
  bool admin = false;           // effective permission is admin
  bool allowed_pusher = false;  // named in restrictions (user or one of their teams)
  // Push.
  bool creation = false;
  bool deletion = false;
  bool force = false;
  // The commit that would become the branch tip (push: new oid, merge: the pull request's head):
  // its statuses, context → state.
  std::map<std::string, uint8_t> statuses;
  // Merge.
  uint32_t approvals = 0;  // counting approvals (latest per reviewer with write access)
  bool changes_requested = false;
  // Git facts (state::GitFacts, docs/governance.md): unknown when not consulted.
  std::optional<bool> head_contains_base;  // strict status checks
  std::optional<bool> linear;              // no merge commits in the new range
  std::optional<bool> signed_commits;      // every new commit signed
  std::string base_branch;                 // merge: the pull request's base (messages)
};

// nullopt when the rule allows it; else the reason, "protected branch: ..." (what git prints
// in `! [remote rejected] <ref> (<reason>)`, and the API's message).
std::optional<std::string> protection_denial(const ProtectionRule& rule,
                                             const ProtectionSubject& subject);

// The state-reading wrappers. `level` is `who`'s effective permission on `repo`.
std::optional<std::string> push_protection_denial(const StateView& view, const Repo& repo,
                                                  const crypto::PublicKey& who, Permission level,
                                                  const RefChange& change, bool force);
std::optional<std::string> merge_protection_denial(const StateView& view, const Repo& repo,
                                                   const Issue& pull, const crypto::PublicKey& who,
                                                   Permission level);
// Approvals that count on `pull` under `rule` (latest review per reviewer, reviewers with write
// permission, stale approvals dropped when dismiss_stale_reviews), and whether a latest review
// requests changes.
struct ReviewTally {
  uint32_t approvals = 0;
  bool changes_requested = false;
  std::vector<crypto::PublicKey> approvers;  // the reviewers counted in `approvals`
};
ReviewTally tally_reviews(const StateView& view, const Repo& repo, const Issue& pull,
                          const ProtectionRule& rule);
// The latest state per context for `sha` (what the combined status reads), as required checks
// see it: a success written by a runner the repository does not trust (state/runner_policy.h)
// counts as pending.
std::map<std::string, uint8_t> status_map(const StateView& view, uint64_t repo_id,
                                          const Bytes& sha);
// The subjects the wrappers above evaluate (facts unknown), for callers that add git facts.
ProtectionSubject push_subject(const StateView& view, const Repo& repo,
                               const crypto::PublicKey& who, Permission level,
                               const RefChange& change, bool force, const ProtectionRule& rule);
ProtectionSubject merge_subject(const StateView& view, const Repo& repo, const Issue& pull,
                                const crypto::PublicKey& who, Permission level,
                                const ProtectionRule& rule);

// The rules that need git facts (state/git_facts.h; protection_facts.cpp), for `tx` against the
// state before it, after the rest of its validity passed: on a push, force detected from the
// objects (!is_ancestor(old, new), whatever the pusher claimed; also the repository's
// allow_force_push), linear history and signatures of the new commits; on a merge, `strict`
// checks, linear history, signatures and code owners' approvals. Ok for other kinds. A fact
// that is unknown refuses with kUnavailable when `use.unknown_refuses`, else passes.
Status protection_fact_check(const StateView& before, const Transaction& tx, const FactsUse& use);
// GitHub's combined state: failure if any failure/error, pending if any pending or none,
// else success.
uint8_t combined_state(const std::vector<CommitStatus>& statuses);

}  // namespace guts::state
