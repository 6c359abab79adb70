// CI/CD runs as replicated state (state/ci.h): codec, run creation from a workflow file,
// matrix jobs, needs and skips, exactly-one claim, re-queue by block time, results, commit
// statuses, cancel and re-run.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/ci.h"
#include "state/executor.h"
#include "state/protection.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::key;
using testing::kT0;
using testing::own_tx;

constexpr const char* kPath = ".guts/workflows/ci.yml";
constexpr const char* kWorkflow = R"(name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: linux
    strategy:
      matrix:
        cc: [gcc, clang]
    steps:
      - run: make CC=${{ matrix.cc }}
  deploy:
    needs: build
    runs-on: [linux, deploy]
    steps:
      - run: ./deploy
  notify:
    needs: build
    if: failure()
    runs-on: linux
    steps:
      - run: ./notify
)";

struct Env : testing::ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), runner1 = key(10), runner2 = key(11),
                     token = key(20);
  Bytes sha = testing::oid(0xab);
  Env() : ExecEnv("ci") {
    EXPECT_TRUE(as(alice, RegisterUser{"alice"}).ok());
    EXPECT_TRUE(as(bob, RegisterUser{"bob"}).ok());
    EXPECT_TRUE(as(alice, CreateRepo{"app", "", false, "main"}).ok());
    UpdateRefs u;
    u.repo_id = 1;
    u.changes = {{"refs/heads/main", {}, sha}};
    EXPECT_TRUE(as(alice, u).ok());
  }
  // Applies `body` signed by `k` in a block at `t`.
  Status at(uint64_t t, const crypto::SigningKey& k, TxBody body) {
    Executor later(schema, {"test-chain", 2, t});
    uint64_t n = view().nonce(k.public_key(), k.public_key()) + 1;
    return later.apply(state, own_tx(k, n, std::move(body), t));
  }
  RequestRuns request(std::string content = kWorkflow) {
    RequestRuns r;
    r.repo_id = 1;
    r.workflow_path = kPath;
    r.content = std::move(content);
    r.event = kEventPush;
    r.ref = "refs/heads/main";
    r.sha = sha;
    return r;
  }
  Run run(uint64_t id = 1) { return *runs::run(schema, state, id); }
  std::vector<Job> jobs(uint64_t id = 1) { return runs::jobs_of(schema, state, run(id)); }
  std::map<std::string, uint8_t> statuses() { return status_map(view(), 1, sha); }
  void register_runner(const crypto::SigningKey& r, std::vector<std::string> labels) {
    if (!runs::token(schema, state, token.public_key()))
      ok(alice, CreateRunnerToken{1, token.public_key(), kT0 + 3600 * 1000});
    RegisterRunner reg;
    reg.repo_id = 1;
    reg.token_key = token.public_key();
    reg.token_sig = token.sign(kRunnerTokenDomain, runner_registration_payload(r.public_key(), 1));
    reg.name = "r";
    reg.labels = std::move(labels);
    ok(r, reg);
  }
};

TEST(CiStateCodec, BodiesAndRecordsRoundTrip) {
  Env e;
  auto tx = own_tx(key(1), 1, e.request());
  auto back = decode_transaction(tx.encode());
  ASSERT_EQ(back.kind(), TxKind::kRequestRuns);
  EXPECT_EQ(std::get<RequestRuns>(back.body).content, kWorkflow);
  CompleteJob c;
  c.job_id = 3;
  c.conclusion = kConclusionFailure;
  c.steps = {{1, "make", kRunCompleted, kConclusionFailure, 5, 6, "error: x"}};
  auto cb = decode_transaction(own_tx(key(1), 2, c).encode());
  EXPECT_EQ(std::get<CompleteJob>(cb.body).steps, c.steps);
  for (TxBody b : std::vector<TxBody>{CreateRunnerToken{1, key(3).public_key(), 5}, ClaimJob{4},
                                      JobHeartbeat{4}, ReportSteps{4, c.steps},
                                      RunAction{2, kRunRerun}, RegisterRunner{}}) {
    auto t = own_tx(key(1), 3, b);
    EXPECT_EQ(decode_transaction(t.encode()).encode(), t.encode());
  }
  EXPECT_STREQ(tx_kind_name(TxKind::kRunAction), "run_action");
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kRequestRuns), 52u);
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kRunAction), 59u);

  state::Job j;
  j.id = 9;
  j.matrix = {{"os", "linux"}};
  j.runs_on = {"linux"};
  j.steps = c.steps;
  EXPECT_EQ(decode_job(encode_job(j)), j);
  state::Run r;
  r.id = 2;
  r.sha = e.sha;
  r.jobs = {9, 10};
  r.error = "x:1:2: bad";
  EXPECT_EQ(decode_run(encode_run(r)), r);
  EXPECT_THROW(decode_run(encode_run(r) + "x"), codec::DecodeError);
}

TEST(CiState, PushCreatesRunWithMatrixJobsAndPendingStatuses) {
  Env e;
  e.ok(e.alice, e.request());
  auto run = e.run();
  EXPECT_EQ(run.workflow_name, "CI");
  EXPECT_EQ(run.status, kRunQueued);
  auto jobs = e.jobs();
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(jobs[0].name, "build (gcc)");
  EXPECT_EQ(jobs[1].name, "build (clang)");
  EXPECT_TRUE(jobs[0].ready && jobs[1].ready);
  EXPECT_FALSE(jobs[2].ready);  // deploy waits for build
  auto st = e.statuses();
  EXPECT_EQ(st.at("CI / build (gcc)"), kStatusPending);
  EXPECT_EQ(st.at("CI / deploy"), kStatusPending);
  // One run per workflow, commit and event.
  EXPECT_EQ(e.as(e.alice, e.request()).code(), Code::kAlreadyExists);
}

TEST(CiState, RequestRules) {
  Env e;
  EXPECT_EQ(e.as(e.bob, e.request()).code(), Code::kPermissionDenied);  // read only
  auto r = e.request();
  r.sha = testing::oid(0xcd);
  EXPECT_EQ(e.as(e.alice, r).code(), Code::kConflict);  // main is not at that commit
  r = e.request();
  r.workflow_path = ".github/workflows/ci.yml";
  EXPECT_EQ(e.as(e.alice, r).code(), Code::kInvalidArgument);
  r = e.request(std::string(kWorkflow).replace(std::string(kWorkflow).find("[main]"), 6, "[dev]"));
  auto st = e.as(e.alice, r);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("does not run on push"), std::string::npos) << st.message();
  EXPECT_FALSE(runs::run(e.schema, e.state, 1));  // nothing changed
}

TEST(CiState, BrokenWorkflowIsAFailedRunWithItsPosition) {
  Env e;
  e.ok(e.alice, e.request("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n"));
  auto run = e.run();
  EXPECT_EQ(run.status, kRunCompleted);
  EXPECT_EQ(run.conclusion, kConclusionFailure);
  EXPECT_EQ(run.error.rfind(std::string(kPath) + ":5:5: unknown key 'stepz'", 0), 0u) << run.error;
  EXPECT_TRUE(run.jobs.empty());
  EXPECT_EQ(e.statuses().at(kPath), kStatusFailure);
  EXPECT_EQ(e.as(e.alice, RunAction{1, kRunRerun}).code(), Code::kFailedPrecondition);
}

TEST(CiState, RunnerRegistrationNeedsAValidToken) {
  Env e;
  EXPECT_EQ(e.as(e.bob, CreateRunnerToken{1, e.token.public_key(), kT0 + 1000}).code(),
            Code::kPermissionDenied);  // admin only
  EXPECT_EQ(e.as(e.alice, CreateRunnerToken{1, e.token.public_key(), kT0}).code(),
            Code::kInvalidArgument);  // already expired
  e.ok(e.alice, CreateRunnerToken{1, e.token.public_key(), kT0 + 1000});
  RegisterRunner reg;
  reg.repo_id = 1;
  reg.token_key = e.token.public_key();
  // Signed for runner1: runner2 cannot replay it for itself.
  reg.token_sig =
      e.token.sign(kRunnerTokenDomain, runner_registration_payload(e.runner1.public_key(), 1));
  reg.name = "one";
  reg.labels = {"linux"};
  EXPECT_EQ(e.as(e.runner2, reg).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.at(kT0 + 2000, e.runner1, reg).code(), Code::kPermissionDenied);  // expired
  e.ok(e.runner1, reg);
  auto r = runs::runner(e.schema, e.state, 1, e.runner1.public_key());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, std::vector<std::string>{"linux"});
  EXPECT_EQ(runs::runners_of_repo(e.schema, e.state, 1).size(), 1u);
}

TEST(CiState, ExactlyOneClaimThenResultsAndStatus) {
  Env e;
  e.ok(e.alice, e.request());
  e.register_runner(e.runner1, {"linux"});
  e.register_runner(e.runner2, {"linux", "deploy"});
  auto jobs = e.jobs();
  EXPECT_EQ(runs::claimable_jobs(e.schema, e.state, 1, kT0).size(), 2u);
  EXPECT_EQ(e.as(e.bob, ClaimJob{jobs[0].id}).code(), Code::kPermissionDenied);  // not a runner
  e.ok(e.runner1, ClaimJob{jobs[0].id});
  auto second = e.as(e.runner2, ClaimJob{jobs[0].id});
  EXPECT_EQ(second.code(), Code::kConflict) << second.message();
  EXPECT_EQ(e.as(e.runner1, ClaimJob{jobs[2].id}).code(), Code::kPermissionDenied);    // labels
  EXPECT_EQ(e.as(e.runner2, ClaimJob{jobs[2].id}).code(), Code::kFailedPrecondition);  // needs
  EXPECT_EQ(e.run().status, kRunInProgress);
  EXPECT_EQ(e.statuses().at("CI / build (gcc)"), kStatusPending);

  // Only the holder reports.
  ReportSteps rs{jobs[0].id, {{1, "make", kRunInProgress, 0, kT0, 0, "cc -c a.c"}}};
  EXPECT_EQ(e.as(e.runner2, rs).code(), Code::kPermissionDenied);
  e.ok(e.runner1, rs);
  EXPECT_EQ(e.as(e.runner2, CompleteJob{jobs[0].id, kConclusionSuccess, {}}).code(),
            Code::kPermissionDenied);
  CompleteJob done{jobs[0].id,
                   kConclusionSuccess,
                   {{1, "make", kRunCompleted, kConclusionSuccess, kT0, kT0 + 5, "ok"}}};
  e.ok(e.runner1, done);
  EXPECT_EQ(e.as(e.runner1, done).code(), Code::kPermissionDenied);  // completed: held by none
  auto j0 = *runs::job(e.schema, e.state, jobs[0].id);
  EXPECT_EQ(j0.conclusion, kConclusionSuccess);
  ASSERT_EQ(j0.steps.size(), 1u);
  EXPECT_EQ(j0.steps[0].log_tail, "ok");
  EXPECT_EQ(e.statuses().at("CI / build (gcc)"), kStatusSuccess);

  // The second matrix job fails: deploy is skipped, notify (if: failure()) becomes ready.
  e.ok(e.runner2, ClaimJob{jobs[1].id});
  e.ok(e.runner2, CompleteJob{jobs[1].id, kConclusionFailure, {}});
  auto after = e.jobs();
  EXPECT_EQ(after[2].status, kRunCompleted);
  EXPECT_EQ(after[2].conclusion, kConclusionSkipped);
  EXPECT_TRUE(after[3].ready);
  EXPECT_EQ(e.statuses().at("CI / build (clang)"), kStatusFailure);
  EXPECT_EQ(e.statuses().at("CI / deploy"), kStatusSuccess);  // skipped
  e.ok(e.runner1, ClaimJob{after[3].id});
  e.ok(e.runner1, CompleteJob{after[3].id, kConclusionSuccess, {}});
  auto run = e.run();
  EXPECT_EQ(run.status, kRunCompleted);
  EXPECT_EQ(run.conclusion, kConclusionFailure);
  EXPECT_TRUE(runs::claimable_jobs(e.schema, e.state, 1, kT0).empty());

  // Re-run: every job queued again, attempt 2, statuses pending.
  EXPECT_EQ(e.as(e.bob, RunAction{1, kRunRerun}).code(), Code::kPermissionDenied);
  e.ok(e.alice, RunAction{1, kRunRerun});
  run = e.run();
  EXPECT_EQ(run.attempt, 2u);
  EXPECT_EQ(run.status, kRunQueued);
  EXPECT_EQ(e.statuses().at("CI / build (gcc)"), kStatusPending);
  EXPECT_EQ(runs::claimable_jobs(e.schema, e.state, 1, kT0).size(), 2u);
}

TEST(CiState, StaleHeartbeatRequeuesByBlockTime) {
  Env e;
  e.ok(e.alice, e.request());
  e.register_runner(e.runner1, {"linux"});
  e.register_runner(e.runner2, {"linux"});
  uint64_t id = e.jobs()[0].id;
  e.ok(e.runner1, ClaimJob{id});
  const uint64_t t1 = kT0 + kJobHeartbeatDeadlineMs;  // still fresh at the deadline
  EXPECT_EQ(e.at(t1, e.runner2, ClaimJob{id}).code(), Code::kConflict);
  EXPECT_TRUE(e.at(t1, e.runner1, JobHeartbeat{id}).ok());
  const uint64_t t2 = t1 + kJobHeartbeatDeadlineMs + 1;  // no heartbeat since t1: stale
  EXPECT_EQ(runs::claimable_jobs(e.schema, e.state, 1, t2).size(), 2u);
  EXPECT_TRUE(e.at(t2, e.runner2, ClaimJob{id}).ok());
  auto j = *runs::job(e.schema, e.state, id);
  EXPECT_EQ(j.runner, e.runner2.public_key());
  EXPECT_EQ(j.claims, 2u);
  // The old holder's heartbeat and result are refused: exactly one conclusion.
  EXPECT_EQ(e.at(t2, e.runner1, JobHeartbeat{id}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.at(t2, e.runner1, CompleteJob{id, kConclusionSuccess, {}}).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(e.at(t2, e.runner2, CompleteJob{id, kConclusionSuccess, {}}).ok());
}

TEST(CiState, CancelCompletesEveryOpenJob) {
  Env e;
  e.ok(e.alice, e.request());
  e.register_runner(e.runner1, {"linux"});
  uint64_t id = e.jobs()[0].id;
  e.ok(e.runner1, ClaimJob{id});
  e.ok(e.alice, RunAction{1, kRunCancel});
  auto run = e.run();
  EXPECT_EQ(run.status, kRunCompleted);
  EXPECT_EQ(run.conclusion, kConclusionCancelled);
  for (const auto& j : e.jobs()) EXPECT_EQ(j.conclusion, kConclusionCancelled) << j.name;
  EXPECT_EQ(e.statuses().at("CI / build (gcc)"), kStatusError);
  EXPECT_EQ(e.as(e.runner1, CompleteJob{id, kConclusionSuccess, {}}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, RunAction{1, kRunCancel}).code(), Code::kFailedPrecondition);
}

TEST(CiState, SuccessfulJobSatisfiesARequiredStatusCheck) {
  Env e;
  ProtectionRule rule;
  rule.repo_id = 1;
  rule.pattern = "main";
  rule.require_status_checks = true;
  rule.contexts = {"CI / deploy"};
  e.ok(e.alice, SetBranchProtection{rule});
  e.ok(e.alice, e.request("name: CI\non: push\njobs:\n  deploy:\n    runs-on: linux\n"
                          "    steps: [{run: x}]\n"));
  e.register_runner(e.runner1, {"linux"});
  uint64_t id = e.jobs()[0].id;
  Repo repo = *e.view().repo(1);
  RefChange change{"refs/heads/main", e.sha, e.sha};
  auto denial = [&] {
    return push_protection_denial(e.view(), repo, e.alice.public_key(), Permission::kWrite, change,
                                  false);
  };
  // Pending: the required check blocks.
  EXPECT_TRUE(denial().has_value());
  e.ok(e.runner1, ClaimJob{id});
  e.ok(e.runner1, CompleteJob{id, kConclusionSuccess, {}});
  EXPECT_FALSE(denial().has_value()) << *denial();
}

// ---- pull request runs ----

constexpr const char* kPullWorkflow = R"(name: PR
on:
  pull_request:
    branches: [main]
jobs:
  check:
    runs-on: linux
    steps:
      - run: make check
)";

// alice's repository 1 with branch feature (pull request 1 by alice); bob's fork (repository 2)
// with branch fix (pull request 2 by bob, who has read permission on 1).
struct PullEnv : Env {
  Bytes feature = testing::oid(0xf1), fix = testing::oid(0xf2);
  PullEnv() {
    UpdateRefs u;
    u.repo_id = 1;
    u.changes = {{"refs/heads/feature", {}, feature}};
    ok(alice, u);
    ok(alice, OpenPullRequest{1, "Feature", "", 1, "feature", "main", feature, false});
    ok(bob, ForkRepo{1, "app", false});
    UpdateRefs f;
    f.repo_id = 2;
    f.changes = {{"refs/heads/fix", {}, fix}};
    ok(bob, f);
    ok(bob, OpenPullRequest{1, "Fix", "", 2, "fix", "main", fix, false});
  }
  RequestRuns pull(uint64_t number, const Bytes& head) {
    RequestRuns r = request(kPullWorkflow);
    r.event = kEventPullRequest;
    r.pull_number = number;
    r.sha = head;
    return r;
  }
};

TEST(CiState, PullRequestRunsAreForTheOpenHeadAndItsAuthorOrWriters) {
  PullEnv e;
  auto carol = key(3);
  e.ok(carol, RegisterUser{"carol"});
  // The head, the base branch and the pull request must agree with the state.
  EXPECT_EQ(e.as(e.alice, e.pull(1, e.sha)).code(), Code::kConflict);      // not the head
  EXPECT_EQ(e.as(e.alice, e.pull(9, e.feature)).code(), Code::kNotFound);  // no such pull
  auto wrong_base = e.pull(1, e.feature);
  wrong_base.ref = "refs/heads/feature";
  EXPECT_EQ(e.as(e.alice, wrong_base).code(), Code::kInvalidArgument);
  // Bob has read permission: he may run his own pull request's checks, not alice's; carol
  // (read, author of neither) may run none.
  EXPECT_EQ(e.as(e.bob, e.pull(1, e.feature)).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(carol, e.pull(2, e.fix)).code(), Code::kPermissionDenied);
  EXPECT_FALSE(runs::run(e.schema, e.state, 1));  // nothing changed
  e.ok(e.bob, e.pull(2, e.fix));
  auto run = e.run();
  EXPECT_EQ(run.event, kEventPullRequest);
  EXPECT_EQ(run.pull_number, 2u);
  EXPECT_EQ(run.sha, e.fix);
  EXPECT_EQ(run.actor, e.bob.public_key());
  EXPECT_EQ(status_map(e.view(), 1, e.fix).at("PR / check"), kStatusPending);
  // A writer runs any open pull request's; one run per head and workflow.
  e.ok(e.alice, e.pull(1, e.feature));
  EXPECT_EQ(e.as(e.alice, e.pull(1, e.feature)).code(), Code::kAlreadyExists);
  // A workflow without a pull_request trigger for main does not run.
  auto push_only = e.pull(1, e.feature);
  push_only.content = kWorkflow;
  push_only.workflow_path = ".guts/workflows/other.yml";
  EXPECT_EQ(e.as(e.alice, push_only).code(), Code::kInvalidArgument);
}

// ---- scheduled runs ----

constexpr const char* kNightly = R"(name: Nightly
on:
  schedule:
    - cron: '30 2 * * *'
    - cron: '*/15 9-17 * * MON-FRI'
jobs:
  tick:
    runs-on: linux
    steps:
      - run: ./nightly
)";
constexpr const char* kNightlyPath = ".guts/workflows/nightly.yml";
// 2026-11-19 02:30 UTC, a Thursday.
constexpr uint64_t kSlot = 1795055400000;

TEST(CiSchedule, CodecAndKinds) {
  SetSchedules s{1, "refs/heads/main", testing::oid(0xab), {{kNightlyPath, kNightly}}};
  testing::expect_roundtrip(s);
  testing::expect_roundtrip(TriggerSchedule{1, kNightlyPath, kSlot});
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kSetSchedules), 67u);
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kTriggerSchedule), 73u);
  EXPECT_STREQ(tx_kind_name(TxKind::kTriggerSchedule), "trigger_schedule");
  Schedule x{
      1,   kNightlyPath, kNightly, "refs/heads/main", testing::oid(0xab), key(1).public_key(),
      kT0, kSlot,        4};
  EXPECT_EQ(decode_schedule(encode_schedule(x)), x);
  SetSchedules many{1, "refs/heads/main", testing::oid(0xab), {}};
  for (size_t i = 0; i <= kMaxScheduledWorkflows; ++i) many.workflows.push_back({"p", "c"});
  EXPECT_THROW(decode_body(TxKind::kSetSchedules, encode_body(many)), codec::DecodeError);
}

TEST(CiSchedule, RegistrationRules) {
  Env e;
  SetSchedules s{1, "refs/heads/main", e.sha, {{kNightlyPath, kNightly}}};
  EXPECT_EQ(e.as(e.bob, s).code(), Code::kPermissionDenied);  // read only
  auto wrong = s;
  wrong.sha = testing::oid(0xcd);
  EXPECT_EQ(e.as(e.alice, wrong).code(), Code::kConflict);  // main is not there
  wrong = s;
  wrong.ref = "refs/heads/dev";
  EXPECT_EQ(e.as(e.alice, wrong).code(), Code::kInvalidArgument);  // not the default branch
  wrong = s;
  wrong.workflows = {{kNightlyPath, kWorkflow}};  // no schedule in it
  EXPECT_EQ(e.as(e.alice, wrong).code(), Code::kInvalidArgument);
  wrong.workflows = {{kNightlyPath, "on: {schedule: [{cron: '61 * * * *'}]}\njobs: {}"}};
  auto st = e.as(e.alice, wrong);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("61 is out of 0-59"), std::string::npos) << st.message();
  wrong.workflows = {{"b.yml", kNightly}, {"a.yml", kNightly}};
  EXPECT_EQ(e.as(e.alice, wrong).code(), Code::kInvalidArgument);  // not sorted
  EXPECT_TRUE(runs::schedules(e.schema, e.state).empty());         // nothing changed

  e.ok(e.alice, s);
  auto all = runs::schedules(e.schema, e.state);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].path, kNightlyPath);
  EXPECT_EQ(all[0].actor, e.alice.public_key());
  EXPECT_EQ(all[0].sha, e.sha);
  // An empty set removes it.
  e.ok(e.alice, SetSchedules{1, "refs/heads/main", e.sha, {}});
  EXPECT_TRUE(runs::schedules(e.schema, e.state, 1).empty());
}

TEST(CiSchedule, TheDueMinuteRunsOnceAtTheRegisteredCommit) {
  Env e;
  e.ok(e.alice, SetSchedules{1, "refs/heads/main", e.sha, {{kNightlyPath, kNightly}}});
  auto sched = *runs::schedule(e.schema, e.state, 1, kNightlyPath);
  // A new schedule never runs a minute before its registration (kT0, 11:06:40).
  const uint64_t before = kT0 - kT0 % 60000 - 6 * 60000;  // 11:00
  EXPECT_FALSE(runs::due_slot(sched, kT0 + 1000));        // 11:00 is in the schedule, but earlier
  EXPECT_EQ(e.at(kT0, key(50), TriggerSchedule{1, kNightlyPath, before}).code(),
            Code::kAlreadyExists);
  // What a node computes: 02:30 is due from 02:30 until an hour later.
  EXPECT_FALSE(runs::due_slot(sched, kSlot - 1));
  EXPECT_EQ(runs::due_slot(sched, kSlot), kSlot);
  EXPECT_EQ(runs::due_slot(sched, kSlot + 59 * 60000), kSlot);
  EXPECT_FALSE(runs::due_slot(sched, kSlot + 61 * 60000));

  // Anyone may trigger it (here a key that is no user at all), within the rules.
  auto node = key(50);
  EXPECT_EQ(e.at(kSlot - 1000, node, TriggerSchedule{1, kNightlyPath, kSlot}).code(),
            Code::kConflict);  // not due yet
  EXPECT_EQ(e.at(kSlot + 61 * 60000, node, TriggerSchedule{1, kNightlyPath, kSlot}).code(),
            Code::kInvalidArgument);  // more than an hour late
  EXPECT_EQ(e.at(kSlot + 60000, node, TriggerSchedule{1, kNightlyPath, kSlot + 60000}).code(),
            Code::kInvalidArgument);  // 02:31 is not in the schedule
  EXPECT_EQ(e.at(kSlot + 5000, node, TriggerSchedule{1, kNightlyPath, kSlot + 5000}).code(),
            Code::kInvalidArgument);  // not the start of a minute
  EXPECT_EQ(e.at(kSlot, node, TriggerSchedule{1, ".guts/workflows/x.yml", kSlot}).code(),
            Code::kNotFound);
  EXPECT_FALSE(runs::run(e.schema, e.state, 1));  // nothing changed

  ASSERT_TRUE(e.at(kSlot + 20000, node, TriggerSchedule{1, kNightlyPath, kSlot}).ok());
  auto run = e.run();
  EXPECT_EQ(run.event, kEventSchedule);
  EXPECT_EQ(run.sha, e.sha);
  EXPECT_EQ(run.ref, "refs/heads/main");
  EXPECT_EQ(run.actor, e.alice.public_key());  // who scheduled it, not the node
  EXPECT_EQ(e.jobs().size(), 1u);
  // A second node's trigger of the same minute is refused: exactly one run per minute.
  EXPECT_EQ(e.at(kSlot + 30000, key(51), TriggerSchedule{1, kNightlyPath, kSlot}).code(),
            Code::kAlreadyExists);
  EXPECT_FALSE(runs::run(e.schema, e.state, 2));
  EXPECT_FALSE(runs::due_slot(*runs::schedule(e.schema, e.state, 1, kNightlyPath), kSlot + 60000));
  // Registering again (the next push) keeps the last minute run: it is not run twice.
  e.ok(e.alice, SetSchedules{1, "refs/heads/main", e.sha, {{kNightlyPath, kNightly}}});
  EXPECT_EQ(e.at(kSlot + 40000, node, TriggerSchedule{1, kNightlyPath, kSlot}).code(),
            Code::kAlreadyExists);
  // The weekday schedule: Thursday 2026-11-19 09:15 runs as a second run, same commit.
  const uint64_t nine15 = kSlot + (6 * 60 + 45) * 60000;
  ASSERT_TRUE(e.at(nine15, node, TriggerSchedule{1, kNightlyPath, nine15}).ok());
  EXPECT_EQ(e.run(2).event, kEventSchedule);
}

TEST(CiSchedule, StopsWhenTheSchedulerLosesWriteOrTheDefaultBranchChanges) {
  Env e;
  e.ok(e.alice, SetCollaborator{1, e.bob.public_key(), static_cast<uint8_t>(Permission::kWrite)});
  UpdateRefs dev;
  dev.repo_id = 1;
  dev.changes = {{"refs/heads/dev", {}, e.sha}};
  e.ok(e.alice, dev);
  e.ok(e.bob, SetSchedules{1, "refs/heads/main", e.sha, {{kNightlyPath, kNightly}}});
  e.ok(e.alice, SetCollaborator{1, e.bob.public_key(), 0});  // bob loses write
  EXPECT_EQ(e.at(kSlot, key(50), TriggerSchedule{1, kNightlyPath, kSlot}).code(),
            Code::kPermissionDenied);
  e.ok(e.alice, SetSchedules{1, "refs/heads/main", e.sha, {{kNightlyPath, kNightly}}});
  UpdateRepo u;
  u.repo_id = 1;
  u.default_branch = "dev";
  e.ok(e.alice, u);
  EXPECT_EQ(e.at(kSlot, key(50), TriggerSchedule{1, kNightlyPath, kSlot}).code(), Code::kConflict);
  EXPECT_FALSE(runs::run(e.schema, e.state, 1));
}

}  // namespace
}  // namespace guts::state
