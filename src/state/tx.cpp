#include "state/tx.h"

#include "codec/codec.h"
#include "core/version.h"
#include "crypto/hash.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;
using namespace field;  // state/field_codec.h

namespace {
constexpr size_t kMaxName = 256;
constexpr size_t kMaxDescription = 4096;
constexpr size_t kMaxRefName = 1024;
constexpr size_t kMaxOid = 32;
constexpr size_t kMaxRefChanges = 4096;
constexpr uint8_t kVersion = version::kTxFormat;  // core/version.h

Bytes get_oid(Reader& r) {
  Bytes oid = r.bytes(kMaxOid, "object id");
  if (!oid.empty() && oid.size() != 20 && oid.size() != 32)
    throw DecodeError("object id must be 0, 20 or 32 bytes");
  return oid;
}

template <typename T, size_t I = 0>
constexpr size_t variant_index() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, TxBody>, T>)
    return I;
  else
    return variant_index<T, I + 1>();
}
}  // namespace

const char* tx_kind_name(TxKind kind) {
  switch (kind) {
    case TxKind::kRegisterUser:
      return "register_user";
    case TxKind::kGrantDelegation:
      return "grant_delegation";
    case TxKind::kRevokeDelegation:
      return "revoke_delegation";
    case TxKind::kCreateRepo:
      return "create_repo";
    case TxKind::kUpdateRepo:
      return "update_repo";
    case TxKind::kDeleteRepo:
      return "delete_repo";
    case TxKind::kUpdateRefs:
      return "update_refs";
    case TxKind::kSetCollaborator:
      return "set_collaborator";
    case TxKind::kForkRepo:
      return "fork_repo";
    case TxKind::kCreateIssue:
      return "create_issue";
    case TxKind::kEditIssue:
      return "edit_issue";
    case TxKind::kCreateComment:
      return "create_comment";
    case TxKind::kEditComment:
      return "edit_comment";
    case TxKind::kDeleteComment:
      return "delete_comment";
    case TxKind::kSetLabel:
      return "set_label";
    case TxKind::kSetMilestone:
      return "set_milestone";
    case TxKind::kSetReaction:
      return "set_reaction";
    case TxKind::kOpenPullRequest:
      return "open_pull_request";
    case TxKind::kMergePullRequest:
      return "merge_pull_request";
    case TxKind::kSubmitReview:
      return "submit_review";
    case TxKind::kCreateReviewComment:
      return "create_review_comment";
    case TxKind::kDismissReview:
      return "dismiss_review";
    case TxKind::kCreateOrg:
      return "create_org";
    case TxKind::kUpdateOrg:
      return "update_org";
    case TxKind::kSetOrgMember:
      return "set_org_member";
    case TxKind::kAnswerOrgInvite:
      return "answer_org_invite";
    case TxKind::kCreateTeam:
      return "create_team";
    case TxKind::kUpdateTeam:
      return "update_team";
    case TxKind::kDeleteTeam:
      return "delete_team";
    case TxKind::kSetTeamMember:
      return "set_team_member";
    case TxKind::kSetTeamRepo:
      return "set_team_repo";
    case TxKind::kCreateOrgRepo:
      return "create_org_repo";
    case TxKind::kTransferRepo:
      return "transfer_repo";
    // Reputation (state/reputation.h).
    case TxKind::kSetInteractionLimit:
      return "set_interaction_limit";
    case TxKind::kCreateHook:
      return "create_hook";
    case TxKind::kUpdateHook:
      return "update_hook";
    case TxKind::kDeleteHook:
      return "delete_hook";
    case TxKind::kSetBranchProtection:
      return "set_branch_protection";
    case TxKind::kDeleteBranchProtection:
      return "delete_branch_protection";
    case TxKind::kSetCommitStatus:
      return "set_commit_status";
    case TxKind::kSetRepoSeeds:
      return "set_repo_seeds";
    // Quorum decisions (state/proposal.h).
    case TxKind::kSetQuorumPolicy:
      return "set_quorum_policy";
    case TxKind::kCreateProposal:
      return "create_proposal";
    case TxKind::kVoteProposal:
      return "vote_proposal";
    case TxKind::kCancelProposal:
      return "cancel_proposal";
    // Releases (state/release.h).
    case TxKind::kUpsertRelease:
      return "upsert_release";
    case TxKind::kDeleteRelease:
      return "delete_release";
    case TxKind::kSetReleaseAsset:
      return "set_release_asset";
    case TxKind::kRequestRuns:
      return "request_runs";
    case TxKind::kCreateRunnerToken:
      return "create_runner_token";
    case TxKind::kRegisterRunner:
      return "register_runner";
    case TxKind::kClaimJob:
      return "claim_job";
    case TxKind::kJobHeartbeat:
      return "job_heartbeat";
    case TxKind::kReportSteps:
      return "report_steps";
    case TxKind::kCompleteJob:
      return "complete_job";
    case TxKind::kRunAction:
      return "run_action";
    case TxKind::kSetSchedules:
      return "set_schedules";
    case TxKind::kTriggerSchedule:
      return "trigger_schedule";
    case TxKind::kAddSshKey:
      return "add_ssh_key";
    case TxKind::kDeleteSshKey:
      return "delete_ssh_key";
    // Git LFS (state/lfs.h).
    case TxKind::kLfsAddObjects:
      return "lfs_add_objects";
    case TxKind::kLfsCreateLock:
      return "lfs_create_lock";
    case TxKind::kLfsDeleteLock:
      return "lfs_delete_lock";
    // CI runners (state/ci_runner.h).
    case TxKind::kSetJobLog:
      return "set_job_log";
    case TxKind::kSetActionsSecret:
      return "set_actions_secret";
    case TxKind::kDeleteActionsSecret:
      return "delete_actions_secret";
    // CI runner trust policy (state/runner_policy.h).
    case TxKind::kSetRunnerPolicy:
      return "set_runner_policy";
    // CI/CD artifacts (state/artifact.h).
    case TxKind::kCreateArtifact:
      return "create_artifact";
    case TxKind::kDeleteArtifact:
      return "delete_artifact";
    // Placeholder identities (state/placeholder.h).
    case TxKind::kClaimPlaceholder:
      return "claim_placeholder";
    case TxKind::kConfirmPlaceholder:
      return "confirm_placeholder";
    // Validator set changes (state/validator_set.h).
    case TxKind::kSetValidatorSet:
      return "set_validator_set";
    // Nostr key bindings (state/nostr_binding.h).
    case TxKind::kBindNostrKey:
      return "bind_nostr_key";
  }
  return "unknown";
}

TxKind kind_of(const TxBody& body) {
  return std::visit(
      [](const auto& b) -> TxKind {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RegisterUser>) return TxKind::kRegisterUser;
        if constexpr (std::is_same_v<T, GrantDelegation>) return TxKind::kGrantDelegation;
        if constexpr (std::is_same_v<T, RevokeDelegation>) return TxKind::kRevokeDelegation;
        if constexpr (std::is_same_v<T, CreateRepo>) return TxKind::kCreateRepo;
        if constexpr (std::is_same_v<T, UpdateRepo>) return TxKind::kUpdateRepo;
        if constexpr (std::is_same_v<T, DeleteRepo>) return TxKind::kDeleteRepo;
        if constexpr (std::is_same_v<T, UpdateRefs>) return TxKind::kUpdateRefs;
        // Kinds after 33 are mapped explicitly: the variant's order need not follow them.
        if constexpr (std::is_same_v<T, SetBranchProtection>) return TxKind::kSetBranchProtection;
        if constexpr (std::is_same_v<T, DeleteBranchProtection>)
          return TxKind::kDeleteBranchProtection;
        if constexpr (std::is_same_v<T, SetCommitStatus>) return TxKind::kSetCommitStatus;
        if constexpr (std::is_same_v<T, SetInteractionLimit>) return TxKind::kSetInteractionLimit;
        if constexpr (std::is_same_v<T, CreateHook>) return TxKind::kCreateHook;
        if constexpr (std::is_same_v<T, UpdateHook>) return TxKind::kUpdateHook;
        if constexpr (std::is_same_v<T, DeleteHook>) return TxKind::kDeleteHook;
        if constexpr (std::is_same_v<T, SetRepoSeeds>) return TxKind::kSetRepoSeeds;
        // Quorum decisions: kinds 37-40, not contiguous with the variant index.
        if constexpr (std::is_same_v<T, SetQuorumPolicy>) return TxKind::kSetQuorumPolicy;
        if constexpr (std::is_same_v<T, CreateProposal>) return TxKind::kCreateProposal;
        if constexpr (std::is_same_v<T, VoteProposal>) return TxKind::kVoteProposal;
        if constexpr (std::is_same_v<T, CancelProposal>) return TxKind::kCancelProposal;
        // Releases (state/release.h).
        if constexpr (std::is_same_v<T, UpsertRelease>) return TxKind::kUpsertRelease;
        if constexpr (std::is_same_v<T, DeleteRelease>) return TxKind::kDeleteRelease;
        if constexpr (std::is_same_v<T, SetReleaseAsset>) return TxKind::kSetReleaseAsset;
        // CI/CD (state/ci.h).
        if constexpr (std::is_same_v<T, RequestRuns>) return TxKind::kRequestRuns;
        if constexpr (std::is_same_v<T, CreateRunnerToken>) return TxKind::kCreateRunnerToken;
        if constexpr (std::is_same_v<T, RegisterRunner>) return TxKind::kRegisterRunner;
        if constexpr (std::is_same_v<T, ClaimJob>) return TxKind::kClaimJob;
        if constexpr (std::is_same_v<T, JobHeartbeat>) return TxKind::kJobHeartbeat;
        if constexpr (std::is_same_v<T, ReportSteps>) return TxKind::kReportSteps;
        if constexpr (std::is_same_v<T, CompleteJob>) return TxKind::kCompleteJob;
        if constexpr (std::is_same_v<T, RunAction>) return TxKind::kRunAction;
        if constexpr (std::is_same_v<T, SetSchedules>) return TxKind::kSetSchedules;
        if constexpr (std::is_same_v<T, TriggerSchedule>) return TxKind::kTriggerSchedule;
        if constexpr (std::is_same_v<T, AddSshKey>) return TxKind::kAddSshKey;
        if constexpr (std::is_same_v<T, DeleteSshKey>) return TxKind::kDeleteSshKey;
        if constexpr (std::is_same_v<T, LfsAddObjects>) return TxKind::kLfsAddObjects;
        if constexpr (std::is_same_v<T, LfsCreateLock>) return TxKind::kLfsCreateLock;
        if constexpr (std::is_same_v<T, LfsDeleteLock>) return TxKind::kLfsDeleteLock;
        // CI runners (state/ci_runner.h).
        if constexpr (std::is_same_v<T, SetJobLog>) return TxKind::kSetJobLog;
        if constexpr (std::is_same_v<T, SetActionsSecret>) return TxKind::kSetActionsSecret;
        if constexpr (std::is_same_v<T, DeleteActionsSecret>) return TxKind::kDeleteActionsSecret;
        if constexpr (std::is_same_v<T, SetRunnerPolicy>) return TxKind::kSetRunnerPolicy;
        // CI/CD artifacts (state/artifact.h).
        if constexpr (std::is_same_v<T, CreateArtifact>) return TxKind::kCreateArtifact;
        if constexpr (std::is_same_v<T, DeleteArtifact>) return TxKind::kDeleteArtifact;
        // Placeholder identities (state/placeholder.h).
        if constexpr (std::is_same_v<T, ClaimPlaceholder>) return TxKind::kClaimPlaceholder;
        if constexpr (std::is_same_v<T, ConfirmPlaceholder>) return TxKind::kConfirmPlaceholder;
        // Validator set changes (state/validator_set.h).
        if constexpr (std::is_same_v<T, SetValidatorSet>) return TxKind::kSetValidatorSet;
        if constexpr (std::is_same_v<T, BindNostrKey>) return TxKind::kBindNostrKey;
        // Collaboration kinds follow the variant's order from kSetCollaborator on.
        constexpr size_t first = variant_index<SetCollaborator>();
        constexpr size_t index = variant_index<T>();
        if constexpr (index >= first)
          return static_cast<TxKind>(static_cast<uint32_t>(TxKind::kSetCollaborator) +
                                     (index - first));
      },
      body);
}

Bytes encode_body(const TxBody& body) {
  Writer w;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RegisterUser>) {
          w.str(b.username);
        } else if constexpr (std::is_same_v<T, GrantDelegation>) {
          w.fixed(b.node).varint(b.scopes).varint(b.expires_ms);
        } else if constexpr (std::is_same_v<T, RevokeDelegation>) {
          w.fixed(b.node);
        } else if constexpr (std::is_same_v<T, CreateRepo>) {
          w.str(b.name).str(b.description).boolean(b.is_private).str(b.default_branch);
        } else if constexpr (std::is_same_v<T, UpdateRepo>) {
          w.varint(b.repo_id);
          put_opt_str(w, b.name);
          put_opt_str(w, b.description);
          put_opt_bool(w, b.is_private);
          put_opt_str(w, b.default_branch);
          put_opt_bool(w, b.allow_force_push);
        } else if constexpr (std::is_same_v<T, DeleteRepo>) {
          w.varint(b.repo_id);
        } else if constexpr (std::is_same_v<T, UpdateRefs>) {
          w.varint(b.repo_id).varint(b.changes.size());
          for (const auto& c : b.changes) w.str(c.ref).bytes(c.old_oid).bytes(c.new_oid);
          w.boolean(b.force);
        } else if constexpr (kIsOrgBody<T>) {
          encode_org_body(w, b);
        } else if constexpr (std::is_same_v<T, SetInteractionLimit>) {
          encode_reputation_body(w, b);
        } else if constexpr (kIsHookBody<T>) {
          encode_hook_body(w, b);
        } else if constexpr (kIsProtectionBody<T>) {
          encode_protection_body(w, b);
        } else if constexpr (std::is_same_v<T, SetRepoSeeds>) {
          encode_repo_seeds_body(w, b);
        } else if constexpr (kIsProposalBody<T>) {
          encode_proposal_body(w, b);
        } else if constexpr (kIsReleaseBody<T>) {
          encode_release_body(w, b);
        } else if constexpr (kIsCiBody<T>) {
          encode_ci_body(w, b);
        } else if constexpr (kIsSshKeyBody<T>) {
          encode_ssh_key_body(w, b);
        } else if constexpr (kIsLfsBody<T>) {
          encode_lfs_body(w, b);
        } else if constexpr (kIsCiRunnerBody<T>) {
          encode_ci_runner_body(w, b);
        } else if constexpr (std::is_same_v<T, SetRunnerPolicy>) {
          encode_runner_policy_body(w, b);
        } else if constexpr (kIsArtifactBody<T>) {
          encode_artifact_body(w, b);
        } else if constexpr (std::is_same_v<T, ClaimPlaceholder>) {
          encode_claim_placeholder(w, b);
        } else if constexpr (std::is_same_v<T, ConfirmPlaceholder>) {
          encode_confirm_placeholder(w, b);
        } else if constexpr (std::is_same_v<T, SetValidatorSet>) {
          encode_set_validator_set(w, b);
        } else if constexpr (std::is_same_v<T, BindNostrKey>) {
          encode_bind_nostr_key(w, b);
        } else {
          encode_collab_body(w, b);
        }
      },
      body);
  return w.take();
}

TxBody decode_body(TxKind kind, ByteView data) {
  Reader r(data);
  TxBody out;
  switch (kind) {
    case TxKind::kRegisterUser:
      out = RegisterUser{r.str(kMaxName, "username")};
      break;
    case TxKind::kGrantDelegation: {
      GrantDelegation g;
      g.node = r.fixed<32>();
      g.scopes = r.varint();
      g.expires_ms = r.varint();
      out = g;
      break;
    }
    case TxKind::kRevokeDelegation:
      out = RevokeDelegation{r.fixed<32>()};
      break;
    case TxKind::kCreateRepo: {
      CreateRepo c;
      c.name = r.str(kMaxName, "name");
      c.description = r.str(kMaxDescription, "description");
      c.is_private = r.boolean();
      c.default_branch = r.str(kMaxRefName, "default branch");
      out = c;
      break;
    }
    case TxKind::kUpdateRepo: {
      UpdateRepo u;
      u.repo_id = r.varint();
      u.name = get_opt_str(r, kMaxName, "name");
      u.description = get_opt_str(r, kMaxDescription, "description");
      u.is_private = get_opt_bool(r);
      u.default_branch = get_opt_str(r, kMaxRefName, "default branch");
      u.allow_force_push = get_opt_bool(r);
      out = u;
      break;
    }
    case TxKind::kDeleteRepo:
      out = DeleteRepo{r.varint()};
      break;
    case TxKind::kUpdateRefs: {
      UpdateRefs u;
      u.repo_id = r.varint();
      size_t n = r.count(kMaxRefChanges, "ref changes");
      u.changes.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        RefChange c;
        c.ref = r.str(kMaxRefName, "ref name");
        c.old_oid = get_oid(r);
        c.new_oid = get_oid(r);
        u.changes.push_back(std::move(c));
      }
      u.force = r.boolean();
      out = std::move(u);
      break;
    }
    case TxKind::kSetCollaborator:
      out = decode_collab_body<SetCollaborator>(r);
      break;
    case TxKind::kForkRepo:
      out = decode_collab_body<ForkRepo>(r);
      break;
    case TxKind::kCreateIssue:
      out = decode_collab_body<CreateIssue>(r);
      break;
    case TxKind::kEditIssue:
      out = decode_collab_body<EditIssue>(r);
      break;
    case TxKind::kCreateComment:
      out = decode_collab_body<CreateComment>(r);
      break;
    case TxKind::kEditComment:
      out = decode_collab_body<EditComment>(r);
      break;
    case TxKind::kDeleteComment:
      out = decode_collab_body<DeleteComment>(r);
      break;
    case TxKind::kSetLabel:
      out = decode_collab_body<SetLabel>(r);
      break;
    case TxKind::kSetMilestone:
      out = decode_collab_body<SetMilestone>(r);
      break;
    case TxKind::kSetReaction:
      out = decode_collab_body<SetReaction>(r);
      break;
    case TxKind::kOpenPullRequest:
      out = decode_collab_body<OpenPullRequest>(r);
      break;
    case TxKind::kMergePullRequest:
      out = decode_collab_body<MergePullRequest>(r);
      break;
    case TxKind::kSubmitReview:
      out = decode_collab_body<SubmitReview>(r);
      break;
    case TxKind::kCreateReviewComment:
      out = decode_collab_body<CreateReviewComment>(r);
      break;
    case TxKind::kDismissReview:
      out = decode_collab_body<DismissReview>(r);
      break;
    case TxKind::kCreateOrg:
      out = decode_org_body<CreateOrg>(r);
      break;
    case TxKind::kUpdateOrg:
      out = decode_org_body<UpdateOrg>(r);
      break;
    case TxKind::kSetOrgMember:
      out = decode_org_body<SetOrgMember>(r);
      break;
    case TxKind::kAnswerOrgInvite:
      out = decode_org_body<AnswerOrgInvite>(r);
      break;
    case TxKind::kCreateTeam:
      out = decode_org_body<CreateTeam>(r);
      break;
    case TxKind::kUpdateTeam:
      out = decode_org_body<UpdateTeam>(r);
      break;
    case TxKind::kDeleteTeam:
      out = decode_org_body<DeleteTeam>(r);
      break;
    case TxKind::kSetTeamMember:
      out = decode_org_body<SetTeamMember>(r);
      break;
    case TxKind::kSetTeamRepo:
      out = decode_org_body<SetTeamRepo>(r);
      break;
    case TxKind::kCreateOrgRepo:
      out = decode_org_body<CreateOrgRepo>(r);
      break;
    case TxKind::kTransferRepo:
      out = decode_org_body<TransferRepo>(r);
      break;
    // Reputation (state/reputation.h).
    case TxKind::kSetInteractionLimit:
      out = decode_interaction_limit_body(r);
      break;
    case TxKind::kCreateHook:
      out = decode_hook_body<CreateHook>(r);
      break;
    case TxKind::kUpdateHook:
      out = decode_hook_body<UpdateHook>(r);
      break;
    case TxKind::kDeleteHook:
      out = decode_hook_body<DeleteHook>(r);
      break;
    case TxKind::kSetBranchProtection:
      out = decode_protection_body<SetBranchProtection>(r);
      break;
    case TxKind::kDeleteBranchProtection:
      out = decode_protection_body<DeleteBranchProtection>(r);
      break;
    case TxKind::kSetCommitStatus:
      out = decode_protection_body<SetCommitStatus>(r);
      break;
    case TxKind::kSetRepoSeeds:
      out = decode_repo_seeds_body(r);
      break;
    // Quorum decisions (state/proposal.h).
    case TxKind::kSetQuorumPolicy:
      out = decode_proposal_body<SetQuorumPolicy>(r);
      break;
    case TxKind::kCreateProposal:
      out = decode_proposal_body<CreateProposal>(r);
      break;
    case TxKind::kVoteProposal:
      out = decode_proposal_body<VoteProposal>(r);
      break;
    case TxKind::kCancelProposal:
      out = decode_proposal_body<CancelProposal>(r);
      break;
    // Releases (state/release.h).
    case TxKind::kUpsertRelease:
      out = decode_release_body<UpsertRelease>(r);
      break;
    case TxKind::kDeleteRelease:
      out = decode_release_body<DeleteRelease>(r);
      break;
    case TxKind::kSetReleaseAsset:
      out = decode_release_body<SetReleaseAsset>(r);
      break;
    // CI/CD (state/ci.h).
    case TxKind::kRequestRuns:
      out = decode_ci_body<RequestRuns>(r);
      break;
    case TxKind::kCreateRunnerToken:
      out = decode_ci_body<CreateRunnerToken>(r);
      break;
    case TxKind::kRegisterRunner:
      out = decode_ci_body<RegisterRunner>(r);
      break;
    case TxKind::kClaimJob:
      out = decode_ci_body<ClaimJob>(r);
      break;
    case TxKind::kJobHeartbeat:
      out = decode_ci_body<JobHeartbeat>(r);
      break;
    case TxKind::kReportSteps:
      out = decode_ci_body<ReportSteps>(r);
      break;
    case TxKind::kCompleteJob:
      out = decode_ci_body<CompleteJob>(r);
      break;
    case TxKind::kRunAction:
      out = decode_ci_body<RunAction>(r);
      break;
    case TxKind::kSetSchedules:
      out = decode_ci_body<SetSchedules>(r);
      break;
    case TxKind::kTriggerSchedule:
      out = decode_ci_body<TriggerSchedule>(r);
      break;
    case TxKind::kAddSshKey:
      out = decode_add_ssh_key_body(r);
      break;
    case TxKind::kDeleteSshKey:
      out = decode_delete_ssh_key_body(r);
      break;
    case TxKind::kLfsAddObjects:
      out = decode_lfs_add_objects(r);
      break;
    case TxKind::kLfsCreateLock:
      out = decode_lfs_create_lock(r);
      break;
    case TxKind::kLfsDeleteLock:
      out = decode_lfs_delete_lock(r);
      break;
    // CI runners (state/ci_runner.h).
    case TxKind::kSetJobLog:
      out = decode_set_job_log(r);
      break;
    case TxKind::kSetActionsSecret:
      out = decode_set_actions_secret(r);
      break;
    case TxKind::kDeleteActionsSecret:
      out = decode_delete_actions_secret(r);
      break;
    case TxKind::kSetRunnerPolicy:
      out = decode_runner_policy_body(r);
      break;
    // CI/CD artifacts (state/artifact.h).
    case TxKind::kCreateArtifact:
      out = decode_create_artifact(r);
      break;
    case TxKind::kDeleteArtifact:
      out = decode_delete_artifact(r);
      break;
    // Placeholder identities (state/placeholder.h).
    case TxKind::kClaimPlaceholder:
      out = decode_claim_placeholder(r);
      break;
    case TxKind::kConfirmPlaceholder:
      out = decode_confirm_placeholder(r);
      break;
    // Validator set changes (state/validator_set.h).
    case TxKind::kSetValidatorSet:
      out = decode_set_validator_set(r);
      break;
    case TxKind::kBindNostrKey:
      out = decode_bind_nostr_key(r);
      break;
    default:
      throw DecodeError("unknown transaction kind " + std::to_string(static_cast<uint32_t>(kind)));
  }
  r.finish();
  return out;
}

Bytes Transaction::signing_bytes() const {
  Bytes body_bytes = encode_body(body);
  Writer w(body_bytes.size() + 128);
  w.u8(kVersion)
      .str(chain_id)
      .varint(static_cast<uint32_t>(kind()))
      .fixed(author)
      .fixed(signer)
      .varint(nonce)
      .varint(timestamp_ms)
      .bytes(body_bytes);
  return w.take();
}

Bytes Transaction::encode() const {
  Bytes out = signing_bytes();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Digest Transaction::id() const {
  if (decoded_id.set && decoded_id.signature == signature) return decoded_id.id;
  return crypto::sha256(encode());
}

bool Transaction::verify_signature() const {
  return crypto::verify(signer, kTxDomain, signing_bytes(), signature);
}

void Transaction::sign(const crypto::SigningKey& key) {
  signer = key.public_key();
  signature = key.sign(kTxDomain, signing_bytes());
}

Transaction decode_transaction(ByteView data) {
  if (data.size() > kMaxTxBytes) throw DecodeError("transaction too large");
  Reader r(data);
  Transaction tx;
  if (r.u8() != kVersion) throw DecodeError("unsupported transaction version");
  tx.chain_id = r.str(kMaxChainIdBytes, "chain id");
  uint64_t kind = r.varint_max(0xffff, "kind");
  tx.author = r.fixed<32>();
  tx.signer = r.fixed<32>();
  tx.nonce = r.varint();
  tx.timestamp_ms = r.varint();
  ByteView body = r.bytes_view(kMaxBodyBytes, "body");
  tx.body = decode_body(static_cast<TxKind>(kind), body);
  tx.signature = r.fixed<64>();
  r.finish();
  tx.decoded_id = {crypto::sha256(data), tx.signature, true};
  return tx;
}

}  // namespace guts::state
