// Quorum decisions (state/proposal.h): a 2-of-3 policy on an organization's repository, the
// guard refusing the direct action, proposals executed once at the threshold, rejection,
// expiry, ineligible and double votes, a failing action that leaves no partial effect, and
// moves of a protected branch. The proposer's signature is the first approval.
#include "state/proposal.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/proposal_objects.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

struct Env {
  TempDb tmp{"proposal"};
  Schema schema{*tmp.db};
  DbReader base{*tmp.db};
  Overlay state{base};
  uint64_t now = kT0;
  // alice, bob, carol: owners of acme; dave: a member (read).
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4);
  crypto::PublicKey org{};
  uint64_t repo = 0;
  QuorumScope scope;

  StateView view() { return StateView(schema, state); }
  Status as(const crypto::SigningKey& k, TxBody body) {
    Executor ex{schema, {"test-chain", 1, now}};
    uint64_t n = view().nonce(k.public_key(), k.public_key()) + 1;
    return ex.apply(state, own_tx(k, n, std::move(body), now));
  }
  void ok(const crypto::SigningKey& k, TxBody body) {
    auto st = as(k, std::move(body));
    ASSERT_TRUE(st.ok()) << st.message();
  }
  Env() {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(dave, RegisterUser{"dave"});
    ok(alice, CreateOrg{"acme", "", ""});
    org = view().org_by_login("acme")->key;
    ok(alice, SetOrgMember{org, bob.public_key(), kMemberAdd, kOrgOwner});
    ok(alice, SetOrgMember{org, carol.public_key(), kMemberAdd, kOrgOwner});
    ok(alice, SetOrgMember{org, dave.public_key(), kMemberAdd, kOrgMember});
    ok(alice, CreateOrgRepo{org, "app", "", false, "main"});
    repo = view().repo_by_name(org, "app")->id;
    scope = {kQuorumOnRepo, repo, {}};
    ok(alice, SetQuorumPolicy{scope, {{kActDeleteRepo, 2}, {kActTransferRepo, 2}}});
  }
  CreateProposal delete_proposal() {
    return {scope,
            "Delete app",
            "",
            now + 3600000,
            static_cast<uint32_t>(TxKind::kDeleteRepo),
            encode_body(DeleteRepo{repo})};
  }
  uint64_t propose(const crypto::SigningKey& k, CreateProposal p) {
    EXPECT_TRUE(as(k, std::move(p)).ok());
    return view().next_id(kNextProposalId) - 1;
  }
  uint8_t state_of(uint64_t id) { return proposal_state_at(*proposal(view(), id), now); }
};

TEST(Proposal, BodiesRoundTrip) {
  Env e;
  for (TxBody b :
       {TxBody(SetQuorumPolicy{e.scope, {{kActDeleteRepo, 2}}}), TxBody(e.delete_proposal()),
        TxBody(VoteProposal{7, false}), TxBody(CancelProposal{7})}) {
    Bytes enc = encode_body(b);
    EXPECT_EQ(encode_body(decode_body(kind_of(b), enc)), enc);
  }
  EXPECT_EQ(kind_of(TxBody(CancelProposal{1})), TxKind::kCancelProposal);
  // A proposal cannot carry a proposal.
  CreateProposal nested = e.delete_proposal();
  nested.action_kind = static_cast<uint32_t>(TxKind::kVoteProposal);
  nested.action_body = encode_body(VoteProposal{1, true});
  EXPECT_THROW(decode_body(TxKind::kCreateProposal, encode_body(nested)), codec::DecodeError);
}

// The git objects a proposal's action points at travel with its block (data availability).
TEST(Proposal, ObjectTipsOfTheAction) {
  Env e;
  using Tips = std::vector<std::pair<uint64_t, Bytes>>;
  CreateProposal merge = e.delete_proposal();
  merge.action_kind = static_cast<uint32_t>(TxKind::kMergePullRequest);
  merge.action_body =
      encode_body(MergePullRequest{e.repo, 1, kMergeSquash, oid(2), oid(1), oid(3)});
  EXPECT_EQ(proposal_object_tips(merge), (Tips{{e.repo, oid(3)}}));
  CreateProposal move = e.delete_proposal();
  move.action_kind = static_cast<uint32_t>(TxKind::kUpdateRefs);
  move.action_body = encode_body(UpdateRefs{
      e.repo, {{"refs/heads/main", oid(1), oid(4)}, {"refs/heads/old", oid(1), {}}}, false});
  EXPECT_EQ(proposal_object_tips(move), (Tips{{e.repo, oid(4)}}));
  EXPECT_TRUE(proposal_object_tips(e.delete_proposal()).empty());
  CreateProposal garbage = e.delete_proposal();
  garbage.action_kind = static_cast<uint32_t>(TxKind::kMergePullRequest);
  garbage.action_body = Bytes{1, 2, 3};
  EXPECT_TRUE(proposal_object_tips(garbage).empty());
}

TEST(Proposal, DirectActionRefusedUnderPolicy) {
  Env e;
  auto st = e.as(e.alice, DeleteRepo{e.repo});
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("requires a proposal approved by 2 of 3 maintainers"),
            std::string::npos)
      << st.message();
  // Changing the policy needs the quorum too.
  EXPECT_EQ(e.as(e.alice, SetQuorumPolicy{e.scope, {}}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(e.view().repo(e.repo));
}

TEST(Proposal, ThresholdExecutesOnce) {
  Env e;
  uint64_t id = e.propose(e.alice, e.delete_proposal());
  EXPECT_EQ(proposal(e.view(), id)->approvals, 1u);  // the proposer's
  EXPECT_TRUE(e.view().repo(e.repo));
  EXPECT_EQ(e.state_of(id), kProposalOpen);
  e.ok(e.bob, VoteProposal{id, true});
  EXPECT_FALSE(e.view().repo(e.repo));
  EXPECT_EQ(e.state_of(id), kProposalExecuted);
  // Decided: no later vote changes it.
  EXPECT_EQ(e.as(e.carol, VoteProposal{id, true}).code(), Code::kConflict);
}

TEST(Proposal, IneligibleAndDoubleVotes) {
  Env e;
  uint64_t id = e.propose(e.alice, e.delete_proposal());
  EXPECT_EQ(e.as(e.dave, VoteProposal{id, true}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, VoteProposal{id, true}).code(), Code::kConflict);
  e.ok(e.alice, VoteProposal{id, false});  // changeable until decided
  EXPECT_EQ(proposal(e.view(), id)->approvals, 0u);
  EXPECT_EQ(e.as(e.dave, CancelProposal{id}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, VoteProposal{999, true}).code(), Code::kNotFound);
}

TEST(Proposal, RejectedWhenUnreachable) {
  Env e;
  uint64_t id = e.propose(e.alice, e.delete_proposal());
  e.ok(e.bob, VoteProposal{id, false});
  EXPECT_EQ(e.state_of(id), kProposalOpen);
  e.ok(e.carol, VoteProposal{id, false});
  EXPECT_EQ(e.state_of(id), kProposalRejected);
  EXPECT_TRUE(e.view().repo(e.repo));
}

TEST(Proposal, ExpiresByBlockTime) {
  Env e;
  uint64_t id = e.propose(e.alice, e.delete_proposal());
  e.now += 3600000;  // a later block
  EXPECT_EQ(e.state_of(id), kProposalExpired);
  EXPECT_EQ(e.as(e.bob, VoteProposal{id, true}).code(), Code::kConflict);
  EXPECT_TRUE(e.view().repo(e.repo));
}

TEST(Proposal, FailedActionLeavesNoPartialEffect) {
  Env e;
  // Transfer to the proposer; then the proposer stops being an owner before the approval.
  CreateProposal p{e.scope,
                   "Move",
                   "",
                   e.now + 3600000,
                   static_cast<uint32_t>(TxKind::kTransferRepo),
                   encode_body(TransferRepo{e.repo, e.carol.public_key(), std::nullopt})};
  uint64_t id = e.propose(e.carol, p);
  e.ok(e.alice, SetOrgMember{e.org, e.carol.public_key(), kMemberAdd, kOrgMember});
  e.ok(e.alice, VoteProposal{id, true});  // carol's own approval no longer counts
  EXPECT_EQ(e.state_of(id), kProposalOpen);
  e.ok(e.bob, VoteProposal{id, true});
  auto pr = *proposal(e.view(), id);
  EXPECT_EQ(pr.state, kProposalFailed);
  EXPECT_FALSE(pr.reason.empty());
  EXPECT_EQ(e.view().repo(e.repo)->owner, e.org);
}

TEST(Proposal, PolicyValidation) {
  Env e;
  QuorumScope other{kQuorumOnOrg, 0, e.org};
  EXPECT_EQ(e.as(e.alice, SetQuorumPolicy{other, {{kActAddOrgOwner, 4}}}).code(),
            Code::kInvalidArgument);  // k > n
  EXPECT_EQ(e.as(e.alice, SetQuorumPolicy{other, {{kActDeleteRepo, 1}}}).code(),
            Code::kInvalidArgument);  // not an org action
  EXPECT_EQ(e.as(e.alice, SetQuorumPolicy{e.scope, {{kActMergeProtected, 1}, {kActDeleteRepo, 2}}})
                .code(),
            Code::kPermissionDenied);  // a policy exists: changing it needs the quorum
  EXPECT_EQ(e.as(e.dave, SetQuorumPolicy{other, {{kActAddOrgOwner, 1}}}).code(),
            Code::kPermissionDenied);
  e.ok(e.alice, SetQuorumPolicy{other, {{kActAddOrgOwner, 2}}});
  auto st = e.as(e.alice, SetOrgMember{e.org, e.dave.public_key(), kMemberAdd, kOrgOwner});
  EXPECT_EQ(st.code(), Code::kPermissionDenied) << st.message();
  // Relaxing the repository policy by proposal.
  CreateProposal relax{e.scope,
                       "Relax",
                       "",
                       e.now + 1000,
                       static_cast<uint32_t>(TxKind::kSetQuorumPolicy),
                       encode_body(SetQuorumPolicy{e.scope, {}})};
  uint64_t id = e.propose(e.bob, relax);
  e.ok(e.alice, VoteProposal{id, true});
  EXPECT_FALSE(quorum_policy(e.view(), e.scope));
  EXPECT_EQ(e.as(e.carol, VoteProposal{id, true}).code(), Code::kConflict);
  e.ok(e.alice, DeleteRepo{e.repo});
}

TEST(Proposal, ProtectedBranchMovesNeedAProposal) {
  Env e;
  const std::string main = "refs/heads/main";
  e.ok(e.alice, UpdateRefs{e.repo, {{main, {}, oid(1)}}, false});
  ProtectionRule rule;
  rule.repo_id = e.repo;
  rule.pattern = "main";
  e.ok(e.alice, SetBranchProtection{rule});
  // Adding the merge rule is a policy change: it takes the current quorum.
  CreateProposal add{
      e.scope,
      "Merges by quorum",
      "",
      e.now + 3600000,
      static_cast<uint32_t>(TxKind::kSetQuorumPolicy),
      encode_body(SetQuorumPolicy{
          e.scope, {{kActDeleteRepo, 2}, {kActTransferRepo, 2}, {kActMergeProtected, 2}}})};
  uint64_t id = e.propose(e.alice, add);
  e.ok(e.carol, VoteProposal{id, true});
  ASSERT_EQ(e.state_of(id), kProposalExecuted);

  auto st = e.as(e.bob, UpdateRefs{e.repo, {{main, oid(1), oid(2)}}, false});
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("merge_protected_branch requires a proposal approved by 2 of 3"),
            std::string::npos)
      << st.message();
  // Other branches, and creating one, are not covered.
  e.ok(e.bob, UpdateRefs{e.repo, {{"refs/heads/dev", {}, oid(3)}}, false});
  e.ok(e.bob, UpdateRefs{e.repo, {{"refs/heads/dev", oid(3), oid(4)}}, false});

  CreateProposal move{e.scope,
                      "Ship",
                      "",
                      e.now + 3600000,
                      static_cast<uint32_t>(TxKind::kUpdateRefs),
                      encode_body(UpdateRefs{e.repo, {{main, oid(1), oid(4)}}, false})};
  uint64_t m = e.propose(e.bob, move);
  EXPECT_EQ(*e.view().ref(e.repo, main), oid(1));
  e.ok(e.carol, VoteProposal{m, true});
  EXPECT_EQ(e.state_of(m), kProposalExecuted);
  EXPECT_EQ(*e.view().ref(e.repo, main), oid(4));
  // A stale proposal (main moved since) fails without effect.
  move.title = "Stale";
  move.action_body = encode_body(UpdateRefs{e.repo, {{main, oid(4), oid(3)}}, false});
  uint64_t stale = e.propose(e.bob, move);
  move.title = "First";
  move.action_body = encode_body(UpdateRefs{e.repo, {{main, oid(4), oid(2)}}, false});
  uint64_t first = e.propose(e.alice, move);
  e.ok(e.carol, VoteProposal{first, true});
  EXPECT_EQ(*e.view().ref(e.repo, main), oid(2));
  e.ok(e.carol, VoteProposal{stale, true});
  EXPECT_EQ(e.state_of(stale), kProposalFailed);
  EXPECT_EQ(*e.view().ref(e.repo, main), oid(2));
}

}  // namespace
