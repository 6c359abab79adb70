// Reputation (state/reputation.h, docs/reputation.md): each component, the caps, the interaction
// limits, determinism across two chains, no double counting when a block is verified then
// committed, and the door's token bucket with a fake clock.
#include "state/reputation.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "core/time.h"
#include "state/executor.h"
#include "state/mempool.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;
namespace rep = guts::state::reputation;

namespace {

struct Env {
  TempDb tmp{"reputation"};
  Schema schema{*tmp.db};
  DbReader base{*tmp.db};
  Overlay state{base};
  uint64_t now = kT0;
  uint64_t height = 1;
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4);
  uint64_t repo = 0;
  uint8_t next_oid = 10;

  StateView view() { return StateView(schema, state); }
  Status as(const crypto::SigningKey& k, TxBody body) {
    Executor ex(schema, {"test-chain", height, now});
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
    ok(alice, CreateRepo{"proj", "", false, "main"});
    repo = view().repo_by_name(alice.public_key(), "proj")->id;
    ok(alice, UpdateRefs{repo, {{"refs/heads/main", {}, oid(1)}}});
  }
  // A pull request by `author` from a new branch, merged by `merger`; `approvers` approve first.
  void merged_pull(const crypto::SigningKey& author, const crypto::SigningKey& merger,
                   std::vector<const crypto::SigningKey*> approvers = {}) {
    std::string branch = "b" + std::to_string(next_oid);
    Bytes head = oid(next_oid++);
    ok(alice, UpdateRefs{repo, {{"refs/heads/" + branch, {}, head}}});
    ok(author, OpenPullRequest{repo, "PR", "", repo, branch, "main", head, false});
    uint64_t n = view().last_issue_number(repo);
    for (const auto* a : approvers) ok(*a, SubmitReview{repo, n, kReviewApprove, "", {}, {}});
    Bytes base = *view().ref(repo, "refs/heads/main");
    ok(merger, MergePullRequest{repo, n, kMergeCommit, head, base, oid(next_oid++)});
  }
  uint64_t issue(const crypto::SigningKey& k) {
    EXPECT_TRUE(as(k, CreateIssue{repo, "Bug", "", {}, {}, 0}).ok());
    return view().last_issue_number(repo);
  }
  Status close(const crypto::SigningKey& k, uint64_t n, uint8_t reason = kReasonCompleted) {
    EditIssue e;
    e.repo_id = repo;
    e.number = n;
    e.state = kIssueClosed;
    e.state_reason = reason;
    return as(k, e);
  }
  Status reopen(const crypto::SigningKey& k, uint64_t n) {
    EditIssue e;
    e.repo_id = repo;
    e.number = n;
    e.state = kIssueOpen;
    return as(k, e);
  }
  rep::Score global(const crypto::SigningKey& k) {
    return rep::global_score(view(), k.public_key(), now, height);
  }
};

}  // namespace

TEST(ReputationFormula, WeightsAndCaps) {
  auto s = rep::score_of({3, 4, 5}, 2);
  EXPECT_EQ(s.merged_pr_points, 30u);
  EXPECT_EQ(s.approval_points, 12u);
  EXPECT_EQ(s.issue_points, 10u);
  EXPECT_EQ(s.age_points, 2u);
  EXPECT_EQ(s.total, 54u);
  auto capped = rep::score_of({1000, 1000, 1000}, 1000);
  EXPECT_EQ(capped.total, 10 * 50 + 3 * 100 + 2 * 100 + 7u);
  EXPECT_EQ(rep::score_of({}, std::nullopt).total, 0u);
}

TEST(Reputation, MergedPullRequestsCountForTheAuthorOnlyWhenSomeoneElseMerges) {
  Env env;
  env.merged_pull(env.bob, env.alice);
  EXPECT_EQ(env.global(env.bob).counts.merged_prs, 1u);
  EXPECT_EQ(rep::repo_score(env.view(), env.bob.public_key(), env.repo).total, 10u);
  env.merged_pull(env.alice, env.alice);  // self-merge: no credit
  EXPECT_EQ(env.global(env.alice).counts.merged_prs, 0u);
  auto repos = rep::repos_of(env.view(), env.bob.public_key());
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].first, env.repo);
  EXPECT_EQ(repos[0].second.merged_prs, 1u);
}

TEST(Reputation, ApprovalsCountOnlyOnMergedPullRequestsAndLastVerdict) {
  Env env;
  env.merged_pull(env.bob, env.alice, {&env.carol, &env.carol, &env.dave});
  EXPECT_EQ(env.global(env.carol).counts.approvals, 1u);  // one per reviewer and pull request
  EXPECT_EQ(env.global(env.dave).counts.approvals, 1u);
  // An approval on a pull request that is never merged counts nothing.
  env.ok(env.alice, UpdateRefs{env.repo, {{"refs/heads/open", {}, oid(99)}}});
  env.ok(env.bob, OpenPullRequest{env.repo, "PR", "", env.repo, "open", "main", oid(99), false});
  env.ok(
      env.carol,
      SubmitReview{env.repo, env.view().last_issue_number(env.repo), kReviewApprove, "", {}, {}});
  EXPECT_EQ(env.global(env.carol).counts.approvals, 1u);
  // Approved, then changes requested: the last verdict is what counts.
  env.ok(env.alice, UpdateRefs{env.repo, {{"refs/heads/late", {}, oid(98)}}});
  env.ok(env.bob, OpenPullRequest{env.repo, "PR", "", env.repo, "late", "main", oid(98), false});
  uint64_t n = env.view().last_issue_number(env.repo);
  env.ok(env.dave, SubmitReview{env.repo, n, kReviewApprove, "", {}, {}});
  env.ok(env.dave, SubmitReview{env.repo, n, kReviewRequestChanges, "no", {}, {}});
  env.ok(env.carol, SubmitReview{env.repo, n, kReviewApprove, "", {}, {}});
  Bytes base = *env.view().ref(env.repo, "refs/heads/main");
  env.ok(env.alice, MergePullRequest{env.repo, n, kMergeCommit, oid(98), base, oid(97)});
  EXPECT_EQ(env.global(env.dave).counts.approvals, 1u);
  EXPECT_EQ(env.global(env.carol).counts.approvals, 2u);
  EXPECT_EQ(env.global(env.bob).counts.merged_prs, 2u);
}

TEST(Reputation, IssuesClosedAsCompletedByAnotherCountOnce) {
  Env env;
  uint64_t a = env.issue(env.bob);
  ASSERT_TRUE(env.close(env.alice, a).ok());
  EXPECT_EQ(env.global(env.bob).counts.issues_completed, 1u);
  // Reopened and closed again: still once.
  ASSERT_TRUE(env.reopen(env.alice, a).ok());
  ASSERT_TRUE(env.close(env.alice, a).ok());
  EXPECT_EQ(env.global(env.bob).counts.issues_completed, 1u);
  // Not planned, or closed by its own author: nothing.
  uint64_t b = env.issue(env.bob);
  ASSERT_TRUE(env.close(env.alice, b, kReasonNotPlanned).ok());
  uint64_t c = env.issue(env.bob);
  ASSERT_TRUE(env.close(env.bob, c).ok());
  EXPECT_EQ(env.global(env.bob).counts.issues_completed, 1u);
  EXPECT_EQ(env.global(env.bob).issue_points, 2u);
}

TEST(Reputation, AgeComesFromBlockTimeAndIsCapped) {
  Env env;
  EXPECT_EQ(env.global(env.bob).age_points, 0u);
  env.now = kT0 + 3 * rep::kAgeDayMs + 5;
  env.height = 40;
  auto s = env.global(env.bob);
  EXPECT_EQ(s.age_days, 3u);
  EXPECT_EQ(s.age_points, 3u);
  EXPECT_EQ(s.age_blocks, 39u);
  env.now = kT0 + 400 * rep::kAgeDayMs;
  EXPECT_EQ(env.global(env.bob).age_points, rep::kCapAgeDays);
  EXPECT_EQ(rep::global_score(env.view(), key(77).public_key(), env.now, 1).total, 0u);
}

TEST(Reputation, CapsApplyToPoints) {
  Env env;
  for (int i = 0; i < 52; ++i) env.merged_pull(env.bob, env.alice);
  auto s = env.global(env.bob);
  EXPECT_EQ(s.counts.merged_prs, 52u);
  EXPECT_EQ(s.merged_pr_points, rep::kWeightMergedPr * rep::kCapMergedPrs);
}

TEST(InteractionLimit, KindRoundTripsAndNames) {
  TxBody b = SetInteractionLimit{7, kLimitContributorsOnly, 10, 123};
  EXPECT_EQ(kind_of(b), TxKind::kSetInteractionLimit);
  EXPECT_EQ(static_cast<int>(kind_of(b)), 41);
  EXPECT_STREQ(tx_kind_name(TxKind::kSetInteractionLimit), "set_interaction_limit");
  Bytes enc = encode_body(b);
  EXPECT_EQ(std::get<SetInteractionLimit>(decode_body(TxKind::kSetInteractionLimit, enc)),
            std::get<SetInteractionLimit>(b));
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kSetInteractionLimit, enc), codec::DecodeError);
  EXPECT_EQ(interaction_limit_of("existing_users"), kLimitExistingUsers);
  EXPECT_EQ(interaction_limit_of("nope"), std::nullopt);
  EXPECT_EQ(default_min_reputation(kLimitExistingUsers), 1u);
  EXPECT_EQ(default_min_reputation(kLimitContributorsOnly), 10u);
}

TEST(InteractionLimit, AdminsSetItAndLowReputationIsRefusedWritersExempt) {
  Env env;
  // Only admins set a limit; values are checked.
  EXPECT_EQ(env.as(env.bob, SetInteractionLimit{env.repo, kLimitContributorsOnly, 10, 0}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(env.as(env.alice, SetInteractionLimit{env.repo, kLimitContributorsOnly, 0, 0}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.as(env.alice, SetInteractionLimit{env.repo, 9, 10, 0}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.as(env.alice, SetInteractionLimit{env.repo, kLimitExistingUsers, 1, kT0}).code(),
            Code::kInvalidArgument);  // expiry in the past
  EXPECT_EQ(env.as(env.alice, SetInteractionLimit{99, kLimitExistingUsers, 1, 0}).code(),
            Code::kNotFound);
  env.ok(env.alice, SetInteractionLimit{env.repo, kLimitContributorsOnly, 10, kT0 + 60000});
  // carol (reputation 0) is refused an issue, a comment and a pull request, with the reason.
  Status st = env.as(env.carol, CreateIssue{env.repo, "spam", "", {}, {}, 0});
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("reputation of at least 10"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("yours is 0"), std::string::npos) << st.message();
  // bob, with write permission, is exempt; then his issue cannot be commented by carol.
  env.ok(env.alice, SetCollaborator{env.repo, env.bob.public_key(), 3});
  uint64_t n = env.issue(env.bob);
  EXPECT_EQ(env.as(env.carol, CreateComment{env.repo, n, "me too"}).code(),
            Code::kPermissionDenied);
  // dave earns one merged pull request (10): he passes.
  env.ok(env.alice, SetInteractionLimit{env.repo, kLimitNone, 0, 0});
  env.merged_pull(env.dave, env.alice);
  env.ok(env.alice, SetInteractionLimit{env.repo, kLimitContributorsOnly, 10, kT0 + 60000});
  EXPECT_TRUE(env.as(env.dave, CreateIssue{env.repo, "real", "", {}, {}, 0}).ok());
  // collaborators_only refuses dave too; after the expiry everyone passes again.
  env.ok(env.alice, SetInteractionLimit{env.repo, kLimitCollaboratorsOnly, 0, kT0 + 60000});
  EXPECT_EQ(env.as(env.dave, CreateIssue{env.repo, "x", "", {}, {}, 0}).code(),
            Code::kPermissionDenied);
  env.now = kT0 + 60000;
  EXPECT_FALSE(rep::interaction_limit(env.view(), env.repo, env.now));
  EXPECT_TRUE(env.as(env.carol, CreateIssue{env.repo, "later", "", {}, {}, 0}).ok());
}

namespace {

// The same blocks fed to two chains give the same reputation and roots; building, verifying
// again and committing count once.
std::vector<Transaction> history(const Env& e, uint64_t repo) {
  (void)e;
  auto alice = key(1), bob = key(2), carol = key(3);
  std::vector<Transaction> txs;
  uint64_t na = 0, nb = 0, nc = 0;
  txs.push_back(own_tx(alice, ++na, RegisterUser{"alice"}));
  txs.push_back(own_tx(bob, ++nb, RegisterUser{"bob"}));
  txs.push_back(own_tx(carol, ++nc, RegisterUser{"carol"}));
  txs.push_back(own_tx(alice, ++na, CreateRepo{"proj", "", false, "main"}));
  txs.push_back(
      own_tx(alice, ++na,
             UpdateRefs{repo, {{"refs/heads/main", {}, oid(1)}, {"refs/heads/f", {}, oid(2)}}}));
  txs.push_back(
      own_tx(bob, ++nb, OpenPullRequest{repo, "PR", "", repo, "f", "main", oid(2), false}));
  txs.push_back(own_tx(carol, ++nc, SubmitReview{repo, 1, kReviewApprove, "", {}, {}}));
  txs.push_back(
      own_tx(alice, ++na, MergePullRequest{repo, 1, kMergeCommit, oid(2), oid(1), oid(3)}));
  txs.push_back(own_tx(bob, ++nb, CreateIssue{repo, "Bug", "", {}, {}, 0}));
  EditIssue e2;
  e2.repo_id = repo;
  e2.number = 2;
  e2.state = kIssueClosed;
  txs.push_back(own_tx(alice, ++na, e2));
  return txs;
}

}  // namespace

TEST(Reputation, DeterministicAcrossChainsAndNoDoubleCountOnVerifyThenCommit) {
  TempDb a("rep-a"), b("rep-b");
  Chain ca(*a.db, test_genesis()), cb(*b.db, test_genesis());
  Env probe;
  auto txs = history(probe, 1);
  // Chain A builds one block per transaction, re-verifies each and commits.
  std::vector<Block> blocks;
  for (size_t i = 0; i < txs.size(); ++i) {
    std::vector<PendingTx> p{{txs[i], false}};
    auto built = ca.build(ca.head().id, p, i + 1, kT0 + i, key(200).public_key());
    ASSERT_TRUE(built.rejected.empty()) << i << ": " << built.rejected[0].second.message();
    ASSERT_TRUE(ca.verify(built.block).ok());  // executed a second time
    ASSERT_TRUE(ca.verify(built.block).ok());  // and a third
    ca.commit(built.block);
    blocks.push_back(built.block);
  }
  // Chain B verifies then commits the same blocks.
  for (const auto& blk : blocks) {
    ASSERT_TRUE(cb.verify(blk).ok());
    cb.commit(blk);
  }
  EXPECT_EQ(ca.head().state_root, cb.head().state_root);
  for (auto* c : {&ca, &cb}) {
    auto h = c->head();
    auto bob = rep::global_score(c->view(), key(2).public_key(), h.timestamp_ms, h.height);
    auto carol = rep::global_score(c->view(), key(3).public_key(), h.timestamp_ms, h.height);
    EXPECT_EQ(bob.counts, (rep::Counts{1, 0, 1}));
    EXPECT_EQ(bob.total, 12u);
    EXPECT_EQ(carol.counts, (rep::Counts{0, 1, 0}));
    EXPECT_EQ(rep::identity(c->view(), key(2).public_key())->registered_height, 2u);
  }
  // The replay check (guts-node check) re-executes the blocks: same root.
  auto scratch =
      std::filesystem::temp_directory_path() / ("guts-rep-replay-" + std::to_string(::getpid()));
  EXPECT_EQ(Chain::replay(*a.db, test_genesis(), scratch), ca.head().state_root);
  std::filesystem::remove_all(scratch);
}

// ---- the door ----

TEST(DoorLimiter, TokenBucketWithFakeClock) {
  using namespace std::chrono;
  rep::DoorLimiter lim({10, 3, 60});  // burst 3, one per second
  auto who = key(5).public_key(), other = key(6).public_key();
  steady_clock::time_point t0{};
  EXPECT_FALSE(lim.take(who, t0));
  EXPECT_FALSE(lim.take(who, t0));
  EXPECT_FALSE(lim.take(who, t0));
  auto wait = lim.take(who, t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, milliseconds(1000));
  EXPECT_FALSE(lim.take(other, t0));  // per identity
  auto later = lim.take(who, t0 + milliseconds(400));
  ASSERT_TRUE(later);
  EXPECT_EQ(*later, milliseconds(600));
  EXPECT_FALSE(lim.take(who, t0 + milliseconds(1000)));
  EXPECT_TRUE(lim.take(who, t0 + milliseconds(1000)));
  // A long idle time refills to the burst, not beyond.
  auto t1 = t0 + hours(10);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(lim.take(who, t1));
  EXPECT_TRUE(lim.take(who, t1));
}

TEST(DoorLimiter, SlowRefillAndBoundedMemory) {
  using namespace std::chrono;
  rep::DoorLimiter lim({10, 1, 1}, 2);  // one per minute
  steady_clock::time_point t0{};
  EXPECT_FALSE(lim.take(key(1).public_key(), t0));
  auto w = lim.take(key(1).public_key(), t0 + milliseconds(1));
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, milliseconds(59999));
  EXPECT_FALSE(lim.take(key(1).public_key(), t0 + minutes(1)));
  EXPECT_FALSE(lim.take(key(2).public_key(), t0 + minutes(1)));
  EXPECT_FALSE(lim.take(key(3).public_key(), t0 + minutes(1)));
  EXPECT_LE(lim.tracked(), 2u);
}

TEST(DoorLimiter, MempoolRefusesLowReputationOverTheRateWith429Code) {
  TempDb db("rep-door");
  Chain chain(*db.db, test_genesis());
  auto now = std::chrono::steady_clock::time_point{};
  Mempool pool(chain, 1000, [&] { return now; });
  pool.set_door_limit({10, 2, 60});
  auto k = key(7);
  const uint64_t wall = unix_millis();  // the door checks validity against the wall clock
  auto tx = [&](uint64_t n) {
    return own_tx(k, n, GrantDelegation{key(8).public_key(), kScopeAll, wall + 100000000}, wall);
  };
  ASSERT_TRUE(
      pool.submit(own_tx(k, 1, RegisterUser{"newbie"}, wall), [](const TxOutcome&) {}).ok());
  ASSERT_TRUE(pool.submit(tx(2), [](const TxOutcome&) {}).ok());
  Status st = pool.submit(tx(3), [](const TxOutcome&) {});
  EXPECT_EQ(st.code(), Code::kRateLimited);
  EXPECT_NE(st.message().find("retry after 1 s"), std::string::npos) << st.message();
  now += std::chrono::seconds(1);
  EXPECT_TRUE(pool.submit(tx(3), [](const TxOutcome&) {}).ok());
  // Off: no limit at all.
  pool.set_door_limit({0, 2, 60});
  EXPECT_TRUE(pool.submit(tx(4), [](const TxOutcome&) {}).ok());
  EXPECT_TRUE(pool.submit(tx(5), [](const TxOutcome&) {}).ok());
  EXPECT_TRUE(pool.submit(tx(6), [](const TxOutcome&) {}).ok());
  pool.shutdown();
}
