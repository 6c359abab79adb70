// Quorum decisions (state/proposal.h; docs/governance.md "Quorum decisions"): reads, the
// eligibility rule, the guard refusing covered actions, and the validity and application of
// kinds 37-40. Rejections name the offending field as "<field>: <reason>" (422), unknown
// proposals, repositories and organizations are kNotFound (404), missing rights
// kPermissionDenied (403), proposals no longer open kConflict (409). Every rejection leaves the
// state untouched (the executor runs each transaction in a child overlay), and an approved
// action that fails leaves only the vote and the proposal's `failed` state.
#include <algorithm>
#include <functional>
#include <set>

#include "codec/codec.h"
#include "core/utf8.h"
#include "crypto/did.h"
#include "state/executor.h"
#include "state/permission.h"
#include "state/proposal_actions.h"
#include "state/protection.h"
#include "state/rejections.h"
#include "state/validator_set_state.h"
#include "state/view.h"

namespace guts::state {

using reject::conflict;
using reject::denied;
using reject::invalid;
using reject::not_found;
using storage::be64;
using storage::read_be64;

// ---- keys and reads ----

std::string quorum_scope_key(const QuorumScope& scope) {
  if (scope.kind == kQuorumOnOrg) return "O" + key_of(scope.org);
  return "R" + be64(scope.repo_id);
}
std::string quorum_policy_key(const QuorumScope& scope) {
  return "Qp" + quorum_scope_key(scope);
}
std::string proposal_key(uint64_t id) {
  return "Qr" + be64(id);
}
std::string proposal_vote_key(uint64_t id, const crypto::PublicKey& voter) {
  return "Qv" + be64(id) + key_of(voter);
}
std::string proposal_index_key(const QuorumScope& scope, uint64_t id) {
  return "Qs" + quorum_scope_key(scope) + be64(id);
}

std::optional<QuorumPolicy> quorum_policy(const StateView& view, const QuorumScope& scope) {
  auto v = view.kv().get(view.schema().governance, quorum_policy_key(scope));
  if (!v) return std::nullopt;
  return decode_quorum_policy(*v);
}

std::optional<Proposal> proposal(const StateView& view, uint64_t id) {
  auto v = view.kv().get(view.schema().governance, proposal_key(id));
  if (!v) return std::nullopt;
  return decode_proposal(*v);
}

std::vector<ProposalVote> proposal_votes(const StateView& view, uint64_t id) {
  std::vector<ProposalVote> out;
  view.kv().scan_prefix(view.schema().governance, "Qv" + be64(id),
                        [&](std::string_view, std::string_view v) {
                          out.push_back(decode_proposal_vote(v));
                          return true;
                        });
  return out;
}

std::vector<Proposal> all_proposals(const StateView& view) {
  std::vector<Proposal> out;
  view.kv().scan_prefix(view.schema().governance, "Qr", [&](std::string_view, std::string_view v) {
    out.push_back(decode_proposal(v));
    return true;
  });
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Proposal> proposals_of(const StateView& view, const QuorumScope& scope) {
  std::string prefix = "Qs" + quorum_scope_key(scope);
  std::vector<uint64_t> ids;
  view.kv().scan_prefix(view.schema().governance, prefix,
                        [&](std::string_view k, std::string_view) {
                          ids.push_back(read_be64(k.substr(prefix.size())));
                          return true;
                        });
  std::vector<Proposal> out;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it)
    if (auto p = proposal(view, *it)) out.push_back(std::move(*p));
  return out;
}

// ---- eligibility ----

std::vector<crypto::PublicKey> quorum_eligible(const StateView& view, const QuorumScope& scope) {
  std::vector<crypto::PublicKey> out;
  if (scope.kind == kQuorumOnOrg) {
    for (const auto& m : view.org_members(scope.org))
      if (m.state == kMembershipActive && m.role == kOrgOwner) out.push_back(m.user);
    return out;
  }
  auto repo = view.repo(scope.repo_id);
  if (!repo) return out;
  // Every source of a permission above read names the identity: the owner, the owning
  // organization's members (owners, default permission, teams) and the collaborators.
  std::set<crypto::PublicKey> candidates;
  if (view.org(repo->owner)) {
    for (const auto& m : view.org_members(repo->owner))
      if (m.state == kMembershipActive) candidates.insert(m.user);
  } else {
    candidates.insert(repo->owner);
  }
  for (const auto& c : view.collaborators(repo->id)) candidates.insert(c.user);
  for (const auto& k : candidates)
    if (effective_permission(view, *repo, k) >= Permission::kMaintain) out.push_back(k);
  return out;
}

bool quorum_is_eligible(const StateView& view, const QuorumScope& scope,
                        const crypto::PublicKey& who) {
  if (scope.kind == kQuorumOnOrg) {
    auto m = view.org_membership(scope.org, who);
    return m && m->state == kMembershipActive && m->role == kOrgOwner;
  }
  auto repo = view.repo(scope.repo_id);
  return repo && effective_permission(view, *repo, who) >= Permission::kMaintain;
}

const char* quorum_approvers_noun(const QuorumScope& scope) {
  return scope.kind == kQuorumOnOrg ? "owners" : "maintainers";
}

// ---- the guard ----

std::optional<CoveredAction> classify_action(const StateView& view, const Transaction& tx) {
  return std::visit(
      [&](const auto& b) -> std::optional<CoveredAction> {
        using T = std::decay_t<decltype(b)>;
        QuorumScope repo_scope{kQuorumOnRepo, 0, {}};
        if constexpr (std::is_same_v<T, TransferRepo>) {
          repo_scope.repo_id = b.repo_id;
          return CoveredAction{repo_scope, kActTransferRepo};
        } else if constexpr (std::is_same_v<T, DeleteRepo>) {
          repo_scope.repo_id = b.repo_id;
          return CoveredAction{repo_scope, kActDeleteRepo};
        } else if constexpr (std::is_same_v<T, SetOrgMember>) {
          if (b.action == kMemberRemove || b.role != kOrgOwner) return std::nullopt;
          auto m = view.org_membership(b.org, b.user);
          if (m && m->role == kOrgOwner && m->state == kMembershipActive) return std::nullopt;
          return CoveredAction{{kQuorumOnOrg, 0, b.org}, kActAddOrgOwner};
        } else if constexpr (std::is_same_v<T, SetQuorumPolicy>) {
          return CoveredAction{b.scope, kActChangePolicy};
        } else if constexpr (std::is_same_v<T, UpdateRefs>) {
          // Moving an existing branch a protection rule applies to (creating or deleting one is
          // left to the rule itself).
          repo_scope.repo_id = b.repo_id;
          std::optional<std::vector<ProtectionRule>> rules;
          for (const auto& c : b.changes) {
            if (c.old_oid.empty() || c.new_oid.empty() || !c.ref.starts_with("refs/heads/"))
              continue;
            if (!rules) rules = protection_rules(view, b.repo_id);
            if (applicable_rule(*rules, std::string_view(c.ref).substr(11)))
              return CoveredAction{repo_scope, kActMergeProtected};
          }
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, MergePullRequest>) {
          repo_scope.repo_id = b.repo_id;
          auto pull = view.issue(b.repo_id, b.number);
          if (!pull || !applicable_rule(protection_rules(view, b.repo_id), pull->base_ref))
            return std::nullopt;
          return CoveredAction{repo_scope, kActMergeProtected};
        } else if constexpr (std::is_same_v<T, SetBranchProtection>) {
          repo_scope.repo_id = b.rule.repo_id;
          return CoveredAction{repo_scope, kActChangeProtection};
        } else if constexpr (std::is_same_v<T, DeleteBranchProtection>) {
          repo_scope.repo_id = b.repo_id;
          return CoveredAction{repo_scope, kActChangeProtection};
        } else if constexpr (std::is_same_v<T, SetValidatorSet>) {
          auto gov = network_governance(view);
          if (!gov) return std::nullopt;  // refused by the action's own rule
          return CoveredAction{{kQuorumOnOrg, 0, gov->org}, kActChangeValidators};
        } else {
          return std::nullopt;
        }
      },
      tx.body);
}

std::optional<std::string> quorum_refusal(const StateView& view, const Transaction& tx) {
  auto covered = classify_action(view, tx);
  if (!covered) return std::nullopt;
  // A repository the author cannot see is answered by the action's own rules (404).
  if (covered->scope.kind == kQuorumOnRepo) {
    auto repo = view.repo(covered->scope.repo_id);
    if (!repo || effective_permission(view, *repo, tx.author) == Permission::kNone)
      return std::nullopt;
  }
  auto policy = quorum_policy(view, covered->scope);
  if (!policy) return std::nullopt;
  auto k = policy->threshold(covered->action);
  if (!k) return std::nullopt;
  size_t n = quorum_eligible(view, covered->scope).size();
  return std::string(quorum_action_name(covered->action)) + " requires a proposal approved by " +
         std::to_string(*k) + " of " + std::to_string(n) + " " +
         quorum_approvers_noun(covered->scope) + " (quorum policy of the " +
         (covered->scope.kind == kQuorumOnOrg ? "organization" : "repository") + ")";
}

// ---- application ----

namespace {

Status field(const char* name, const std::string& why) {
  return invalid(std::string(name) + ": " + why);
}

constexpr size_t kMaxStoredReason = 1024;

using RunAction = std::function<Status(Overlay&, const Transaction&)>;

class ProposalApply {
 public:
  ProposalApply(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now, RunAction run)
      : s_(s),
        state_(state),
        view_(s, state),
        tx_(tx),
        author_(tx.author),
        now_(now),
        run_(std::move(run)) {}

  Status operator()(const SetQuorumPolicy& b);
  Status operator()(const CreateProposal& b);
  Status operator()(const VoteProposal& b);
  Status operator()(const CancelProposal& b);
  template <typename T>
  Status operator()(const T&) {
    return invalid("not a quorum decision transaction");
  }

 private:
  // The scope exists and the author may act in it (eligible approver); `what` names the act.
  Status check_scope(const QuorumScope& scope, const std::string& what) {
    if (scope.kind == kQuorumOnOrg) {
      auto org = view_.org(scope.org);
      if (!org)
        return not_found("org: " + crypto::did_from_key(scope.org) + " is not an organization");
      if (!quorum_is_eligible(view_, scope, author_))
        return denied("You must be an owner of the organization " + org->login + " to " + what +
                      ".");
      return Status::Ok();
    }
    auto repo = view_.repo(scope.repo_id);
    auto have = repo ? effective_permission(view_, *repo, author_) : Permission::kNone;
    if (have == Permission::kNone)
      return not_found("repository " + std::to_string(scope.repo_id) + " does not exist");
    if (have < Permission::kMaintain)
      return denied("You must have maintain or admin permission on the repository to " + what +
                    ".");
    return Status::Ok();
  }
  Status load(uint64_t id, Proposal* out) {
    auto p = proposal(view_, id);
    if (!p) return not_found("proposal " + std::to_string(id) + " does not exist");
    *out = std::move(*p);
    return Status::Ok();
  }
  Status must_be_open(const Proposal& p) {
    uint8_t st = proposal_state_at(p, now_);
    if (st != kProposalOpen)
      return conflict("proposal " + std::to_string(p.id) + " is " + proposal_state_name(st));
    return Status::Ok();
  }
  // The embedded action as a transaction of the proposer's (never signed: executed only here).
  Transaction action_tx(const crypto::PublicKey& proposer, uint32_t kind, const Bytes& body) {
    Transaction t;
    t.chain_id = tx_.chain_id;
    t.author = t.signer = proposer;
    t.timestamp_ms = now_;
    t.body = decode_body(static_cast<TxKind>(kind), body);
    return t;
  }
  void put(const Proposal& p) { state_.put(s_.governance, proposal_key(p.id), encode_proposal(p)); }
  // Counts the votes of the identities eligible now; at k approvals runs the action (executed,
  // or failed with the reason and no effect), when k became unreachable rejects; stores `p`.
  void decide(Proposal& p);

  const Schema& s_;
  Overlay& state_;
  StateView view_;
  const Transaction& tx_;
  const crypto::PublicKey& author_;
  uint64_t now_;
  RunAction run_;
};

Status ProposalApply::operator()(const SetQuorumPolicy& b) {
  if (auto st = check_scope(b.scope, "set its quorum policy"); !st.ok()) return st;
  const size_t n = quorum_eligible(view_, b.scope).size();
  const char* where = b.scope.kind == kQuorumOnOrg ? "an organization" : "a repository";
  std::vector<QuorumRule> rules = b.rules;
  std::sort(rules.begin(), rules.end(),
            [](const QuorumRule& x, const QuorumRule& y) { return x.action < y.action; });
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    std::string name = r.action >= 1 && r.action <= kMaxQuorumAction
                           ? quorum_action_name(r.action)
                           : "action " + std::to_string(r.action);
    if (r.action < 1 || r.action > kMaxQuorumAction)
      return field("rules", name + " is not an action a quorum decides");
    if (quorum_action_reserved(r.action))
      return field("rules", name + " is reserved: enforceable once branch protection lands");
    if (!quorum_action_fits(b.scope.kind, r.action))
      return field("rules", name + " cannot be required on " + where);
    if (i > 0 && rules[i - 1].action == r.action) return field("rules", name + " is listed twice");
    if (r.threshold < 1) return field("threshold", name + ": must be at least 1");
    if (r.threshold > n)
      return field("threshold", name + ": " + std::to_string(r.threshold) + " approvals of " +
                                    std::to_string(n) + " eligible " +
                                    quorum_approvers_noun(b.scope) + " can never be reached");
  }
  if (rules.empty()) {
    state_.del(s_.governance, quorum_policy_key(b.scope));
    return Status::Ok();
  }
  state_.put(s_.governance, quorum_policy_key(b.scope),
             encode_quorum_policy({b.scope, rules, author_, now_}));
  return Status::Ok();
}

Status ProposalApply::operator()(const CreateProposal& b) {
  if (auto st = check_scope(b.scope, "propose"); !st.ok()) return st;
  if (b.title.empty()) return field("title", "must not be empty");
  if (auto e = profile_text_error(b.title, kMaxProposalTitle)) return field("title", *e);
  if (!is_valid_utf8(b.description)) return field("description", "is not valid UTF-8");
  if (b.expires_ms <= now_) return field("expires_at", "is in the past");
  if (b.expires_ms - now_ > kMaxProposalLifetimeMs)
    return field("expires_at", "is more than 90 days ahead");
  Transaction action;
  try {
    action = action_tx(author_, b.action_kind, b.action_body);
  } catch (const codec::DecodeError& e) {
    return field("action", e.what());
  }
  auto covered = classify_action(view_, action);
  if (!covered) return field("action", "is not an action a quorum decides");
  if (!(covered->scope == b.scope)) return field("action", "acts outside the proposal's scope");
  auto policy = quorum_policy(view_, b.scope);
  auto k = policy ? policy->threshold(covered->action) : std::nullopt;
  if (!k)
    return field("action", std::string("no quorum policy here covers ") +
                               quorum_action_name(covered->action) + ": submit it directly");
  // The action must be valid now (it is checked again when approved).
  {
    Overlay trial(static_cast<const KvReader&>(state_));
    Status st = run_(trial, action);
    if (!st.ok()) {
      if (st.code() == Code::kInvalidArgument || st.code() == Code::kAlreadyExists)
        return {st.code(), "action: " + st.message()};
      return st;
    }
  }
  Proposal p;
  p.id = view_.next_id(kNextProposalId);
  p.scope = b.scope;
  p.proposer = author_;
  p.title = b.title;
  p.description = b.description;
  p.action = covered->action;
  p.action_kind = b.action_kind;
  p.action_body = b.action_body;
  p.threshold = *k;
  p.created_ms = now_;
  p.expires_ms = b.expires_ms;
  state_.put(s_.meta, kNextProposalId, be64(p.id + 1));
  put(p);
  state_.put(s_.governance, proposal_index_key(p.scope, p.id), "");
  state_.put(s_.receipts, key_of(tx_.id()), be64(p.id));
  // The proposer's signature is the first approval (k = 1 executes at once).
  state_.put(s_.governance, proposal_vote_key(p.id, author_),
             encode_proposal_vote({p.id, author_, true, now_}));
  decide(p);
  return Status::Ok();
}

Status ProposalApply::operator()(const VoteProposal& b) {
  Proposal p;
  if (auto st = load(b.proposal_id, &p); !st.ok()) return st;
  if (auto st = must_be_open(p); !st.ok()) return st;
  if (!quorum_is_eligible(view_, p.scope, author_))
    return denied(std::string("Only ") + quorum_approvers_noun(p.scope) + " of the " +
                  (p.scope.kind == kQuorumOnOrg ? "organization" : "repository") +
                  " may vote on proposal " + std::to_string(p.id) + ".");
  auto old = view_.kv().get(s_.governance, proposal_vote_key(p.id, author_));
  if (old && decode_proposal_vote(*old).approve == b.approve)
    return conflict(std::string("you already ") + (b.approve ? "approved" : "rejected") +
                    " proposal " + std::to_string(p.id));
  state_.put(s_.governance, proposal_vote_key(p.id, author_),
             encode_proposal_vote({p.id, author_, b.approve, now_}));
  decide(p);
  return Status::Ok();
}

void ProposalApply::decide(Proposal& p) {
  auto eligible = quorum_eligible(view_, p.scope);
  std::set<crypto::PublicKey> voters(eligible.begin(), eligible.end());
  p.approvals = p.rejections = 0;
  for (const auto& v : proposal_votes(view_, p.id))
    if (voters.count(v.voter)) ++(v.approve ? p.approvals : p.rejections);
  if (p.approvals >= p.threshold) {
    p.decided_ms = now_;
    Status st;
    try {
      Overlay child(static_cast<const KvReader&>(state_));
      st = run_(child, action_tx(p.proposer, p.action_kind, p.action_body));
      if (st.ok()) child.merge_into(state_);
    } catch (const codec::DecodeError& e) {
      st = invalid(std::string("action: ") + e.what());
    }
    if (st.ok()) {
      p.state = kProposalExecuted;
    } else {
      p.state = kProposalFailed;
      p.reason = st.message().substr(0, kMaxStoredReason);
    }
  } else if (eligible.size() < p.threshold + p.rejections) {
    p.state = kProposalRejected;
    p.decided_ms = now_;
  }
  put(p);
}

Status ProposalApply::operator()(const CancelProposal& b) {
  Proposal p;
  if (auto st = load(b.proposal_id, &p); !st.ok()) return st;
  if (p.proposer != author_)
    return denied("Only the proposer can cancel proposal " + std::to_string(p.id) + ".");
  if (auto st = must_be_open(p); !st.ok()) return st;
  p.state = kProposalCancelled;
  p.decided_ms = now_;
  put(p);
  return Status::Ok();
}

}  // namespace

std::optional<Transaction> executed_action(const StateView& before, const StateView& after,
                                           const Transaction& tx) {
  std::optional<uint64_t> id;
  if (const auto* v = std::get_if<VoteProposal>(&tx.body))
    id = v->proposal_id;
  else if (std::holds_alternative<CreateProposal>(tx.body))
    id = after.receipt(tx.id());
  if (!id) return std::nullopt;
  auto now = proposal(after, *id);
  if (!now || now->state != kProposalExecuted) return std::nullopt;
  if (auto was = proposal(before, *id); was && was->state == kProposalExecuted) return std::nullopt;
  Transaction t;
  t.chain_id = tx.chain_id;
  t.author = t.signer = now->proposer;
  t.timestamp_ms = tx.timestamp_ms;
  t.body = decode_body(static_cast<TxKind>(now->action_kind), now->action_body);
  return t;
}

Status Executor::apply_proposal(Overlay& state, const Transaction& tx) const {
  ProposalApply apply(s_, state, tx, ctx_.timestamp_ms,
                      [this](Overlay& s, const Transaction& action) {
                        return apply_body(s, action, /*guarded=*/false);
                      });
  return std::visit(apply, tx.body);
}

}  // namespace guts::state
