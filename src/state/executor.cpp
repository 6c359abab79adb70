#include "state/executor.h"

#include <set>

#include "crypto/did.h"
#include "state/artifact_state.h"
#include "state/ci_runner_state.h"
#include "state/lfs_state.h"
#include "state/nostr_binding_state.h"
#include "state/permission.h"
#include "state/placeholder_state.h"
#include "state/proposal_actions.h"
#include "state/protection.h"
#include "state/rejections.h"
#include "state/repo_seeds_state.h"
#include "state/reputation.h"
#include "state/rules.h"
#include "state/runner_policy_state.h"
#include "state/ssh_keys_state.h"
#include "state/validator_set_state.h"
#include "state/view.h"

namespace guts::state {

namespace {

using reject::conflict;
using reject::denied;
using reject::invalid;
using reject::not_found;
using reject::taken;

uint64_t required_scope(TxKind kind) {
  switch (kind) {
    case TxKind::kCreateRepo:
    case TxKind::kUpdateRepo:
    case TxKind::kDeleteRepo:
      return kScopeRepo;
    case TxKind::kUpdateRefs:
      return kScopePush;
    case TxKind::kSetCollaborator:
    case TxKind::kForkRepo:
      return kScopeRepo;
    case TxKind::kMergePullRequest:
      return kScopePush;  // moves the base branch
    case TxKind::kCreateOrg:
    case TxKind::kUpdateOrg:
    case TxKind::kSetOrgMember:
    case TxKind::kAnswerOrgInvite:
    case TxKind::kCreateTeam:
    case TxKind::kUpdateTeam:
    case TxKind::kDeleteTeam:
    case TxKind::kSetTeamMember:
    case TxKind::kSetTeamRepo:
    case TxKind::kCreateOrgRepo:
    case TxKind::kTransferRepo:
      return kScopeRepo;  // administration, like collaborators
    case TxKind::kCreateHook:
    case TxKind::kUpdateHook:
    case TxKind::kDeleteHook:
      return kScopeRepo;  // webhooks: repository/organization administration
    case TxKind::kSetBranchProtection:
    case TxKind::kDeleteBranchProtection:
      return kScopeRepo;
    case TxKind::kSetCommitStatus:
      return kScopePush;  // CI reporting on commits
    case TxKind::kSetRepoSeeds:
      return kScopeRepo;
    case TxKind::kLfsAddObjects:
    case TxKind::kLfsCreateLock:
    case TxKind::kLfsDeleteLock:
      return kScopePush;  // Git LFS: part of pushing
    case TxKind::kCreateIssue:
    case TxKind::kEditIssue:
    case TxKind::kCreateComment:
    case TxKind::kEditComment:
    case TxKind::kDeleteComment:
    case TxKind::kSetLabel:
    case TxKind::kSetMilestone:
    case TxKind::kSetReaction:
    case TxKind::kOpenPullRequest:
    case TxKind::kSubmitReview:
    case TxKind::kCreateReviewComment:
    case TxKind::kDismissReview:
      return kScopeCollab;
    // Reputation: interaction limits are administration.
    case TxKind::kSetInteractionLimit:
    // Quorum decisions (state/proposal.h): administration.
    case TxKind::kSetQuorumPolicy:
    case TxKind::kCreateProposal:
    case TxKind::kVoteProposal:
    case TxKind::kCancelProposal:
      return kScopeRepo;
    // Releases: like a push (tags, published artifacts).
    case TxKind::kUpsertRelease:
    case TxKind::kDeleteRelease:
    case TxKind::kSetReleaseAsset:
      return kScopePush;
    // CI/CD: run requests, cancel and re-run come from a pusher's node; runner tokens are
    // administration; runner transactions (54-58) need the runner's own key.
    case TxKind::kRequestRuns:
    case TxKind::kRunAction:
    case TxKind::kSetSchedules:
      return kScopePush;
    // A scheduled run's trigger (kind 73) names nothing of anyone's: the author's own key.
    case TxKind::kCreateRunnerToken:
      return kScopeRepo;
    // CI runners: secrets are administration (a job's log: the runner's own key).
    case TxKind::kSetActionsSecret:
    case TxKind::kDeleteActionsSecret:
      return kScopeRepo;
    // SSH keys: account administration, like repositories.
    case TxKind::kAddSshKey:
    case TxKind::kDeleteSshKey:
      return kScopeRepo;
    // CI runner trust policy: repository administration.
    case TxKind::kSetRunnerPolicy:
      return kScopeRepo;
    // CI/CD artifacts: deleting one is like cancelling a run (creating: the runner's own key).
    case TxKind::kDeleteArtifact:
      return kScopePush;
    // Placeholder claims and their confirmation: account and repository administration.
    case TxKind::kClaimPlaceholder:
    case TxKind::kConfirmPlaceholder:
      return kScopeRepo;
    // A validator set change: administration of the governing organization.
    case TxKind::kSetValidatorSet:
      return kScopeRepo;
    default:
      return 0;  // identity operations: only the author's own key
  }
}

bool needs_own_key(TxKind kind) {
  return required_scope(kind) == 0;
}

std::string hex_oid(const Bytes& oid) {
  return oid.empty() ? "(none)" : hex_encode(oid);
}

}  // namespace

Status Executor::apply(Overlay& state, const Transaction& tx, const ApplyOptions& options) const {
  if (tx.chain_id != ctx_.chain_id)
    return invalid("transaction is for chain '" + tx.chain_id + "', this is '" + ctx_.chain_id +
                   "'");
  if (tx.timestamp_ms > ctx_.timestamp_ms + kMaxTxFutureMs)
    return invalid("transaction timestamp is in the future");
  if (tx.timestamp_ms + kMaxTxAgeMs < ctx_.timestamp_ms)
    return invalid("transaction timestamp is too old");
  // No separate curve check of the keys (it costs a scalar multiplication each): libsodium's
  // verification rejects non-canonical and small-order signer keys, and an author other than
  // the signer must hold a delegation, which only the author's own valid signature can create.
  if (!options.signature_verified && !tx.verify_signature()) return invalid("bad signature");

  StateView view(s_, state);
  uint64_t expected =
      options.expected_nonce ? *options.expected_nonce : view.nonce(tx.author, tx.signer) + 1;
  if (tx.nonce != expected)
    return invalid("nonce " + std::to_string(tx.nonce) + " is not the next one (expected " +
                   std::to_string(expected) + ")");

  TxKind kind = tx.kind();
  if (tx.signer != tx.author) {
    if (needs_own_key(kind))
      return denied(std::string(tx_kind_name(kind)) + " must be signed by the author's own key");
    auto d = view.delegation(tx.author, tx.signer);
    if (!d)
      return denied("signer " + crypto::did_from_key(tx.signer) +
                    " holds no delegation from the author");
    if (d->expires_ms <= ctx_.timestamp_ms) return denied("delegation has expired");
    if ((d->scopes & required_scope(kind)) == 0)
      return denied("delegation does not cover " + std::string(tx_kind_name(kind)));
  }

  // Layer on `state` through its reader interface (Overlay is not copyable).
  Overlay scratch(static_cast<const KvReader&>(state));
  Status st = apply_body(scratch, tx);
  if (!st.ok()) return st;
  // Branch-protection rules that need git facts, against the state before `tx` — on `tx`, and
  // on the action a proposal vote executes in it (state/proposal_actions.h).
  if (facts_.facts) {
    if (Status fs = protection_fact_check(view, tx, facts_); !fs.ok()) return fs;
    if (auto action = executed_action(view, StateView(s_, scratch), tx))
      if (Status fs = protection_fact_check(view, *action, facts_); !fs.ok()) return fs;
  }
  scratch.put(s_.nonces, StateView::nonce_key(tx.author, tx.signer), storage::be64(tx.nonce));
  scratch.merge_into(state);
  return Status::Ok();
}

Status Executor::apply_body(Overlay& state, const Transaction& tx, bool guarded) const {
  StateView view(s_, state);
  // Quorum decisions: the one place an action a policy covers is refused (state/proposal.h).
  if (guarded)
    if (auto why = quorum_refusal(view, tx)) return denied(*why);
  const auto& author = tx.author;
  const uint64_t now = ctx_.timestamp_ms;

  auto owned_repo = [&](uint64_t id, Permission needed) -> Result<Repo> {
    auto repo = view.repo(id);
    if (!repo) return not_found("repository " + std::to_string(id) + " does not exist");
    auto have = view.permission(*repo, author);
    if (have < needed) {
      if (have == Permission::kNone)
        return not_found("repository " + std::to_string(id) + " does not exist");
      return denied(std::string("requires ") + permission_name(needed) +
                    " permission on the repository");
    }
    return *repo;
  };

  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RegisterUser>) {
          if (auto e = username_error(b.username)) return invalid(*e);
          if (auto acct = view.account(author))
            return taken("identity already registered as '" + acct->username + "'");
          if (view.account_by_username(b.username))
            return taken("username '" + b.username + "' is already taken");
          uint64_t id = view.next_account_id();
          state.put(s_.meta, StateView::kNextAccountId, storage::be64(id + 1));
          state.put(s_.accounts, key_of(author), encode_account({id, author, b.username, now}));
          state.put(s_.usernames, fold_case(b.username), key_of(author));
          reputation::on_register(s_, state, author, ctx_.height, now);
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, GrantDelegation>) {
          if (!crypto::is_valid_public_key(b.node))
            return invalid("node key is not a valid public key");
          if (b.node == author) return invalid("an identity cannot delegate to itself");
          if (b.scopes == 0 || (b.scopes & ~uint64_t{kScopeAll}) != 0)
            return invalid("invalid scopes");
          if (b.expires_ms <= now) return invalid("delegation expiry is in the past");
          state.put(s_.delegations, key_of(author, b.node),
                    encode_delegation({author, b.node, b.scopes, b.expires_ms, now}));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, RevokeDelegation>) {
          if (!view.delegation(author, b.node)) return not_found("no such delegation");
          state.del(s_.delegations, key_of(author, b.node));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, CreateRepo>) {
          if (!view.account(author)) return denied("the author has no registered username");
          if (auto e = repo_name_error(b.name)) return invalid(*e);
          if (b.description.size() > 2000) return invalid("description is longer than 2000 bytes");
          if (auto e = branch_name_error(b.default_branch)) return invalid("default branch: " + *e);
          if (view.repo_by_name(author, b.name))
            return taken("name already exists on this account");
          Repo repo;
          repo.id = view.next_repo_id();
          repo.owner = author;
          repo.name = b.name;
          repo.description = b.description;
          repo.is_private = b.is_private;
          repo.default_branch = b.default_branch;
          repo.created_ms = repo.updated_ms = now;
          state.put(s_.meta, StateView::kNextRepoId, storage::be64(repo.id + 1));
          state.put(s_.repos, StateView::repo_key(repo.id), encode_repo(repo));
          state.put(s_.repo_names, StateView::repo_name_key(author, repo.name),
                    storage::be64(repo.id));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, UpdateRepo>) {
          auto r = owned_repo(b.repo_id, Permission::kAdmin);
          if (!r.ok()) return r.status();
          Repo repo = *r;
          if (b.name && *b.name != repo.name) {
            if (auto e = repo_name_error(*b.name)) return invalid(*e);
            auto existing = view.repo_by_name(repo.owner, *b.name);
            if (existing && existing->id != repo.id)
              return taken("name already exists on this account");
            state.del(s_.repo_names, StateView::repo_name_key(repo.owner, repo.name));
            state.put(s_.repo_names, StateView::repo_name_key(repo.owner, *b.name),
                      storage::be64(repo.id));
            repo.name = *b.name;
          }
          if (b.description) {
            if (b.description->size() > 2000)
              return invalid("description is longer than 2000 bytes");
            repo.description = *b.description;
          }
          if (b.is_private) repo.is_private = *b.is_private;
          if (b.default_branch) {
            if (auto e = branch_name_error(*b.default_branch))
              return invalid("default branch: " + *e);
            repo.default_branch = *b.default_branch;
          }
          if (b.allow_force_push) repo.allow_force_push = *b.allow_force_push;
          repo.updated_ms = now;
          state.put(s_.repos, StateView::repo_key(repo.id), encode_repo(repo));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DeleteRepo>) {
          auto r = owned_repo(b.repo_id, Permission::kAdmin);
          if (!r.ok()) return r.status();
          state.del(s_.repos, StateView::repo_key(r->id));
          state.del(s_.repo_names, StateView::repo_name_key(r->owner, r->name));
          for (const auto& [name, oid] : view.refs(r->id))
            state.del(s_.refs, StateView::ref_key(r->id, name));
          for (uint64_t team : view.teams_of_repo(r->id)) {
            state.del(s_.governance, StateView::team_repo_key(team, r->id));
            state.del(s_.governance, StateView::repo_team_key(r->id, team));
          }
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, UpdateRefs>) {
          auto r = owned_repo(b.repo_id, Permission::kWrite);
          if (!r.ok()) return r.status();
          if (b.changes.empty()) return invalid("no ref changes");
          std::set<std::string> seen;
          for (const auto& c : b.changes) {
            if (auto e = ref_name_error(c.ref)) return invalid(c.ref + ": " + *e);
            if (!seen.insert(c.ref).second) return invalid(c.ref + ": listed twice");
            if (c.old_oid.empty() && c.new_oid.empty())
              return invalid(c.ref + ": nothing to change");
            if (!c.old_oid.empty() && !c.new_oid.empty() && c.old_oid.size() != c.new_oid.size())
              return invalid(c.ref + ": object id lengths differ");
            auto current = view.ref(r->id, c.ref);
            Bytes cur = current ? *current : Bytes{};
            if (cur != c.old_oid)
              return conflict(c.ref + ": stale info (expected " + hex_oid(c.old_oid) + ", is " +
                              hex_oid(cur) + ")");
            if (auto why =
                    ref_change_denial(view, *r, author, view.permission(*r, author), c, b.force))
              return invalid(*why);
            if (c.new_oid.empty())
              state.del(s_.refs, StateView::ref_key(r->id, c.ref));
            else
              state.put(s_.refs, StateView::ref_key(r->id, c.ref), key_of(c.new_oid));
          }
          // After the per-ref rules, so a protected branch names its own rule.
          if (b.force && !r->allow_force_push)
            return denied("non-fast-forward updates are not allowed on this repository");
          Repo repo = *r;
          repo.pushed_ms = now;
          state.put(s_.repos, StateView::repo_key(repo.id), encode_repo(repo));
          for (const auto& c : b.changes) record_pull_heads(state, repo.id, c.ref, c.new_oid);
          return Status::Ok();
        } else if constexpr (kIsOrgBody<T>) {
          return apply_org(state, tx);
        } else if constexpr (std::is_same_v<T, SetInteractionLimit>) {
          return reputation::apply_set_interaction_limit(s_, state, tx, b, now);
        } else if constexpr (kIsHookBody<T>) {
          return apply_hooks(state, tx);
        } else if constexpr (kIsProtectionBody<T>) {
          return apply_protection(state, tx);
        } else if constexpr (std::is_same_v<T, SetRepoSeeds>) {
          return apply_set_repo_seeds(s_, state, tx, b);
        } else if constexpr (kIsProposalBody<T>) {
          return apply_proposal(state, tx);
        } else if constexpr (kIsReleaseBody<T>) {
          return apply_release(s_, state, tx, now);
        } else if constexpr (kIsCiBody<T>) {
          return apply_ci(state, tx);
        } else if constexpr (std::is_same_v<T, AddSshKey>) {
          return apply_add_ssh_key(s_, state, tx, b, now);
        } else if constexpr (std::is_same_v<T, DeleteSshKey>) {
          return apply_delete_ssh_key(s_, state, tx, b);
        } else if constexpr (kIsLfsBody<T>) {
          return apply_lfs(s_, state, tx, now);
        } else if constexpr (kIsCiRunnerBody<T>) {
          return apply_ci_runner(s_, state, tx, now);
        } else if constexpr (std::is_same_v<T, SetRunnerPolicy>) {
          return apply_set_runner_policy(s_, state, tx, b, now);
        } else if constexpr (kIsArtifactBody<T>) {
          return apply_artifact(s_, state, tx, now);
        } else if constexpr (std::is_same_v<T, ClaimPlaceholder>) {
          return apply_claim_placeholder(s_, state, tx, b, now);
        } else if constexpr (std::is_same_v<T, ConfirmPlaceholder>) {
          return apply_confirm_placeholder(s_, state, tx, b, now);
        } else if constexpr (std::is_same_v<T, SetValidatorSet>) {
          return apply_set_validator_set(s_, state, tx, b, ctx_.height, now);
        } else if constexpr (std::is_same_v<T, BindNostrKey>) {
          return apply_bind_nostr_key(s_, state, tx, b, now);
        } else {
          return apply_collab(state, tx);
        }
      },
      tx.body);
}

}  // namespace guts::state
