// Names and encodings of the quorum decision bodies and records (state/proposal.h).
#include "state/proposal.h"

#include <algorithm>

#include "codec/codec.h"
#include "state/field_codec.h"
#include "state/proposal_objects.h"
#include "state/tx.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;

namespace {

constexpr size_t kMaxActionBytes = 64 * 1024;
constexpr size_t kMaxReason = 4096;

struct ActionName {
  uint8_t action;
  const char* name;
};
constexpr ActionName kActionNames[] = {
    {kActTransferRepo, "transfer_repository"},
    {kActDeleteRepo, "delete_repository"},
    {kActAddOrgOwner, "add_org_owner"},
    {kActChangePolicy, "change_quorum_policy"},
    {kActMergeProtected, "merge_protected_branch"},
    {kActChangeProtection, "change_branch_protection"},
    {kActChangeValidators, "change_validator_set"},
};
constexpr const char* kStateNames[] = {"",        "open",   "executed", "rejected",
                                       "expired", "failed", "cancelled"};

void put_scope(Writer& w, const QuorumScope& s) {
  w.u8(s.kind);
  if (s.kind == kQuorumOnOrg)
    w.fixed(s.org);
  else
    w.varint(s.repo_id);
}
QuorumScope get_scope(Reader& r) {
  QuorumScope s;
  s.kind = r.u8();
  if (s.kind == kQuorumOnRepo)
    s.repo_id = r.varint();
  else if (s.kind == kQuorumOnOrg)
    s.org = r.fixed<32>();
  else
    throw DecodeError("quorum scope must be a repository (1) or an organization (2)");
  return s;
}
void put_rules(Writer& w, const std::vector<QuorumRule>& rules) {
  w.varint(rules.size());
  for (const auto& x : rules) w.u8(x.action).varint(x.threshold);
}
std::vector<QuorumRule> get_rules(Reader& r) {
  size_t n = r.count(kMaxQuorumRules, "quorum rules");
  std::vector<QuorumRule> out(n);
  for (auto& x : out) {
    x.action = r.u8();
    x.threshold = r.varint();
  }
  return out;
}

}  // namespace

const char* quorum_action_name(uint8_t action) {
  for (const auto& a : kActionNames)
    if (a.action == action) return a.name;
  return "unknown";
}
std::optional<uint8_t> quorum_action_of(std::string_view name) {
  for (const auto& a : kActionNames)
    if (name == a.name) return a.action;
  return std::nullopt;
}
bool quorum_action_reserved(uint8_t) {
  return false;  // every action is enforceable since branch protection landed
}
bool quorum_action_fits(uint8_t scope_kind, uint8_t action) {
  switch (action) {
    case kActTransferRepo:
    case kActDeleteRepo:
    case kActMergeProtected:
    case kActChangeProtection:
      return scope_kind == kQuorumOnRepo;
    case kActAddOrgOwner:
    case kActChangeValidators:
      return scope_kind == kQuorumOnOrg;
    case kActChangePolicy:
      return scope_kind == kQuorumOnRepo || scope_kind == kQuorumOnOrg;
    default:
      return false;
  }
}
const char* proposal_state_name(uint8_t state) {
  return state >= 1 && state <= kProposalCancelled ? kStateNames[state] : "unknown";
}
std::optional<uint8_t> proposal_state_of(std::string_view name) {
  for (uint8_t s = 1; s <= kProposalCancelled; ++s)
    if (name == kStateNames[s]) return s;
  return std::nullopt;
}

std::optional<uint64_t> QuorumPolicy::threshold(uint8_t action) const {
  uint64_t highest = 0;
  for (const auto& r : rules) {
    if (r.action == action) return r.threshold;
    highest = std::max(highest, r.threshold);
  }
  if (action == kActChangePolicy && highest > 0) return highest;
  return std::nullopt;
}

uint8_t proposal_state_at(const Proposal& p, uint64_t now_ms) {
  if (p.state == kProposalOpen && now_ms >= p.expires_ms) return kProposalExpired;
  return p.state;
}

std::vector<std::pair<uint64_t, Bytes>> proposal_object_tips(const CreateProposal& b) {
  std::vector<std::pair<uint64_t, Bytes>> out;
  try {
    auto body = decode_body(static_cast<TxKind>(b.action_kind), b.action_body);
    if (const auto* u = std::get_if<UpdateRefs>(&body)) {
      for (const auto& c : u->changes)
        if (!c.new_oid.empty()) out.emplace_back(u->repo_id, c.new_oid);
    } else if (const auto* m = std::get_if<MergePullRequest>(&body)) {
      if (!m->merge_sha.empty()) out.emplace_back(m->repo_id, m->merge_sha);
    }
  } catch (const DecodeError&) {
    out.clear();
  }
  return out;
}

bool proposable_kind(uint32_t kind) {
  switch (static_cast<TxKind>(kind)) {
    case TxKind::kTransferRepo:
    case TxKind::kDeleteRepo:
    case TxKind::kSetOrgMember:
    case TxKind::kSetQuorumPolicy:
    case TxKind::kUpdateRefs:
    case TxKind::kMergePullRequest:
    case TxKind::kSetBranchProtection:
    case TxKind::kDeleteBranchProtection:
    case TxKind::kSetValidatorSet:
      return true;
    default:
      return false;
  }
}

// ---- bodies ----

void encode_proposal_body(Writer& w, const SetQuorumPolicy& b) {
  put_scope(w, b.scope);
  put_rules(w, b.rules);
}
void encode_proposal_body(Writer& w, const CreateProposal& b) {
  put_scope(w, b.scope);
  w.str(b.title).str(b.description).varint(b.expires_ms).varint(b.action_kind).bytes(b.action_body);
}
void encode_proposal_body(Writer& w, const VoteProposal& b) {
  w.varint(b.proposal_id).boolean(b.approve);
}
void encode_proposal_body(Writer& w, const CancelProposal& b) {
  w.varint(b.proposal_id);
}

template <>
SetQuorumPolicy decode_proposal_body<SetQuorumPolicy>(Reader& r) {
  SetQuorumPolicy b;
  b.scope = get_scope(r);
  b.rules = get_rules(r);
  return b;
}
template <>
CreateProposal decode_proposal_body<CreateProposal>(Reader& r) {
  CreateProposal b;
  b.scope = get_scope(r);
  b.title = r.str(kMaxProposalTitle, "title");
  b.description = r.str(kMaxProposalDescription, "description");
  b.expires_ms = r.varint();
  uint64_t kind = r.varint();
  if (!proposable_kind(static_cast<uint32_t>(kind)) || kind > UINT32_MAX)
    throw DecodeError("a proposal cannot carry a transaction of kind " + std::to_string(kind));
  b.action_kind = static_cast<uint32_t>(kind);
  b.action_body = r.bytes(kMaxActionBytes, "action");
  // The embedded body must itself decode (canonically: decode_body checks trailing bytes).
  (void)decode_body(static_cast<TxKind>(b.action_kind), b.action_body);
  return b;
}
template <>
VoteProposal decode_proposal_body<VoteProposal>(Reader& r) {
  VoteProposal b;
  b.proposal_id = r.varint();
  b.approve = r.boolean();
  return b;
}
template <>
CancelProposal decode_proposal_body<CancelProposal>(Reader& r) {
  return CancelProposal{r.varint()};
}

// ---- records ----

std::string encode_quorum_policy(const QuorumPolicy& x) {
  Writer w;
  put_scope(w, x.scope);
  put_rules(w, x.rules);
  w.fixed(x.set_by).varint(x.updated_ms);
  return guts::to_string(w.data());
}
QuorumPolicy decode_quorum_policy(std::string_view data) {
  Reader r(as_bytes(data));
  QuorumPolicy x;
  x.scope = get_scope(r);
  x.rules = get_rules(r);
  x.set_by = r.fixed<32>();
  x.updated_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_proposal(const Proposal& x) {
  Writer w;
  w.varint(x.id);
  put_scope(w, x.scope);
  w.fixed(x.proposer).str(x.title).str(x.description).u8(x.action).varint(x.action_kind);
  w.bytes(x.action_body).varint(x.threshold).varint(x.created_ms).varint(x.expires_ms);
  w.u8(x.state).varint(x.decided_ms).str(x.reason).varint(x.approvals).varint(x.rejections);
  return guts::to_string(w.data());
}
Proposal decode_proposal(std::string_view data) {
  Reader r(as_bytes(data));
  Proposal x;
  x.id = r.varint();
  x.scope = get_scope(r);
  x.proposer = r.fixed<32>();
  x.title = r.str(kMaxProposalTitle);
  x.description = r.str(kMaxProposalDescription);
  x.action = r.u8();
  x.action_kind = static_cast<uint32_t>(r.varint());
  x.action_body = r.bytes(kMaxActionBytes);
  x.threshold = r.varint();
  x.created_ms = r.varint();
  x.expires_ms = r.varint();
  x.state = r.u8();
  x.decided_ms = r.varint();
  x.reason = r.str(kMaxReason);
  x.approvals = r.varint();
  x.rejections = r.varint();
  r.finish();
  return x;
}

std::string encode_proposal_vote(const ProposalVote& x) {
  Writer w;
  w.varint(x.proposal_id).fixed(x.voter).boolean(x.approve).varint(x.voted_ms);
  return guts::to_string(w.data());
}
ProposalVote decode_proposal_vote(std::string_view data) {
  Reader r(as_bytes(data));
  ProposalVote x;
  x.proposal_id = r.varint();
  x.voter = r.fixed<32>();
  x.approve = r.boolean();
  x.voted_ms = r.varint();
  r.finish();
  return x;
}

}  // namespace guts::state
