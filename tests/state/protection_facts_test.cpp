// Branch-protection rules that need git facts (state/git_facts.h, protection_facts.cpp), with a
// fake GitFacts: force pushes detected from the objects, linear history, signatures, `strict`
// checks, code owners; unknown facts at the door and in a block; a byzantine proposer's block
// refused by Chain::verify while a finalized block applies without consulting facts.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "state/git_facts.h"
#include "state/proposal.h"
#include "state/protection.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

using Range = std::pair<Bytes, Bytes>;

struct FakeFacts : GitFacts {
  std::set<Range> ancestors;  // (a, b): a is an ancestor of b
  std::set<Range> merges;     // ranges (old, new) holding a merge commit
  std::set<Range> unsigned_;  // ranges (old, new) holding an unsigned commit
  std::map<Range, std::vector<std::string>> paths;
  std::map<std::pair<Bytes, std::string>, std::string> files;
  std::set<Bytes> missing;  // objects not here
  mutable int calls = 0;

  bool gone(const Bytes& a, const Bytes& b = {}) const {
    ++calls;
    return missing.count(a) || (!b.empty() && missing.count(b));
  }
  std::optional<bool> is_ancestor(uint64_t, const Bytes& a, const Bytes& b) const override {
    if (gone(a, b)) return std::nullopt;
    return a == b || ancestors.count({a, b}) > 0;
  }
  std::optional<bool> has_merge_commits(uint64_t, const Bytes& o, const Bytes& n) const override {
    if (gone(o, n)) return std::nullopt;
    return merges.count({o, n}) > 0;
  }
  std::optional<bool> all_commits_signed(uint64_t, const Bytes& o, const Bytes& n) const override {
    if (gone(o, n)) return std::nullopt;
    return unsigned_.count({o, n}) == 0;
  }
  std::optional<std::vector<std::string>> changed_paths(uint64_t, const Bytes& b,
                                                        const Bytes& h) const override {
    if (gone(b, h)) return std::nullopt;
    auto it = paths.find({b, h});
    return it == paths.end() ? std::vector<std::string>{} : it->second;
  }
  FileFact read_file(uint64_t, const Bytes& c, std::string_view path, size_t) const override {
    FileFact f;
    if (gone(c)) return f;
    auto it = files.find({c, std::string(path)});
    if (it == files.end()) {
      f.state = FileFact::kAbsent;
    } else {
      f.state = FileFact::kPresent;
      f.content = it->second;
    }
    return f;
  }
};

// alice: org owner (admin); bob, carol: write through team "devs"; dave: write through "ops".
struct Env : ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4);
  crypto::PublicKey org{};
  uint64_t repo = 0, devs = 0, ops = 0;
  FakeFacts facts;

  explicit Env(const std::string& name = "protect-facts") : ExecEnv(name) {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(dave, RegisterUser{"dave"});
    ok(alice, CreateOrg{"acme", "", "Acme Inc."});
    org = view().org_by_login("acme")->key;
    for (auto* k : {&bob, &carol, &dave})
      ok(alice, SetOrgMember{org, k->public_key(), kMemberAdd, kOrgMember});
    ok(alice, CreateOrgRepo{org, "app", "", false, "main"});
    repo = view().repo_by_name(org, "app")->id;
    devs = team("devs");
    ops = team("ops");
    ok(alice, SetTeamMember{devs, bob.public_key(), kTeamMember});
    ok(alice, SetTeamMember{devs, carol.public_key(), kTeamMember});
    ok(alice, SetTeamMember{ops, dave.public_key(), kTeamMember});
    ok(alice, SetTeamRepo{devs, repo, 3});
    ok(alice, SetTeamRepo{ops, repo, 3});
    ok(alice, UpdateRefs{repo, {{"refs/heads/main", {}, oid(1)}}});
    door();
  }
  void door() { ex.set_git_facts({&facts, false}); }
  void in_block() { ex.set_git_facts({&facts, true}); }
  uint64_t team(const std::string& name) {
    CreateTeam t;
    t.org = org;
    t.name = name;
    EXPECT_TRUE(as(alice, t).ok());
    return view().team_by_slug(org, team_slug(name))->id;
  }
  ProtectionRule rule(const std::string& pattern = "main") {
    ProtectionRule r;
    r.repo_id = repo;
    r.pattern = pattern;
    return r;
  }
  void protect(const ProtectionRule& r) { ok(alice, SetBranchProtection{r}); }
  Status push(const crypto::SigningKey& k, const std::string& branch, Bytes from, Bytes to,
              bool force = false) {
    UpdateRefs u{repo, {{"refs/heads/" + branch, std::move(from), std::move(to)}}};
    u.force = force;
    return as(k, u);
  }
  Bytes tip(const std::string& branch = "main") {
    auto r = view().ref(repo, "refs/heads/" + branch);
    return r ? *r : Bytes{};
  }
  // A pull request from "topic" (oid 2, on top of main at oid 1) into main.
  uint64_t open_pull() {
    EXPECT_TRUE(push(bob, "topic", {}, oid(2)).ok());
    EXPECT_TRUE(as(bob, OpenPullRequest{repo, "t", "", repo, "topic", "main", oid(2), false}).ok());
    return 1;
  }
  Status merge(const crypto::SigningKey& k, uint64_t n, uint8_t method = kMergeCommit) {
    auto pr = *view().issue(repo, n);
    return as(k, MergePullRequest{repo, n, method, pr.head_sha, tip(), oid(50)});
  }
  Status approve(const crypto::SigningKey& k, uint64_t n) {
    SubmitReview r;
    r.repo_id = repo;
    r.number = n;
    r.event = kReviewApprove;
    return as(k, r);
  }
};

}  // namespace

TEST(ProtectionFacts, ForcePushIsDetectedFromTheObjects) {
  Env env;
  env.protect(env.rule());  // defaults: no force push
  // Not a fast-forward, and the pusher does not claim --force: refused all the same.
  auto st = env.push(env.bob, "main", oid(1), oid(2));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "protected branch: force push not allowed");
  // A fast-forward passes; a claimed force stays refused (the claim only adds).
  env.facts.ancestors.insert({oid(1), oid(2)});
  EXPECT_EQ(env.push(env.bob, "main", oid(1), oid(2), true).message(),
            "protected branch: force push not allowed");
  EXPECT_TRUE(env.push(env.bob, "main", oid(1), oid(2)).ok());
  // The repository's own setting (no protection rule on "topic").
  env.ok(env.alice, UpdateRepo{env.repo, {}, {}, {}, {}, false});
  ASSERT_TRUE(env.push(env.bob, "topic", {}, oid(3)).ok());
  st = env.push(env.bob, "topic", oid(3), oid(4));
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "non-fast-forward updates are not allowed on this repository");
  env.facts.ancestors.insert({oid(3), oid(4)});
  EXPECT_TRUE(env.push(env.bob, "topic", oid(3), oid(4)).ok());
  // Without facts (applying a finalized block) the claim is what counts, as before.
  env.ex.set_git_facts({});
  EXPECT_TRUE(env.push(env.bob, "topic", oid(4), oid(5)).ok());
}

TEST(ProtectionFacts, LinearHistoryAndSignaturesOnPush) {
  Env env;
  auto r = env.rule();
  r.required_linear_history = true;
  r.required_signatures = true;
  env.protect(r);
  env.facts.ancestors = {{oid(1), oid(2)}, {oid(1), oid(3)}};
  env.facts.merges.insert({oid(1), oid(2)});
  EXPECT_EQ(env.push(env.bob, "main", oid(1), oid(2)).message(),
            "protected branch: merge commits not allowed (linear history required)");
  env.facts.unsigned_.insert({oid(1), oid(3)});
  EXPECT_EQ(env.push(env.bob, "main", oid(1), oid(3)).message(),
            "protected branch: commits must be signed");
  // An admin bypasses unless enforce_admins.
  EXPECT_TRUE(env.push(env.alice, "main", oid(1), oid(3)).ok());
  r.enforce_admins = true;
  env.protect(r);
  env.facts.ancestors.insert({oid(3), oid(4)});
  env.facts.unsigned_.insert({oid(3), oid(4)});
  EXPECT_EQ(env.push(env.alice, "main", oid(3), oid(4)).message(),
            "protected branch: commits must be signed");
  env.facts.unsigned_.clear();
  EXPECT_TRUE(env.push(env.alice, "main", oid(3), oid(4)).ok());
  // Creating a branch matching the rule is not a direct push (as before).
  auto rel = env.rule("release/*");
  rel.required_signatures = true;
  env.protect(rel);
  env.facts.unsigned_.insert({{}, oid(6)});
  EXPECT_TRUE(env.push(env.bob, "release/v1", {}, oid(6)).ok());
}

TEST(ProtectionFacts, UnknownPassesAtTheDoorAndRefusesInABlock) {
  Env env;
  auto r = env.rule();
  r.required_signatures = true;
  env.protect(r);
  env.facts.missing.insert(oid(2));  // not replicated here (yet)
  auto d0 = env.state.digest();
  env.in_block();
  auto st = env.push(env.bob, "main", oid(1), oid(2));
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("refs/heads/main"), std::string::npos) << st.message();
  EXPECT_EQ(env.state.digest(), d0);
  env.door();
  EXPECT_TRUE(env.push(env.bob, "main", oid(1), oid(2)).ok());  // the block decides
  // A push no fact-rule concerns never asks (no objects needed).
  Env plain("protect-facts-plain");
  plain.in_block();
  plain.facts.missing.insert(oid(2));
  EXPECT_TRUE(plain.push(plain.bob, "main", oid(1), oid(2)).ok());
  EXPECT_EQ(plain.facts.calls, 0);
}

TEST(ProtectionFacts, StrictChecksOnMerge) {
  Env env;
  auto r = env.rule();
  r.require_status_checks = true;
  r.strict = true;
  env.protect(r);
  uint64_t n = env.open_pull();
  auto st = env.merge(env.bob, n);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "protected branch: branch is not up to date with main");
  env.facts.ancestors.insert({oid(1), oid(2)});
  EXPECT_TRUE(env.merge(env.bob, n).ok());
}

TEST(ProtectionFacts, LinearHistoryAndSignaturesOnMerge) {
  Env env;
  auto r = env.rule();
  r.required_linear_history = true;
  r.required_signatures = true;
  env.protect(r);
  uint64_t n = env.open_pull();
  env.facts.merges.insert({oid(1), oid(50)});  // the merge method writes a merge commit
  EXPECT_EQ(env.merge(env.bob, n).message(),
            "protected branch: merge commits not allowed (linear history required)");
  env.facts.merges.clear();
  env.facts.unsigned_.insert({oid(1), oid(2)});  // the pull request's own commit
  EXPECT_EQ(env.merge(env.bob, n, kMergeSquash).message(),
            "protected branch: commits must be signed");
  env.facts.unsigned_ = {{oid(1), oid(50)}};  // a rebase rewrites (unsigned) commits
  EXPECT_EQ(env.merge(env.bob, n, kMergeRebase).message(),
            "protected branch: commits must be signed");
  EXPECT_TRUE(env.merge(env.bob, n, kMergeSquash).ok());
}

// A quorum of two maintainers (bob and carol maintain through "devs") over moving main, which
// requires linear history; pull request 1; bob proposes its merge (a merge commit, oid 50) and
// so gives the first approval.
namespace {
struct QuorumEnv : Env {
  QuorumScope scope{kQuorumOnRepo, 0, {}};
  MergePullRequest merge_action;
  QuorumEnv() {
    ok(alice, SetTeamRepo{devs, repo, 4});
    auto r = rule();
    r.required_linear_history = true;
    protect(r);
    scope.repo_id = repo;
    ok(alice, SetQuorumPolicy{scope, {{kActMergeProtected, 2}}});
    merge_action = MergePullRequest{repo, open_pull(), kMergeCommit, oid(2), tip(), oid(50)};
  }
  void propose() {
    CreateProposal c;
    c.scope = scope;
    c.title = "Merge #1";
    c.expires_ms = kT0 + 3600 * 1000;
    c.action_kind = static_cast<uint32_t>(TxKind::kMergePullRequest);
    c.action_body = encode_body(TxBody(merge_action));
    ok(bob, c);  // one approval of two: nothing runs yet
  }
};
}  // namespace

// A merge run by a proposal's approving vote (state/proposal_actions.h) is checked against the
// git facts like a direct one: a failing fact refuses the vote, the proposal stays open and
// nothing changes.
TEST(ProtectionFacts, ProposalExecutedMergeIsCheckedLikeADirectOne) {
  QuorumEnv env;
  EXPECT_EQ(env.as(env.bob, env.merge_action).code(), Code::kPermissionDenied);  // a proposal
  env.facts.merges.insert({oid(1), oid(50)});  // the merge method writes a merge commit
  env.propose();
  auto vote = env.as(env.carol, VoteProposal{1, true});
  EXPECT_EQ(vote.message(),
            "protected branch: merge commits not allowed (linear history required)");
  EXPECT_EQ(proposal(env.view(), 1)->state, kProposalOpen);
  EXPECT_EQ(env.tip(), oid(1));
  env.in_block();  // the same in a block
  EXPECT_EQ(env.as(env.carol, VoteProposal{1, true}).code(), Code::kFailedPrecondition);
  // Without the merge commit (facts hold) the approving vote merges.
  env.facts.merges.clear();
  env.door();
  EXPECT_TRUE(env.as(env.carol, VoteProposal{1, true}).ok());
  EXPECT_EQ(proposal(env.view(), 1)->state, kProposalExecuted);
  EXPECT_EQ(env.tip(), oid(50));
}

// Replaying without facts (a finalized block: Chain::commit, guts-node check) executes the vote
// as the validators validated it.
TEST(ProtectionFacts, ReplayedProposalVoteNeedsNoFacts) {
  QuorumEnv env;
  env.propose();
  env.facts.merges.insert({oid(1), oid(50)});
  env.ex.set_git_facts({nullptr, false});
  EXPECT_TRUE(env.as(env.carol, VoteProposal{1, true}).ok());
  EXPECT_EQ(env.tip(), oid(50));
}

TEST(ProtectionFacts, CodeOwnersMustApprove) {
  Env env;
  auto r = env.rule();
  r.require_reviews = true;
  r.required_approving_review_count = 1;
  r.require_code_owner_reviews = true;
  env.protect(r);
  env.facts.files[{oid(1), ".github/CODEOWNERS"}] =
      "# owners\n*       @alice\n/src/   @dave\n/lib/ @acme/devs @acme/nope\n"
      "docs/*  nobody@example.com\n";
  env.facts.files[{oid(1), "CODEOWNERS"}] = "* @bob\n";  // .github/ is read first
  env.facts.paths[{oid(1), oid(2)}] = {"README.md", "docs/x.md", "lib/b.c", "src/a.c"};
  uint64_t n = env.open_pull();
  // carol (in devs) approves: enough approvals, and lib/ (owned by the devs team) is covered.
  ASSERT_TRUE(env.approve(env.carol, n).ok());
  EXPECT_EQ(env.merge(env.bob, n).message(),
            "protected branch: review required from code owners (* owned by @alice)");
  ASSERT_TRUE(env.approve(env.alice, n).ok());
  EXPECT_EQ(env.merge(env.bob, n).message(),
            "protected branch: review required from code owners (/src/ owned by @dave)");
  ASSERT_TRUE(env.approve(env.dave, n).ok());  // docs/* has no resolvable owner: no review
  EXPECT_TRUE(env.merge(env.bob, n).ok());
}

TEST(ProtectionFacts, CodeOwnersFileMissingOrUnknown) {
  Env env;
  auto r = env.rule();
  r.require_reviews = true;
  r.required_approving_review_count = 1;
  r.require_code_owner_reviews = true;
  env.protect(r);
  uint64_t n = env.open_pull();
  ASSERT_TRUE(env.approve(env.carol, n).ok());
  env.facts.missing.insert(oid(1));
  env.in_block();
  EXPECT_EQ(env.merge(env.bob, n).code(), Code::kUnavailable);
  env.facts.missing.clear();
  EXPECT_TRUE(env.merge(env.bob, n).ok());  // no CODEOWNERS: nobody owns anything
}

TEST(ProtectionFacts, ByzantineProposerBlockIsRefusedAndFinalizedBlocksNeedNoFacts) {
  // main requires signed commits. A byzantine proposer includes an unsigned push; the honest
  // validator's Chain::verify (facts: the unsigned commit) refuses it. A block that WAS
  // finalized (2f+1 voted) applies through commit() without consulting facts.
  auto genesis = test_genesis();
  auto alice = key(1);
  auto proposer = key(200).public_key();
  auto pend = [](std::vector<Transaction> txs) {
    std::vector<PendingTx> out;
    for (auto& t : txs) out.push_back({std::move(t), false});
    return out;
  };
  ProtectionRule r;
  r.repo_id = 1;
  r.pattern = "main";
  r.required_signatures = true;
  r.enforce_admins = true;
  std::vector<Transaction> setup = {
      own_tx(alice, 1, RegisterUser{"alice"}), own_tx(alice, 2, CreateRepo{"r", "", false, "main"}),
      own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, oid(1)}}}),
      own_tx(alice, 4, SetBranchProtection{r})};
  auto bad = own_tx(alice, 5, UpdateRefs{1, {{"refs/heads/main", oid(1), oid(2)}}}, kT0 + 10);

  FakeFacts facts;
  facts.ancestors.insert({oid(1), oid(2)});
  facts.unsigned_.insert({oid(1), oid(2)});
  TempDb honest_db("facts-honest"), byz_db("facts-byzantine");
  Chain honest(*honest_db.db, genesis), byz(*byz_db.db, genesis);
  honest.set_git_facts(&facts);
  auto b1 = honest.build(honest.head().id, pend(setup), 1, kT0, proposer);
  ASSERT_EQ(b1.block.txs.size(), 4u);
  honest.commit(b1.block);
  byz.commit(b1.block);
  // The door refuses it, and an honest proposer leaves it out.
  auto door = honest.check(bad, 5, kT0 + 10, false);
  EXPECT_EQ(door.message(), "protected branch: commits must be signed");
  auto built = honest.build(honest.head().id, pend({bad}), 2, kT0 + 10, proposer);
  EXPECT_TRUE(built.block.txs.empty());
  ASSERT_EQ(built.rejected.size(), 1u);
  EXPECT_EQ(built.rejected[0].second.message(), "protected branch: commits must be signed");
  // The byzantine proposer (no facts) builds a well-formed block with it: right roots.
  auto forged = byz.build(byz.head().id, pend({bad}), 2, kT0 + 10, proposer);
  ASSERT_EQ(forged.block.txs.size(), 1u);
  auto st = honest.verify(forged.block);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("protected branch: commits must be signed"), std::string::npos)
      << st.message();
  // Objects not here: refused too (kUnavailable), never voted for.
  facts.missing.insert(oid(2));
  EXPECT_EQ(honest.verify(forged.block).code(), Code::kUnavailable);
  // Had it been finalized anyway, applying it is deterministic: commit() consults no facts.
  int before = facts.calls;
  honest.commit(forged.block);
  EXPECT_EQ(facts.calls, before);
  EXPECT_EQ(honest.head().state_root, forged.block.header.state_root);
  EXPECT_EQ(*honest.view().ref(1, "refs/heads/main"), oid(2));
}
