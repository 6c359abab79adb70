// Runner trust (state/runner_policy.h, kind 64): a runner's success satisfies a required status
// check only when the repository trusts the runner; the status itself stays visible.
#include "state/runner_policy.h"

#include <gtest/gtest.h>

#include <algorithm>

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
      RegisterRunner reg;
      reg.repo_id = 1;
      reg.token_key = token.public_key();
      reg.token_sig =
          token.sign(kRunnerTokenDomain, runner_registration_payload(r->public_key(), 1));
      reg.name = r == &runner1 ? "one" : "two";
      reg.labels = {"linux"};
      ok(*r, reg);
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

}  // namespace
}  // namespace guts::state
