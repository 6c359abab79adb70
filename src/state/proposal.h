// Quorum decisions (issue 14 point 4; docs/governance.md "Quorum decisions"): a repository or an
// organization requires k-of-n approvals for chosen actions. A policy names, per action, the
// threshold k; the eligible approvers are computed, never listed: the identities with at least
// maintain permission on the repository (state::effective_permission), or the active owners of
// the organization. While a policy covers an action, the direct transaction is refused
// (quorum_guard, the one place) and the action goes through a proposal: kCreateProposal embeds
// the action's transaction body, kVoteProposal approves or rejects it, and the vote that reaches
// k executes the action in the same transaction, re-checked at that moment as if the proposer
// signed it (a failing action leaves the proposal `failed` with the reason and no partial
// effect). Expiry is compared with the block timestamp; nothing reads a wall clock.
//
// Layout in the `governance` family, under the tag 'Q' (docs/governance.md §5):
//   Qp·scope → QuorumPolicy           Qr·be64(id) → Proposal
//   Qv·be64(id)·voter → ProposalVote  Qs·scope·be64(id) → — (the proposals of a scope)
// where scope is 'R'·be64(repo id) or 'O'·org key; the id counter is meta "next_proposal_id".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

struct Transaction;
class StateView;
struct Repo;

// ---- enumerations (numeric values are part of the encodings) ----

enum QuorumScopeKind : uint8_t { kQuorumOnRepo = 1, kQuorumOnOrg = 2 };

// The actions a policy can cover (classify_action() maps transactions to them).
enum QuorumAction : uint8_t {
  kActTransferRepo = 1,      // TransferRepo (repository scope)
  kActDeleteRepo = 2,        // DeleteRepo (repository scope)
  kActAddOrgOwner = 3,       // SetOrgMember add/invite with the owner role (organization scope)
  kActChangePolicy = 4,      // SetQuorumPolicy of the same scope (either scope)
  kActMergeProtected = 5,    // moving a protected branch: UpdateRefs, MergePullRequest
  kActChangeProtection = 6,  // Set/DeleteBranchProtection
  kActChangeValidators = 7,  // SetValidatorSet (the network's governing organization)
};
inline constexpr uint8_t kMaxQuorumAction = kActChangeValidators;

enum ProposalState : uint8_t {
  kProposalOpen = 1,
  kProposalExecuted = 2,  // approved: the action ran in the approving vote's transaction
  kProposalRejected = 3,  // enough rejections that k approvals became unreachable
  kProposalExpired = 4,   // derived: open past expires_ms (never stored)
  kProposalFailed = 5,    // approved, but the action was invalid at that moment (see reason)
  kProposalCancelled = 6,
};

const char* quorum_action_name(uint8_t action);  // "transfer_repository", ...
std::optional<uint8_t> quorum_action_of(std::string_view name);
bool quorum_action_reserved(uint8_t action);
// Whether `action` can be covered by a policy of a scope of `scope_kind`.
bool quorum_action_fits(uint8_t scope_kind, uint8_t action);
const char* proposal_state_name(uint8_t state);  // "open", "executed", ...
std::optional<uint8_t> proposal_state_of(std::string_view name);

// ---- transaction bodies ----

struct QuorumScope {
  uint8_t kind = kQuorumOnRepo;
  uint64_t repo_id = 0;     // kQuorumOnRepo
  crypto::PublicKey org{};  // kQuorumOnOrg
  bool operator==(const QuorumScope&) const = default;
};

struct QuorumRule {
  uint8_t action = kActTransferRepo;
  uint64_t threshold = 1;  // k
  bool operator==(const QuorumRule&) const = default;
};

// Sets the policy of `scope` (no rules: removes it). The author must be an eligible approver;
// once a policy exists, changing it is itself covered (kActChangePolicy: its own rule, or the
// highest threshold of the policy) and needs a proposal.
struct SetQuorumPolicy {
  QuorumScope scope;
  std::vector<QuorumRule> rules;
};
// A proposal to run `action_body` (a transaction body of kind `action_kind`) in `scope`.
struct CreateProposal {
  QuorumScope scope;
  std::string title;
  std::string description;
  uint64_t expires_ms = 0;  // absolute Unix ms, compared with the block timestamp
  uint32_t action_kind = 0;
  Bytes action_body;
};
struct VoteProposal {
  uint64_t proposal_id = 0;
  bool approve = true;
};
struct CancelProposal {
  uint64_t proposal_id = 0;
};

template <typename T>
inline constexpr bool kIsProposalBody =
    std::is_same_v<T, SetQuorumPolicy> || std::is_same_v<T, CreateProposal> ||
    std::is_same_v<T, VoteProposal> || std::is_same_v<T, CancelProposal>;

// ---- records ----

struct QuorumPolicy {
  QuorumScope scope;
  std::vector<QuorumRule> rules;  // ascending action
  crypto::PublicKey set_by{};
  uint64_t updated_ms = 0;
  // The threshold covering `action` here, if any (kActChangePolicy defaults to the highest
  // threshold of a non-empty policy).
  std::optional<uint64_t> threshold(uint8_t action) const;
};

struct Proposal {
  uint64_t id = 0;
  QuorumScope scope;
  crypto::PublicKey proposer{};
  std::string title;
  std::string description;
  uint8_t action = 0;  // QuorumAction
  uint32_t action_kind = 0;
  Bytes action_body;
  uint64_t threshold = 0;  // k, from the policy at creation
  uint64_t created_ms = 0;
  uint64_t expires_ms = 0;
  uint8_t state = kProposalOpen;  // as stored: never kProposalExpired
  uint64_t decided_ms = 0;
  std::string reason;                      // kProposalFailed: why the action was refused
  uint64_t approvals = 0, rejections = 0;  // eligible votes after the last vote
};
// The state at block time `now_ms` (open past expiry reads as expired).
uint8_t proposal_state_at(const Proposal& p, uint64_t now_ms);

struct ProposalVote {
  uint64_t proposal_id = 0;
  crypto::PublicKey voter{};
  bool approve = true;
  uint64_t voted_ms = 0;
};

// ---- encodings (proposal.cpp) ----

void encode_proposal_body(codec::Writer& w, const SetQuorumPolicy& b);
void encode_proposal_body(codec::Writer& w, const CreateProposal& b);
void encode_proposal_body(codec::Writer& w, const VoteProposal& b);
void encode_proposal_body(codec::Writer& w, const CancelProposal& b);
// Throws codec::DecodeError; CreateProposal's embedded body must be a canonical body of a kind
// a proposal may carry (proposable_kind).
template <typename T>
T decode_proposal_body(codec::Reader& r);
bool proposable_kind(uint32_t kind);

std::string encode_quorum_policy(const QuorumPolicy& x);
QuorumPolicy decode_quorum_policy(std::string_view data);
std::string encode_proposal(const Proposal& x);
Proposal decode_proposal(std::string_view data);
std::string encode_proposal_vote(const ProposalVote& x);
ProposalVote decode_proposal_vote(std::string_view data);

// ---- limits ----
inline constexpr size_t kMaxProposalTitle = 256;
inline constexpr size_t kMaxProposalDescription = 4096;
inline constexpr size_t kMaxQuorumRules = 16;
inline constexpr uint64_t kMaxProposalLifetimeMs = 90ull * 24 * 60 * 60 * 1000;

// ---- reads and rules (proposal_exec.cpp), over the state of a StateView ----

std::string quorum_scope_key(const QuorumScope& scope);
std::string quorum_policy_key(const QuorumScope& scope);
std::string proposal_key(uint64_t id);
std::string proposal_vote_key(uint64_t id, const crypto::PublicKey& voter);
std::string proposal_index_key(const QuorumScope& scope, uint64_t id);
inline constexpr std::string_view kNextProposalId = "next_proposal_id";

std::optional<QuorumPolicy> quorum_policy(const StateView& view, const QuorumScope& scope);
std::optional<Proposal> proposal(const StateView& view, uint64_t id);
std::vector<ProposalVote> proposal_votes(const StateView& view, uint64_t id);
// Every proposal, newest first.
std::vector<Proposal> all_proposals(const StateView& view);
// Proposals of a scope, newest first.
std::vector<Proposal> proposals_of(const StateView& view, const QuorumScope& scope);
// The eligible approvers of `scope` now, ascending by key (empty when the scope is gone).
std::vector<crypto::PublicKey> quorum_eligible(const StateView& view, const QuorumScope& scope);
bool quorum_is_eligible(const StateView& view, const QuorumScope& scope,
                        const crypto::PublicKey& who);
// "maintainers" or "owners".
const char* quorum_approvers_noun(const QuorumScope& scope);

// What a transaction does that a policy may cover: (scope, action), or nullopt.
struct CoveredAction {
  QuorumScope scope;
  uint8_t action = 0;
};
std::optional<CoveredAction> classify_action(const StateView& view, const Transaction& tx);

// Nullopt when no policy covers `tx`; else the refusal ("transfer_repository requires a
// proposal approved by 2 of 3 maintainers").
std::optional<std::string> quorum_refusal(const StateView& view, const Transaction& tx);

}  // namespace guts::state
