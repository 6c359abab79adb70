// Kinds 68-70 (state/ci_runner.h): a job's stored log (only its runner, listed in blob_refs),
// Actions secrets sealed to registered runners (admin only), their codec and bounds.
#include "state/ci_runner_state.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/blob_refs.h"
#include "state/ci.h"
#include "state/executor.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::key;
using testing::kT0;

constexpr const char* kWorkflow = R"(on: push
jobs:
  build:
    runs-on: linux
    steps:
      - run: make
)";

struct Env : testing::ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), runner1 = key(10), runner2 = key(11),
                     token = key(20);
  Bytes sha = testing::oid(0xab);
  Env() : ExecEnv("ci-runner") {
    EXPECT_TRUE(as(alice, RegisterUser{"alice"}).ok());
    EXPECT_TRUE(as(bob, RegisterUser{"bob"}).ok());
    EXPECT_TRUE(as(alice, CreateRepo{"app", "", false, "main"}).ok());
    UpdateRefs u;
    u.repo_id = 1;
    u.changes = {{"refs/heads/main", {}, sha}};
    EXPECT_TRUE(as(alice, u).ok());
    RequestRuns r;
    r.repo_id = 1;
    r.workflow_path = ".guts/workflows/ci.yml";
    r.content = kWorkflow;
    r.ref = "refs/heads/main";
    r.sha = sha;
    EXPECT_TRUE(as(alice, r).ok());
    EXPECT_TRUE(as(alice, CreateRunnerToken{1, token.public_key(), kT0 + 3600 * 1000}).ok());
    for (auto* k : {&runner1, &runner2}) {
      RegisterRunner reg;
      reg.repo_id = 1;
      reg.token_key = token.public_key();
      reg.token_sig =
          token.sign(kRunnerTokenDomain, runner_registration_payload(k->public_key(), 1));
      reg.name = "r";
      reg.labels = {"linux"};
      EXPECT_TRUE(as(*k, reg).ok());
    }
  }
  SealedValue sealed_to(const crypto::SigningKey& k) {
    return {k.public_key(), Bytes(kSealOverheadBytes + 5, 0x42)};
  }
};

TEST(CiRunnerCodec, BodiesAndRecordsRoundTrip) {
  SetJobLog log{1, 7, {}, 1234};
  log.sha256[0] = 9;
  auto d = std::get<SetJobLog>(decode_body(TxKind::kSetJobLog, encode_body(log)));
  EXPECT_EQ(d.job_id, 7u);
  EXPECT_EQ(d.sha256, log.sha256);
  EXPECT_EQ(d.size, 1234u);
  EXPECT_EQ(static_cast<int>(kind_of(SetJobLog{})), 68);
  EXPECT_EQ(static_cast<int>(kind_of(SetActionsSecret{})), 69);
  EXPECT_EQ(static_cast<int>(kind_of(DeleteActionsSecret{})), 70);
  SetActionsSecret s{1, "TOKEN", {{key(3).public_key(), Bytes{1, 2, 3}}}};
  auto ds = std::get<SetActionsSecret>(decode_body(TxKind::kSetActionsSecret, encode_body(s)));
  EXPECT_EQ(ds.name, "TOKEN");
  EXPECT_EQ(ds.sealed, s.sealed);
  auto dd = std::get<DeleteActionsSecret>(
      decode_body(TxKind::kDeleteActionsSecret, encode_body(DeleteActionsSecret{1, "X"})));
  EXPECT_EQ(dd.name, "X");
  // Over the bound: a log over 16 MiB does not decode.
  SetJobLog huge{1, 1, {}, kMaxJobLogBytes + 1};
  EXPECT_THROW(decode_body(TxKind::kSetJobLog, encode_body(huge)), codec::DecodeError);
  ActionsSecret rec{1, "A", s.sealed, key(1).public_key(), 5, 6};
  auto back = decode_actions_secret(encode_actions_secret(rec));
  EXPECT_EQ(back.sealed, rec.sealed);
  EXPECT_EQ(back.updated_ms, 6u);
}

TEST(CiRunnerCodec, SecretNames) {
  EXPECT_TRUE(valid_secret_name("API_TOKEN"));
  EXPECT_TRUE(valid_secret_name("_x1"));
  EXPECT_FALSE(valid_secret_name("1ABC"));
  EXPECT_FALSE(valid_secret_name("github_token"));
  EXPECT_FALSE(valid_secret_name("GUTS_KEY"));
  EXPECT_FALSE(valid_secret_name("A-B"));
  EXPECT_FALSE(valid_secret_name(""));
}

TEST(CiRunnerState, OnlyTheJobsRunnerRecordsItsLogAndBlobRefsNameIt) {
  Env e;
  uint64_t job = runs::jobs_of(e.schema, e.state, *runs::run(e.schema, e.state, 1))[0].id;
  SetJobLog log{1, job, {}, 10};
  log.sha256[0] = 1;
  EXPECT_EQ(e.as(e.runner1, log).code(), Code::kPermissionDenied);  // queued: held by none
  e.ok(e.runner1, ClaimJob{job});
  EXPECT_EQ(e.as(e.runner2, log).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, log).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.runner1, SetJobLog{2, job, {}, 10}).code(), Code::kNotFound);  // wrong repo
  e.ok(e.runner1, CompleteJob{job, kConclusionSuccess, {}});
  e.ok(e.runner1, log);  // after its conclusion too
  auto rec = job_log(e.view(), job);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->sha256, log.sha256);
  Transaction tx;
  tx.body = log;
  auto refs = blob_refs(tx);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].repo_id, 1u);
  EXPECT_EQ(refs[0].size, 10u);
}

TEST(CiRunnerState, SecretsAreAdminOnlyAndSealedToRegisteredRunners) {
  Env e;
  SetActionsSecret s{1, "TOKEN", {e.sealed_to(e.runner1), e.sealed_to(e.runner2)}};
  EXPECT_EQ(e.as(e.bob, s).code(), Code::kPermissionDenied);  // reads, not admin
  EXPECT_EQ(e.as(e.alice, SetActionsSecret{1, "bad-name", {}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.alice, SetActionsSecret{1, "T", {e.sealed_to(e.alice)}}).code(),
            Code::kInvalidArgument);  // not a runner
  EXPECT_EQ(
      e.as(e.alice, SetActionsSecret{1, "T", {e.sealed_to(e.runner1), e.sealed_to(e.runner1)}})
          .code(),
      Code::kInvalidArgument);  // twice
  SetActionsSecret short_box{1, "T", {{e.runner1.public_key(), Bytes(3, 1)}}};
  EXPECT_EQ(e.as(e.alice, short_box).code(), Code::kInvalidArgument);
  e.ok(e.alice, s);
  auto all = actions_secrets(e.view(), 1);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].sealed.size(), 2u);
  uint64_t created = all[0].created_ms;
  e.ok(e.alice, SetActionsSecret{1, "TOKEN", {e.sealed_to(e.runner1)}});  // update
  auto one = actions_secret(e.view(), 1, "TOKEN");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->sealed.size(), 1u);
  EXPECT_EQ(one->created_ms, created);
  EXPECT_EQ(e.as(e.bob, DeleteActionsSecret{1, "TOKEN"}).code(), Code::kPermissionDenied);
  e.ok(e.alice, DeleteActionsSecret{1, "TOKEN"});
  EXPECT_FALSE(actions_secret(e.view(), 1, "TOKEN"));
  EXPECT_EQ(e.as(e.alice, DeleteActionsSecret{1, "TOKEN"}).code(), Code::kNotFound);
}

}  // namespace
}  // namespace guts::state
