// Branch protection (state/protection.h): patterns, the codec, every rule on the push and the
// merge paths, validity of the rule transactions, commit statuses, and a byzantine proposer's
// block refused by Chain::verify.
#include "state/protection.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/permission.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

struct Env : ExecEnv {
  // alice: org owner (admin); bob, carol: members with write through team "devs"; dave:
  // outsider.
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4);
  crypto::PublicKey org{};
  uint64_t repo = 0, devs = 0, ops = 0;

  Env() : ExecEnv("protect") {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(dave, RegisterUser{"dave"});
    ok(alice, CreateOrg{"acme", "", "Acme Inc."});
    org = view().org_by_login("acme")->key;
    ok(alice, SetOrgMember{org, bob.public_key(), kMemberAdd, kOrgMember});
    ok(alice, SetOrgMember{org, carol.public_key(), kMemberAdd, kOrgMember});
    ok(alice, CreateOrgRepo{org, "app", "", false, "main"});
    repo = view().repo_by_name(org, "app")->id;
    devs = team("devs");
    ops = team("ops");
    ok(alice, SetTeamMember{devs, bob.public_key(), kTeamMember});
    ok(alice, SetTeamMember{devs, carol.public_key(), kTeamMember});
    ok(alice, SetTeamRepo{devs, repo, 3});
    ok(alice, SetTeamRepo{ops, repo, 3});
    ok(alice, UpdateRefs{repo, {{"refs/heads/main", {}, oid(1)}}});
  }
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
  Status status(const crypto::SigningKey& k, Bytes sha, uint8_t st, std::string ctx) {
    return as(k, SetCommitStatus{repo, std::move(sha), st, std::move(ctx), "", ""});
  }
};

}  // namespace

TEST(Protection, KindNumbersAndCodec) {
  EXPECT_EQ(static_cast<int>(kind_of(SetBranchProtection{})), 34);
  EXPECT_EQ(static_cast<int>(kind_of(DeleteBranchProtection{})), 35);
  EXPECT_EQ(static_cast<int>(kind_of(SetCommitStatus{})), 36);
  ProtectionRule r;
  r.repo_id = 7;
  r.pattern = "release/*";
  r.require_reviews = true;
  r.required_approving_review_count = 2;
  r.dismiss_stale_reviews = true;
  r.require_status_checks = true;
  r.strict = true;
  r.contexts = {"ci/test", "lint"};
  r.restrict_pushes = true;
  r.users = {key(1).public_key()};
  r.teams = {3, 4};
  r.enforce_admins = true;
  expect_roundtrip(SetBranchProtection{r});
  expect_roundtrip(DeleteBranchProtection{7, "main"});
  expect_roundtrip(SetCommitStatus{7, oid(1), kStatusSuccess, "ci/test", "ok", "https://x"});
  r.updated_ms = 42;
  EXPECT_EQ(decode_protection_rule(encode_protection_rule(r)), r);
  // Bounded: a sha of the wrong length is refused by the decoder.
  TxBody bad = SetCommitStatus{7, Bytes(5, 1), kStatusSuccess, "c", "", ""};
  EXPECT_THROW(decode_body(TxKind::kSetCommitStatus, encode_body(bad)), codec::DecodeError);
}

TEST(Protection, PatternsAndTheApplicableRule) {
  EXPECT_TRUE(branch_pattern_matches("main", "main"));
  EXPECT_FALSE(branch_pattern_matches("main", "main2"));
  EXPECT_TRUE(branch_pattern_matches("release/*", "release/v1"));
  EXPECT_FALSE(branch_pattern_matches("release/*", "release/v1/x"));
  EXPECT_TRUE(branch_pattern_matches("release/**", "release/v1/x"));
  EXPECT_TRUE(branch_pattern_matches("v?", "v1"));
  EXPECT_FALSE(branch_pattern_matches("v?", "v10"));
  EXPECT_TRUE(branch_pattern_matches("v[0-9]", "v7"));
  EXPECT_FALSE(branch_pattern_matches("v[!0-9]", "v7"));
  EXPECT_TRUE(branch_pattern_matches("*", "feature"));
  EXPECT_FALSE(branch_pattern_matches("*", "a/b"));
  EXPECT_NE(branch_pattern_error(""), "");
  EXPECT_NE(branch_pattern_error("refs/heads/main"), "");
  EXPECT_NE(branch_pattern_error("a b"), "");
  EXPECT_EQ(branch_pattern_error("release/*"), "");

  std::vector<ProtectionRule> rules(3);
  rules[0].pattern = "*";
  rules[1].pattern = "release/*";
  rules[2].pattern = "release/v1";
  EXPECT_EQ(applicable_rule(rules, "release/v1")->pattern, "release/v1");
  EXPECT_EQ(applicable_rule(rules, "release/v2")->pattern, "release/*");
  EXPECT_EQ(applicable_rule(rules, "main")->pattern, "*");
  EXPECT_EQ(applicable_rule(rules, "a/b"), nullptr);
}

TEST(Protection, PureEvaluation) {
  ProtectionRule r;
  r.pattern = "main";
  ProtectionSubject push;
  EXPECT_EQ(protection_denial(r, push), std::nullopt);
  push.force = true;
  EXPECT_EQ(protection_denial(r, push), "protected branch: force push not allowed");
  r.allow_force_pushes = true;
  EXPECT_EQ(protection_denial(r, push), std::nullopt);
  push.force = false;
  push.deletion = true;
  EXPECT_EQ(protection_denial(r, push), "protected branch: deletion not allowed");
  r.allow_deletions = true;
  EXPECT_EQ(protection_denial(r, push), std::nullopt);
  push.deletion = false;
  r.require_reviews = true;
  r.required_approving_review_count = 2;
  EXPECT_EQ(protection_denial(r, push), "protected branch: 2 approving reviews required");
  push.admin = true;  // admins bypass...
  EXPECT_EQ(protection_denial(r, push), std::nullopt);
  r.enforce_admins = true;  // ...unless enforced
  EXPECT_EQ(protection_denial(r, push), "protected branch: 2 approving reviews required");
  r.required_approving_review_count = 0;
  EXPECT_EQ(protection_denial(r, push),
            "protected branch: changes must be made through a pull "
            "request");
  push.creation = true;  // creating a branch matching a pattern is not a direct push
  EXPECT_EQ(protection_denial(r, push), std::nullopt);

  ProtectionRule c;
  c.require_status_checks = true;
  c.contexts = {"ci/test"};
  ProtectionSubject p2;
  EXPECT_EQ(protection_denial(c, p2),
            "protected branch: required status check \"ci/test\" is not successful");
  p2.statuses["ci/test"] = kStatusPending;
  EXPECT_NE(protection_denial(c, p2), std::nullopt);
  p2.statuses["ci/test"] = kStatusSuccess;
  EXPECT_EQ(protection_denial(c, p2), std::nullopt);
  c.strict = true;
  p2.head_contains_base = false;
  EXPECT_EQ(protection_denial(c, p2),
            "protected branch: branch is not up to date with the base branch");
  p2.head_contains_base = std::nullopt;  // not decided (no git facts): not refused
  EXPECT_EQ(protection_denial(c, p2), std::nullopt);

  ProtectionRule m;
  m.require_reviews = true;
  m.required_approving_review_count = 1;
  ProtectionSubject merge;
  merge.kind = ProtectionSubject::kMerge;
  EXPECT_EQ(protection_denial(m, merge), "protected branch: 1 approving review required (0 given)");
  merge.approvals = 1;
  EXPECT_EQ(protection_denial(m, merge), std::nullopt);
  merge.changes_requested = true;
  EXPECT_NE(protection_denial(m, merge), std::nullopt);

  ProtectionRule lin;
  lin.required_linear_history = true;
  lin.required_signatures = true;
  ProtectionSubject l;
  EXPECT_EQ(protection_denial(lin, l), std::nullopt);
  l.linear = false;
  EXPECT_EQ(protection_denial(lin, l),
            "protected branch: merge commits not allowed (linear history required)");
  l.linear = true;
  l.signed_commits = false;
  EXPECT_EQ(protection_denial(lin, l), "protected branch: commits must be signed");

  ProtectionRule rs;
  rs.restrict_pushes = true;
  ProtectionSubject who;
  EXPECT_EQ(protection_denial(rs, who),
            "protected branch: you are not allowed to push to this branch");
  who.allowed_pusher = true;
  EXPECT_EQ(protection_denial(rs, who), std::nullopt);
}

TEST(Protection, SettingNeedsAdminAndValidRules) {
  Env env;
  auto r = env.rule();
  auto st = env.as(env.bob, SetBranchProtection{r});  // write, not admin
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "Must have admin rights to Repository.");
  EXPECT_EQ(env.as(env.dave, SetBranchProtection{r}).code(), Code::kPermissionDenied);
  auto too_many = r;
  too_many.require_reviews = true;
  too_many.required_approving_review_count = 7;
  EXPECT_EQ(env.as(env.alice, SetBranchProtection{too_many}).code(), Code::kInvalidArgument);
  auto bad_team = r;
  bad_team.restrict_pushes = true;
  bad_team.teams = {999};
  auto d0 = env.state.digest();
  st = env.as(env.alice, SetBranchProtection{bad_team});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "restrictions: team 999 is not a team of acme");
  auto bad_user = r;
  bad_user.restrict_pushes = true;
  bad_user.users = {key(77).public_key()};
  st = env.as(env.alice, SetBranchProtection{bad_user});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_TRUE(st.message().starts_with("restrictions: user ")) << st.message();
  EXPECT_EQ(env.state.digest(), d0);  // no partial effect
  auto dup = r;
  dup.require_status_checks = true;
  dup.contexts = {"a", "a"};
  EXPECT_EQ(env.as(env.alice, SetBranchProtection{dup}).code(), Code::kInvalidArgument);
  auto pat = env.rule("refs/heads/main");
  EXPECT_EQ(env.as(env.alice, SetBranchProtection{pat}).code(), Code::kInvalidArgument);

  env.protect(r);
  ASSERT_TRUE(protection_rule(env.view(), env.repo, "main"));
  EXPECT_EQ(env.as(env.bob, DeleteBranchProtection{env.repo, "main"}).code(),
            Code::kPermissionDenied);
  env.ok(env.alice, DeleteBranchProtection{env.repo, "main"});
  EXPECT_FALSE(protection_rule(env.view(), env.repo, "main"));
  EXPECT_EQ(env.as(env.alice, DeleteBranchProtection{env.repo, "main"}).code(), Code::kNotFound);
}

TEST(Protection, PushRules) {
  Env env;
  auto r = env.rule();
  env.protect(r);  // defaults: no force push, no deletion
  auto st = env.push(env.bob, "main", oid(1), oid(2), true);
  EXPECT_EQ(st.message(), "protected branch: force push not allowed");
  EXPECT_TRUE(env.push(env.bob, "main", oid(1), oid(2)).ok());
  env.ok(env.bob, UpdateRefs{env.repo, {{"refs/heads/dev", {}, oid(3)}}});
  env.ok(env.alice, UpdateRepo{env.repo, {}, {}, {}, std::string("dev"), {}});
  st = env.push(env.bob, "main", oid(2), {});
  EXPECT_EQ(st.message(), "protected branch: deletion not allowed");
  r.allow_deletions = true;
  r.allow_force_pushes = true;
  env.protect(r);
  EXPECT_TRUE(env.push(env.bob, "main", oid(2), oid(4), true).ok());
  EXPECT_TRUE(env.push(env.bob, "main", oid(4), {}).ok());
}

// Reviews required: no direct push, admins bypass unless enforced.
TEST(Protection, PushRulesWithReviews) {
  Env e2;
  auto rv = e2.rule();
  rv.require_reviews = true;
  rv.required_approving_review_count = 2;
  e2.protect(rv);
  auto st = e2.push(e2.bob, "main", oid(1), oid(2));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "protected branch: 2 approving reviews required");
  EXPECT_TRUE(e2.push(e2.alice, "main", oid(1), oid(2)).ok());
  rv.enforce_admins = true;
  e2.protect(rv);
  EXPECT_EQ(e2.push(e2.alice, "main", oid(2), oid(3)).message(),
            "protected branch: 2 approving reviews required");
  // Other branches are not protected.
  EXPECT_TRUE(e2.push(e2.bob, "topic", {}, oid(9)).ok());
}

TEST(Protection, PatternRulesAndRestrictions) {
  Env env;
  auto r = env.rule("release/*");
  r.restrict_pushes = true;
  r.teams = {env.ops};
  r.users = {env.carol.public_key()};
  env.protect(r);
  // bob (devs) may not push; carol (named) may; alice (admin) bypasses.
  EXPECT_EQ(env.push(env.bob, "release/v1", {}, oid(2)).message(),
            "protected branch: you are not allowed to push to this branch");
  EXPECT_TRUE(env.push(env.carol, "release/v1", {}, oid(2)).ok());
  EXPECT_TRUE(env.push(env.alice, "release/v2", {}, oid(3)).ok());
  // bob joins ops: allowed.
  env.ok(env.alice, SetTeamMember{env.ops, env.bob.public_key(), kTeamMember});
  EXPECT_TRUE(env.push(env.bob, "release/v1", oid(2), oid(4)).ok());
  // release/v1/x does not match release/*.
  EXPECT_TRUE(env.push(env.bob, "release/v1/x", {}, oid(5)).ok());
}

TEST(Protection, StatusChecksOnPush) {
  Env env;
  auto r = env.rule();
  r.require_status_checks = true;
  r.contexts = {"ci/test"};
  env.protect(r);
  EXPECT_EQ(env.push(env.bob, "main", oid(1), oid(2)).message(),
            "protected branch: required status check \"ci/test\" is not successful");
  ASSERT_TRUE(env.status(env.bob, oid(2), kStatusFailure, "ci/test").ok());
  EXPECT_FALSE(env.push(env.bob, "main", oid(1), oid(2)).ok());
  ASSERT_TRUE(env.status(env.bob, oid(2), kStatusSuccess, "ci/test").ok());
  EXPECT_TRUE(env.push(env.bob, "main", oid(1), oid(2)).ok());
  auto all = commit_statuses(env.view(), env.repo, oid(2));
  ASSERT_EQ(all.size(), 1u);  // the latest per context
  EXPECT_EQ(all[0].state, kStatusSuccess);
  EXPECT_EQ(combined_state(all), kStatusSuccess);
  // Statuses need write; bad state refused.
  EXPECT_EQ(env.status(env.dave, oid(2), kStatusSuccess, "x").code(), Code::kPermissionDenied);
  EXPECT_EQ(env.status(env.bob, oid(2), 9, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(env.status(env.bob, oid(2), kStatusSuccess, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(combined_state({}), kStatusPending);
}

namespace {

// A pull request from "topic" (oid 2 on top of main at oid 1) into main.
uint64_t open_pull(Env& env) {
  EXPECT_TRUE(env.push(env.bob, "topic", {}, oid(2)).ok());
  EXPECT_TRUE(
      env.as(env.bob, OpenPullRequest{env.repo, "t", "", env.repo, "topic", "main", oid(2), false})
          .ok());
  return env.view().issue(env.repo, 1)->number;
}
Status merge(Env& env, const crypto::SigningKey& k, uint64_t n) {
  auto pr = *env.view().issue(env.repo, n);
  return env.as(k, MergePullRequest{env.repo, n, kMergeCommit, pr.head_sha, env.tip(), oid(50)});
}
Status review(Env& env, const crypto::SigningKey& k, uint64_t n, uint8_t event) {
  SubmitReview r;
  r.repo_id = env.repo;
  r.number = n;
  r.event = event;
  r.body = event == kReviewApprove ? "" : "needs work";
  return env.as(k, r);
}

}  // namespace

TEST(Protection, MergeCountsApprovals) {
  Env env;
  auto r = env.rule();
  r.require_reviews = true;
  r.required_approving_review_count = 2;
  r.dismiss_stale_reviews = true;
  env.protect(r);
  uint64_t n = open_pull(env);
  auto st = merge(env, env.bob, n);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "protected branch: 2 approving reviews required (0 given)");
  ASSERT_TRUE(review(env, env.carol, n, kReviewApprove).ok());
  ASSERT_TRUE(review(env, env.carol, n, kReviewApprove).ok());  // same reviewer counts once
  EXPECT_EQ(merge(env, env.bob, n).message(),
            "protected branch: 2 approving reviews required (1 given)");
  // A reader's approval does not count (dave has read only: public repository).
  ASSERT_TRUE(review(env, env.dave, n, kReviewApprove).ok());
  EXPECT_FALSE(merge(env, env.bob, n).ok());
  // A new push makes approvals stale (dismiss_stale_reviews).
  ASSERT_TRUE(env.push(env.bob, "topic", oid(2), oid(3)).ok());
  ASSERT_TRUE(review(env, env.alice, n, kReviewApprove).ok());
  EXPECT_EQ(merge(env, env.bob, n).message(),
            "protected branch: 2 approving reviews required (1 given)");
  ASSERT_TRUE(review(env, env.carol, n, kReviewApprove).ok());
  EXPECT_TRUE(merge(env, env.bob, n).ok());
}

TEST(Protection, MergeRequiresChecksAndHonoursChangeRequests) {
  Env env;
  auto r = env.rule();
  r.require_reviews = true;
  r.required_approving_review_count = 1;
  r.require_status_checks = true;
  r.contexts = {"ci/test"};
  env.protect(r);
  uint64_t n = open_pull(env);
  ASSERT_TRUE(review(env, env.carol, n, kReviewRequestChanges).ok());
  EXPECT_EQ(merge(env, env.bob, n).message(),
            "protected branch: changes requested by a reviewer with write access");
  ASSERT_TRUE(review(env, env.carol, n, kReviewApprove).ok());  // latest verdict wins
  EXPECT_EQ(merge(env, env.bob, n).message(),
            "protected branch: required status check \"ci/test\" is not successful");
  ASSERT_TRUE(env.status(env.bob, oid(2), kStatusSuccess, "ci/test").ok());
  EXPECT_TRUE(merge(env, env.bob, n).ok());
}

TEST(Protection, ByzantineProposerBlockIsRefused) {
  // An honest validator holds main protected (1 approval). A byzantine proposer puts a direct
  // push to main in its block anyway; Chain::verify re-executes and refuses the block.
  TempDb tmp("protect-chain");
  auto genesis = test_genesis();
  Chain chain(*tmp.db, genesis);
  auto alice = key(1), bob = key(2);
  auto proposer = key(200).public_key();
  auto pend = [](std::vector<Transaction> txs) {
    std::vector<PendingTx> out;
    for (auto& t : txs) out.push_back({std::move(t), false});
    return out;
  };
  ProtectionRule r;
  r.repo_id = 1;
  r.pattern = "main";
  r.require_reviews = true;
  r.required_approving_review_count = 1;
  r.enforce_admins = true;
  auto b1 = chain.build(
      chain.head().id,
      pend({own_tx(alice, 1, RegisterUser{"alice"}), own_tx(bob, 1, RegisterUser{"bob"}),
            own_tx(alice, 2, CreateRepo{"r", "", false, "main"}),
            own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, oid(1)}}}),
            own_tx(alice, 4, SetBranchProtection{r})}),
      1, kT0, proposer);
  ASSERT_EQ(b1.block.txs.size(), 5u);
  chain.commit(b1.block);
  auto bad = own_tx(alice, 5, UpdateRefs{1, {{"refs/heads/main", oid(1), oid(2)}}}, kT0 + 10);
  // An honest proposer leaves it out.
  auto honest = chain.build(chain.head().id, pend({bad}), 2, kT0 + 10, proposer);
  EXPECT_TRUE(honest.block.txs.empty());
  ASSERT_EQ(honest.rejected.size(), 1u);
  EXPECT_EQ(honest.rejected[0].second.message(), "protected branch: 1 approving review required");
  // The byzantine block: the same header shape with the push included.
  Block forged = honest.block;
  forged.txs = {bad};
  forged.header.tx_count = 1;
  forged.header.tx_root = tx_root_of(forged.txs);
  auto st = chain.verify(forged);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("protected branch: 1 approving review required"), std::string::npos)
      << st.message();
}
