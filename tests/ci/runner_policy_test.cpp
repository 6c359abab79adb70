// Runner trust (state/runner_policy.h, kind 64): a runner's success satisfies a required status
// check only when the repository trusts the runner; the status itself stays visible.
#include "state/runner_policy.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec/codec.h"
#include "state/ci.h"
#include "state/executor.h"
#include "state/protection.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::key;
using testing::kT0;

constexpr const char* kWorkflow = R"(name: CI
on: push
jobs:
  build:
    runs-on: linux
    steps:
      - run: make
)";

struct Env : testing::ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), runner1 = key(10), runner2 = key(11),
                     token = key(20);
  Bytes base = testing::oid(0xa1), head = testing::oid(0xb2);
  Env() : ExecEnv("runner-policy") {
    EXPECT_TRUE(as(alice, RegisterUser{"alice"}).ok());
    EXPECT_TRUE(as(bob, RegisterUser{"bob"}).ok());
    EXPECT_TRUE(as(alice, CreateRepo{"app", "", false, "main"}).ok());
    EXPECT_TRUE(
        as(alice, SetCollaborator{1, bob.public_key(), static_cast<uint8_t>(Permission::kWrite)})
            .ok());
    UpdateRefs u;
    u.repo_id = 1;
    u.changes = {{"refs/heads/main", {}, base}, {"refs/heads/dev", {}, head}};
    EXPECT_TRUE(as(alice, u).ok());
    ProtectionRule rule;
    rule.repo_id = 1;
    rule.pattern = "main";
    rule.require_status_checks = true;
    rule.contexts = {"CI / build"};
    rule.enforce_admins = true;
    EXPECT_TRUE(as(alice, SetBranchProtection{rule}).ok());
    ok(alice, CreateRunnerToken{1, token.public_key(), kT0 + 3600 * 1000});
    for (const auto* r : {&runner1, &runner2}) {
      register_runner(*r, r == &runner1 ? "one" : "two");
    }
    // A push run on dev's head, completed green by runner1.
    RequestRuns rr;
    rr.repo_id = 1;
    rr.workflow_path = ".guts/workflows/ci.yml";
    rr.content = kWorkflow;
    rr.ref = "refs/heads/dev";
    rr.sha = head;
    ok(alice, rr);
    auto job = runs::jobs_of(schema, state, *runs::run(schema, state, 1)).at(0);
    ok(runner1, ClaimJob{job.id});
    ok(runner1, CompleteJob{job.id, kConclusionSuccess, {}});
  }
  Status push_main() {
    UpdateRefs u;
    u.repo_id = 1;
    u.changes = {{"refs/heads/main", base, head}};
    Overlay trial(static_cast<const KvReader&>(state));  // evaluate without moving main
    uint64_t n = view().nonce(alice.public_key(), alice.public_key()) + 1;
    return ex.apply(trial, testing::own_tx(alice, n, u));
  }
  uint8_t seen() { return status_map(view(), 1, head).at("CI / build"); }
  // Registers `r` to repository 1 with alice's token, label "linux".
  void register_runner(const crypto::SigningKey& r, const std::string& name) {
    RegisterRunner reg;
    reg.repo_id = 1;
    reg.token_key = token.public_key();
    reg.token_sig = token.sign(kRunnerTokenDomain, runner_registration_payload(r.public_key(), 1));
    reg.name = name;
    reg.labels = {"linux"};
    ok(r, reg);
  }
  // Run 2: the workflow at main's tip.
  RequestRuns run_on_main() const {
    RequestRuns rr;
    rr.repo_id = 1;
    rr.workflow_path = ".guts/workflows/ci.yml";
    rr.content = kWorkflow;
    rr.ref = "refs/heads/main";
    rr.sha = base;
    return rr;
  }
};

TEST(RunnerPolicy, KindAndCodec) {
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kSetRunnerPolicy), 64u);
  EXPECT_STREQ(tx_kind_name(TxKind::kSetRunnerPolicy), "set_runner_policy");
  testing::expect_roundtrip(SetRunnerPolicy{});
  testing::expect_roundtrip(SetRunnerPolicy{7, {key(10).public_key(), key(11).public_key()}});
  RunnerPolicy p{3, {key(10).public_key()}, key(1).public_key(), 99};
  auto back = decode_runner_policy(encode_runner_policy(p));
  EXPECT_EQ(back.trusted_runners, p.trusted_runners);
  EXPECT_EQ(back.updated_ms, 99u);
}

TEST(RunnerPolicy, UntrustedRunnerDoesNotSatisfyRequiredCheck) {
  Env e;
  // No policy: a runner registered with an admin's token is trusted.
  EXPECT_EQ(e.seen(), kStatusSuccess);
  EXPECT_TRUE(e.push_main().ok()) << e.push_main().message();

  // Only admins set the policy; keys are checked.
  EXPECT_EQ(e.as(e.bob, SetRunnerPolicy{1, {e.runner2.public_key()}}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(
      e.as(e.alice, SetRunnerPolicy{1, {e.runner2.public_key(), e.runner2.public_key()}}).code(),
      Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.alice, SetRunnerPolicy{9, {}}).code(), Code::kNotFound);

  // Trust runner2 only: runner1's green status is shown but does not count.
  e.ok(e.alice, SetRunnerPolicy{1, {e.runner2.public_key()}});
  auto p = runner_policy(e.view(), 1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->updated_by, e.alice.public_key());
  auto all = commit_statuses(e.view(), 1, e.head);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, kStatusSuccess);  // still visible as written
  EXPECT_FALSE(status_trusted(e.view(), all[0]));
  EXPECT_EQ(e.seen(), kStatusPending);
  auto denied = e.push_main();
  EXPECT_FALSE(denied.ok());
  EXPECT_NE(denied.message().find("required status check"), std::string::npos) << denied.message();

  // Trust runner1: the check passes again; an empty list is back to "registered by an admin".
  e.ok(e.alice, SetRunnerPolicy{1, {e.runner1.public_key()}});
  EXPECT_EQ(e.seen(), kStatusSuccess);
  EXPECT_TRUE(e.push_main().ok());
  e.ok(e.alice, SetRunnerPolicy{1, {}});
  EXPECT_EQ(e.seen(), kStatusSuccess);

  // A writer's own status (kind 36) is not a runner's: unaffected by the policy.
  e.ok(e.alice, SetRunnerPolicy{1, {e.runner2.public_key()}});
  SetCommitStatus s;
  s.repo_id = 1;
  s.sha = e.head;
  s.state = kStatusSuccess;
  s.context = "CI / build";
  e.ok(e.bob, s);
  EXPECT_EQ(e.seen(), kStatusSuccess);
}

// Agreeing runners: with agreeing = 2 a job completes only when two distinct trusted runners
// report the same conclusion; each completion before that puts the job back in the queue.
TEST(RunnerPolicy, AgreeingRunnersMustReportTheSameConclusion) {
  Env e;
  auto runner3 = key(12);
  e.register_runner(runner3, "three");

  // Codec: 1 is implicit (old bytes unchanged), 2-5 explicit; an explicit 1 or 6 is refused.
  SetRunnerPolicy two{1, {}, 2};
  testing::expect_roundtrip(two);
  EXPECT_EQ(encode_body(TxBody(SetRunnerPolicy{1, {}})),
            encode_body(TxBody(SetRunnerPolicy{1, {}, 1})));
  Bytes explicit_one = encode_body(TxBody(SetRunnerPolicy{1, {}}));
  explicit_one.push_back(1);
  EXPECT_THROW(decode_body(TxKind::kSetRunnerPolicy, explicit_one), codec::DecodeError);
  RunnerPolicy rp{1, {}, e.alice.public_key(), 5, 3};
  EXPECT_EQ(decode_runner_policy(encode_runner_policy(rp)).agreeing, 3u);
  // Rules: 1-5, and no more than the runners a list trusts.
  EXPECT_EQ(e.as(e.alice, SetRunnerPolicy{1, {}, 6}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.alice, SetRunnerPolicy{1, {}, 0}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.alice, SetRunnerPolicy{1, {e.runner1.public_key()}, 2}).code(),
            Code::kInvalidArgument);
  e.ok(e.alice, SetRunnerPolicy{1, {e.runner1.public_key(), e.runner2.public_key()}, 2});
  EXPECT_EQ(agreeing_runners(e.view(), 1), 2u);

  // A new run on main's tip (write permission; alice pushes nothing).
  e.ok(e.alice, e.run_on_main());
  auto job_of = [&] {
    return runs::jobs_of(e.schema, e.state, *runs::run(e.schema, e.state, 2)).at(0);
  };
  const uint64_t id = job_of().id;
  auto status = [&] { return status_map(e.view(), 1, e.base).at("CI / build"); };

  // runner1 says success: back in the queue, pending, and runner1 cannot take it again.
  e.ok(e.runner1, ClaimJob{id});
  e.ok(e.runner1, CompleteJob{id, kConclusionSuccess, {}});
  EXPECT_EQ(job_of().status, kRunQueued);
  EXPECT_EQ(job_of().results.size(), 1u);
  EXPECT_EQ(status(), kStatusPending);
  EXPECT_EQ(e.as(e.runner1, ClaimJob{id}).code(), Code::kConflict);
  EXPECT_EQ(runs::claimable_jobs(e.schema, e.state, 1, kT0, 100, &e.runner1.public_key()).size(),
            0u);
  EXPECT_EQ(runs::claimable_jobs(e.schema, e.state, 1, kT0, 100, &e.runner2.public_key()).size(),
            1u);
  // runner3 (registered, not trusted) agrees: recorded, does not count.
  e.ok(runner3, ClaimJob{id});
  e.ok(runner3, CompleteJob{id, kConclusionSuccess, {}});
  EXPECT_EQ(job_of().status, kRunQueued);
  // runner2 disagrees (failure): still no two trusted agree.
  e.ok(e.runner2, ClaimJob{id});
  e.ok(e.runner2, CompleteJob{id, kConclusionFailure, {}});
  EXPECT_EQ(job_of().status, kRunQueued);
  EXPECT_EQ(job_of().results.size(), 3u);

  // A re-run starts over; two trusted successes complete the job green.
  e.ok(e.alice, RunAction{2, kRunCancel});
  e.ok(e.alice, RunAction{2, kRunRerun});
  EXPECT_TRUE(job_of().results.empty());
  e.ok(e.runner1, ClaimJob{id});
  e.ok(e.runner1, CompleteJob{id, kConclusionSuccess, {}});
  e.ok(e.runner2, ClaimJob{id});
  e.ok(e.runner2, CompleteJob{id, kConclusionSuccess, {}});
  EXPECT_EQ(job_of().status, kRunCompleted);
  EXPECT_EQ(job_of().conclusion, kConclusionSuccess);
  EXPECT_EQ(status(), kStatusSuccess);
  EXPECT_EQ(runs::run(e.schema, e.state, 2)->conclusion, kConclusionSuccess);
  // Stored records of jobs without results keep their old bytes (no trailing field).
  auto plain = runs::jobs_of(e.schema, e.state, *runs::run(e.schema, e.state, 1)).at(0);
  EXPECT_TRUE(plain.results.empty());
  EXPECT_EQ(decode_job(encode_job(job_of())), job_of());
}

// Without agreement after kMaxJobResults completions the job fails.
TEST(RunnerPolicy, AgreeingRunnersThatNeverAgreeFailTheJob) {
  Env e;
  e.ok(e.alice, SetRunnerPolicy{1, {}, 5});
  e.ok(e.alice, e.run_on_main());
  const uint64_t id = runs::jobs_of(e.schema, e.state, *runs::run(e.schema, e.state, 2)).at(0).id;
  for (uint8_t i = 0; i < kMaxJobResults; ++i) {
    auto r = key(static_cast<uint8_t>(100 + i));
    e.register_runner(r, "r" + std::to_string(i));
    e.ok(r, ClaimJob{id});
    // Four conclusions in turn: none reaches five among sixteen.
    const uint8_t c[] = {kConclusionSuccess, kConclusionFailure, kConclusionCancelled,
                         kConclusionTimedOut};
    e.ok(r, CompleteJob{id, c[i % 4], {}});
  }
  auto job = runs::jobs_of(e.schema, e.state, *runs::run(e.schema, e.state, 2)).at(0);
  EXPECT_EQ(job.status, kRunCompleted);
  EXPECT_EQ(job.conclusion, kConclusionFailure);
  EXPECT_EQ(job.results.size(), kMaxJobResults);
}

}  // namespace
}  // namespace guts::state
