// Typed reads of state over any KvReader: the committed database (API queries) or an
// execution overlay (validity checks). One place knows the key layout.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "state/collab.h"
#include "state/kv.h"
#include "state/org.h"
#include "state/records.h"

namespace guts::state {

enum class Permission { kNone = 0, kRead, kTriage, kWrite, kMaintain, kAdmin };
const char* permission_name(Permission p);

class StateView {
 public:
  StateView(const Schema& schema, const KvReader& kv) : s_(schema), kv_(kv) {}

  std::optional<Account> account(const crypto::PublicKey& key) const;
  std::optional<Account> account_by_username(std::string_view username) const;
  std::optional<Delegation> delegation(const crypto::PublicKey& author,
                                       const crypto::PublicKey& node) const;
  std::vector<Delegation> delegations_of(const crypto::PublicKey& author) const;
  // Last nonce used by (author, signer); 0 when none.
  uint64_t nonce(const crypto::PublicKey& author, const crypto::PublicKey& signer) const;

  std::optional<Repo> repo(uint64_t id) const;
  std::optional<Repo> repo_by_name(const crypto::PublicKey& owner, std::string_view name) const;
  // Repositories of an owner, ordered by folded name.
  std::vector<Repo> repos_of(const crypto::PublicKey& owner) const;
  uint64_t next_repo_id() const;
  uint64_t next_account_id() const;

  std::optional<Bytes> ref(uint64_t repo_id, std::string_view ref) const;
  std::vector<std::pair<std::string, Bytes>> refs(uint64_t repo_id) const;

  // What `who` may do with `repo`: state::effective_permission (state/permission.h), the one
  // function every check uses.
  Permission permission(const Repo& repo, const std::optional<crypto::PublicKey>& who) const;

  // ---- governance (state/org.h; implemented in org_view.cpp) ----
  std::optional<Org> org(const crypto::PublicKey& key) const;
  std::optional<Org> org_by_login(std::string_view login) const;
  std::optional<OrgMembership> org_membership(const crypto::PublicKey& org,
                                              const crypto::PublicKey& user) const;
  // Every membership of the organization (active and pending), by user key.
  std::vector<OrgMembership> org_members(const crypto::PublicKey& org) const;
  // Every membership (active and pending) of the user.
  std::vector<OrgMembership> orgs_of(const crypto::PublicKey& user) const;
  // Active owners of the organization.
  size_t org_owner_count(const crypto::PublicKey& org) const;
  std::optional<Team> team(uint64_t id) const;
  std::optional<Team> team_by_slug(const crypto::PublicKey& org, std::string_view slug) const;
  std::vector<Team> teams_of_org(const crypto::PublicKey& org) const;  // by id
  std::vector<uint64_t> child_teams(uint64_t parent_id) const;
  std::optional<TeamMember> team_member(uint64_t team_id, const crypto::PublicKey& user) const;
  std::vector<TeamMember> team_members(uint64_t team_id) const;
  std::vector<uint64_t> teams_of_user(const crypto::PublicKey& user) const;
  std::optional<TeamRepo> team_repo(uint64_t team_id, uint64_t repo_id) const;
  std::vector<TeamRepo> team_repos(uint64_t team_id) const;
  std::vector<uint64_t> teams_of_repo(uint64_t repo_id) const;

  // ---- collaboration (state/collab.h; implemented in collab_view.cpp) ----
  std::optional<Collaborator> collaborator(uint64_t repo_id, const crypto::PublicKey& user) const;
  std::vector<Collaborator> collaborators(uint64_t repo_id) const;
  // The repository this one was forked from (which may since have been deleted).
  std::optional<uint64_t> fork_parent(uint64_t repo_id) const;
  std::vector<uint64_t> forks_of(uint64_t repo_id) const;
  // The root of the repository's fork network (itself when not a fork).
  uint64_t fork_root(uint64_t repo_id) const;

  std::optional<Issue> issue(uint64_t repo_id, uint64_t number) const;
  // Numbers of issues and pull requests (or only pull requests) newest first, in state 'o'
  // (open), 'c' (closed) or '*' (all), after skipping `skip`, at most `limit`.
  std::vector<uint64_t> issue_numbers(uint64_t repo_id, bool pulls_only, char state, size_t skip,
                                      size_t limit) const;
  uint64_t issue_count(uint64_t repo_id, bool pulls_only, char state) const;
  uint64_t last_issue_number(uint64_t repo_id) const;
  std::optional<Comment> comment(uint64_t id) const;
  // Comments of one kind on an issue or pull request, oldest first.
  std::vector<Comment> comments_of(uint64_t repo_id, uint64_t number, uint8_t kind) const;
  std::vector<Label> labels(uint64_t repo_id) const;  // by id
  std::optional<Label> label(uint64_t repo_id, uint64_t id) const;
  std::optional<Label> label_by_name(uint64_t repo_id, std::string_view name) const;  // any case
  std::optional<Milestone> milestone(uint64_t repo_id, uint64_t number) const;
  std::vector<Milestone> milestones(uint64_t repo_id) const;
  std::vector<Reaction> reactions(uint64_t repo_id, uint8_t target_type, uint64_t target_id) const;
  // Per-content totals of a target's reactions (one read; kept by SetReaction).
  ReactionCounts reaction_counts(uint64_t repo_id, uint8_t target_type, uint64_t target_id) const;
  static std::string reaction_counts_key(uint64_t repo_id, uint8_t type, uint64_t target);
  std::optional<Review> review(uint64_t repo_id, uint64_t number, uint64_t id) const;
  std::vector<Review> reviews_of(uint64_t repo_id, uint64_t number) const;
  std::vector<Revision> revisions(uint64_t repo_id, uint64_t number) const;
  // (repo id, number) of the pull requests whose head is `branch` of `head_repo`.
  std::vector<std::pair<uint64_t, uint64_t>> pulls_with_head(uint64_t head_repo,
                                                             std::string_view branch) const;
  // What a collaboration transaction created (issue or pull request number, comment, review,
  // label or reaction id, milestone number, fork repository id), by transaction id.
  std::optional<uint64_t> receipt(const Digest& tx_id) const;
  // A chain-wide id counter in `meta` (next value; starts at 1).
  uint64_t next_id(std::string_view counter) const;

  // Key builders (shared with the executor's writes).
  static std::string nonce_key(const crypto::PublicKey& a, const crypto::PublicKey& s);
  static std::string repo_key(uint64_t id);
  static std::string repo_name_key(const crypto::PublicKey& owner, std::string_view name);
  static std::string ref_key(uint64_t repo_id, std::string_view ref);
  static constexpr std::string_view kNextRepoId = "next_repo_id";
  // Collaboration keys.
  static std::string collaborator_key(uint64_t repo_id, const crypto::PublicKey& user);
  static std::string fork_parent_key(uint64_t repo_id);
  static std::string fork_child_key(uint64_t parent_id, uint64_t child_id);
  static std::string issue_key(uint64_t repo_id, uint64_t number);
  static std::string issue_index_key(uint64_t repo_id, char tag, char state, uint64_t number);
  static std::string issue_count_key(uint64_t repo_id, char tag, char state);
  static std::string issue_seq_key(uint64_t repo_id);
  static std::string comment_key(uint64_t id);
  static std::string comment_index_key(uint64_t repo_id, uint64_t number, uint8_t kind,
                                       uint64_t id);
  static std::string label_key(uint64_t repo_id, uint64_t id);
  static std::string milestone_key(uint64_t repo_id, uint64_t number);
  static std::string milestone_seq_key(uint64_t repo_id);
  static std::string reaction_key(uint64_t repo_id, uint8_t type, uint64_t target,
                                  const crypto::PublicKey& user, std::string_view content);
  static std::string review_key(uint64_t repo_id, uint64_t number, uint64_t id);
  static std::string revision_key(uint64_t repo_id, uint64_t number, uint64_t index);
  static std::string pull_head_key(uint64_t head_repo, std::string_view branch, uint64_t repo_id,
                                   uint64_t number);
  static constexpr std::string_view kNextIssueId = "next_issue_id";
  static constexpr std::string_view kNextCommentId = "next_comment_id";
  static constexpr std::string_view kNextLabelId = "next_label_id";
  static constexpr std::string_view kNextMilestoneId = "next_milestone_id";
  static constexpr std::string_view kNextReactionId = "next_reaction_id";
  static constexpr std::string_view kNextReviewId = "next_review_id";
  static constexpr std::string_view kNextAccountId = "next_account_id";
  // Governance keys (one family, tagged: docs/governance.md §5).
  static std::string org_key_of(const crypto::PublicKey& org);  // 'o' org
  static std::string org_member_key(const crypto::PublicKey& org, const crypto::PublicKey& user);
  static std::string user_org_key(const crypto::PublicKey& user, const crypto::PublicKey& org);
  static std::string team_key(uint64_t id);
  static std::string team_slug_key(const crypto::PublicKey& org, std::string_view slug);
  static std::string org_team_key(const crypto::PublicKey& org, uint64_t id);
  static std::string team_child_key(uint64_t parent, uint64_t child);
  static std::string team_member_key(uint64_t team, const crypto::PublicKey& user);
  static std::string user_team_key(const crypto::PublicKey& user, uint64_t team);
  static std::string team_repo_key(uint64_t team, uint64_t repo);
  static std::string repo_team_key(uint64_t repo, uint64_t team);
  static constexpr std::string_view kNextTeamId = "next_team_id";

  // The state read: features keep their own reads in their own files (reputation.cpp,
  // hooks.cpp, protection.cpp, repo_seeds_exec.cpp, proposal_exec.cpp).
  const Schema& schema() const { return s_; }
  const KvReader& kv() const { return kv_; }

 private:
  const Schema& s_;
  const KvReader& kv_;
};

}  // namespace guts::state
