// Signed transactions: the only way state changes (docs/architecture.md §1.1, §3).
//
// Encoding (docs/protocol.md §3):
//   version u8 (=1) | chain_id str(64) | kind varint | author pk32 | signer pk32 |
//   nonce varint | timestamp_ms varint | body bytes(1 MiB) | signature sig64
// The signature is Ed25519 by `signer` over domain "guts/tx" and every byte before it.
// The id is SHA-256 of the complete encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "state/artifact.h"
#include "state/ci.h"
#include "state/ci_runner.h"
#include "state/collab.h"
#include "state/hooks.h"
#include "state/lfs.h"
#include "state/nostr_binding.h"
#include "state/org.h"
#include "state/placeholder.h"
#include "state/proposal.h"
#include "state/protection.h"
#include "state/release.h"
#include "state/repo_seeds.h"
#include "state/reputation.h"
#include "state/runner_policy.h"
#include "state/ssh_keys.h"
#include "state/validator_set.h"

namespace guts::state {

using crypto::PublicKey;
using crypto::Signature;

inline constexpr std::string_view kTxDomain = "guts/tx";
inline constexpr size_t kMaxBodyBytes = 1 << 20;
inline constexpr size_t kMaxTxBytes = kMaxBodyBytes + 512;
inline constexpr size_t kMaxChainIdBytes = 64;

enum class TxKind : uint32_t {
  kRegisterUser = 1,
  kGrantDelegation = 2,
  kRevokeDelegation = 3,
  kCreateRepo = 4,
  kUpdateRepo = 5,
  kDeleteRepo = 6,
  kUpdateRefs = 7,
  // Collaboration (state/collab.h).
  kSetCollaborator = 8,
  kForkRepo = 9,
  kCreateIssue = 10,
  kEditIssue = 11,
  kCreateComment = 12,
  kEditComment = 13,
  kDeleteComment = 14,
  kSetLabel = 15,
  kSetMilestone = 16,
  kSetReaction = 17,
  kOpenPullRequest = 18,
  kMergePullRequest = 19,
  kSubmitReview = 20,
  kCreateReviewComment = 21,
  kDismissReview = 22,
  // Governance (state/org.h).
  kCreateOrg = 23,
  kUpdateOrg = 24,
  kSetOrgMember = 25,
  kAnswerOrgInvite = 26,
  kCreateTeam = 27,
  kUpdateTeam = 28,
  kDeleteTeam = 29,
  kSetTeamMember = 30,
  kSetTeamRepo = 31,
  kCreateOrgRepo = 32,
  kTransferRepo = 33,
  // Reputation: repository interaction limits (state/reputation.h).
  kSetInteractionLimit = 41,
  // Webhooks (state/hooks.h).
  kCreateHook = 43,
  kUpdateHook = 44,
  kDeleteHook = 45,
  // Branch protection and commit statuses (state/protection.h).
  kSetBranchProtection = 34,
  kDeleteBranchProtection = 35,
  kSetCommitStatus = 36,
  // Private repositories' seeds (state/repo_seeds.h).
  kSetRepoSeeds = 42,
  // Quorum decisions (state/proposal.h).
  kSetQuorumPolicy = 37,
  kCreateProposal = 38,
  kVoteProposal = 39,
  kCancelProposal = 40,
  // Releases (state/release.h).
  kUpsertRelease = 46,
  kDeleteRelease = 47,
  kSetReleaseAsset = 48,
  // CI/CD workflows, runs and runners (state/ci.h).
  kRequestRuns = 52,
  kCreateRunnerToken = 53,
  kRegisterRunner = 54,
  kClaimJob = 55,
  kJobHeartbeat = 56,
  kReportSteps = 57,
  kCompleteJob = 58,
  kRunAction = 59,
  kSetSchedules = 67,
  kTriggerSchedule = 73,
  // SSH public keys (state/ssh_keys.h).
  kAddSshKey = 60,
  kDeleteSshKey = 61,
  // Git LFS objects and locks (state/lfs.h).
  kLfsAddObjects = 49,
  kLfsCreateLock = 50,
  kLfsDeleteLock = 51,
  // CI runners: stored job logs, Actions secrets (state/ci_runner.h).
  kSetJobLog = 68,
  kSetActionsSecret = 69,
  kDeleteActionsSecret = 70,
  // CI runner trust policy (state/runner_policy.h).
  kSetRunnerPolicy = 64,
  // CI/CD artifacts (state/artifact.h).
  kCreateArtifact = 71,
  kDeleteArtifact = 72,
  // Placeholder identities of migrated items (state/placeholder.h).
  kClaimPlaceholder = 65,
  kConfirmPlaceholder = 66,
  // Validator set changes by the governing organization (state/validator_set.h).
  kSetValidatorSet = 74,
  // A Nostr key bound to the author (state/nostr_binding.h).
  kBindNostrKey = 75,
};
const char* tx_kind_name(TxKind kind);

// Delegation scopes: what a node may sign on a user's behalf.
enum Scope : uint64_t {
  kScopeRepo = 1,    // create, update, delete repositories
  kScopePush = 2,    // ref updates
  kScopeCollab = 4,  // issues, pull requests, comments, reviews (collaboration)
  kScopeAll = 7,
};

struct RegisterUser {
  std::string username;
};
struct GrantDelegation {
  PublicKey node{};
  uint64_t scopes = 0;
  uint64_t expires_ms = 0;  // absolute Unix ms; compared with the block timestamp
};
struct RevokeDelegation {
  PublicKey node{};
};
struct CreateRepo {
  std::string name;
  std::string description;
  bool is_private = false;
  std::string default_branch = "main";
};
struct UpdateRepo {
  uint64_t repo_id = 0;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<bool> is_private;
  std::optional<std::string> default_branch;
  std::optional<bool> allow_force_push;
};
struct DeleteRepo {
  uint64_t repo_id = 0;
};
// One compare-and-swap on a ref. An empty oid means "absent" (create when old is empty,
// delete when new is empty).
struct RefChange {
  std::string ref;
  Bytes old_oid;
  Bytes new_oid;
  bool operator==(const RefChange&) const = default;
};
// Applied atomically: all changes or none.
struct UpdateRefs {
  uint64_t repo_id = 0;
  std::vector<RefChange> changes;
  // Set by the pushing node when a change is not a fast-forward (git decides ancestry);
  // rejected unless the repository allows force pushes.
  bool force = false;
};

using TxBody =
    std::variant<RegisterUser, GrantDelegation, RevokeDelegation, CreateRepo, UpdateRepo,
                 DeleteRepo, UpdateRefs,
                 // collaboration, in TxKind order
                 SetCollaborator, ForkRepo, CreateIssue, EditIssue, CreateComment, EditComment,
                 DeleteComment, SetLabel, SetMilestone, SetReaction, OpenPullRequest,
                 MergePullRequest, SubmitReview, CreateReviewComment, DismissReview,
                 // governance, in TxKind order
                 CreateOrg, UpdateOrg, SetOrgMember, AnswerOrgInvite, CreateTeam, UpdateTeam,
                 DeleteTeam, SetTeamMember, SetTeamRepo, CreateOrgRepo, TransferRepo,
                 // branch protection (kinds 34-36), in TxKind order
                 SetBranchProtection, DeleteBranchProtection, SetCommitStatus,
                 // reputation (kind 41, mapped explicitly in kind_of)
                 SetInteractionLimit,
                 // webhooks (kinds 43-45, mapped explicitly in kind_of)
                 CreateHook, UpdateHook, DeleteHook,
                 // private repositories' seeds (kind 42, explicit in kind_of)
                 SetRepoSeeds,
                 // quorum decisions (kinds 37-40)
                 SetQuorumPolicy, CreateProposal, VoteProposal, CancelProposal,
                 // releases (kinds 46-48, explicit in kind_of)
                 UpsertRelease, DeleteRelease, SetReleaseAsset,
                 // CI/CD (kinds 52-59, explicit in kind_of)
                 RequestRuns, CreateRunnerToken, RegisterRunner, ClaimJob, JobHeartbeat,
                 ReportSteps, CompleteJob, RunAction,
                 // SSH keys (kinds 60-61, explicit in kind_of)
                 AddSshKey, DeleteSshKey,
                 // Git LFS (kinds 49-51, explicit in kind_of)
                 LfsAddObjects, LfsCreateLock, LfsDeleteLock,
                 // CI runners: logs and secrets (kinds 68-70, explicit in kind_of)
                 SetJobLog, SetActionsSecret, DeleteActionsSecret,
                 // CI runner trust policy (kind 64, explicit in kind_of)
                 SetRunnerPolicy,
                 // CI/CD artifacts (kinds 71-72, explicit in kind_of)
                 CreateArtifact, DeleteArtifact,
                 // placeholder claims (kinds 65-66, explicit in kind_of)
                 ClaimPlaceholder, ConfirmPlaceholder,
                 // scheduled CI runs (kinds 67 and 73, explicit in kind_of)
                 SetSchedules, TriggerSchedule,
                 // validator set changes (kind 74, explicit in kind_of)
                 SetValidatorSet,
                 // Nostr key bindings (kind 75, explicit in kind_of)
                 BindNostrKey>;

TxKind kind_of(const TxBody& body);
Bytes encode_body(const TxBody& body);
// Throws codec::DecodeError.
TxBody decode_body(TxKind kind, ByteView data);

struct Transaction {
  std::string chain_id;
  PublicKey author{};
  PublicKey signer{};
  uint64_t nonce = 0;
  uint64_t timestamp_ms = 0;
  TxBody body;
  Signature signature{};

  TxKind kind() const { return kind_of(body); }
  // Bytes covered by the signature.
  Bytes signing_bytes() const;
  Bytes encode() const;
  // SHA-256 of encode(). A node asks for a transaction's id at every step (the door, the
  // mempool, the block, its receipts, the indexes), so a decoded transaction keeps the id of the
  // bytes it came from (the encoding is canonical: they are encode()'s), tied to its signature:
  // a transaction changed and signed again is hashed again. (Changed without signing again, it
  // would keep the old id; no code changes a decoded transaction but to sign it.)
  Digest id() const;
  bool verify_signature() const;
  void sign(const crypto::SigningKey& key);  // sets signer's signature; key must be signer

  struct DecodedId {
    Digest id{};
    Signature signature{};  // the signature it was decoded with
    bool set = false;
  };
  DecodedId decoded_id{};  // set by decode_transaction
};

// Throws codec::DecodeError on any malformed input (bounded, canonical, no trailing bytes).
Transaction decode_transaction(ByteView data);

}  // namespace guts::state
