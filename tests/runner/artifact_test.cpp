// Kinds 71-72 (state/artifact.h): artifacts only from the job's runner while it runs, names
// unique per run, retention by block time, blob_refs; the stored zip (ci/zip.h); dispatch
// inputs carried into the run (state/ci.h).
#include <gtest/gtest.h>

#include "ci/zip.h"
#include "codec/codec.h"
#include "state/artifact_state.h"
#include "state/blob_refs.h"
#include "state/ci.h"
#include "state/executor.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::key;
using testing::kT0;

constexpr const char* kWorkflow = R"(on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: linux
    steps:
      - run: make
  deploy:
    if: inputs.target == 'prod' && github.event.inputs.target == 'prod'
    runs-on: linux
    steps:
      - run: deploy
)";

struct Env : testing::ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), runner1 = key(10),
                     runner2 = key(11), token = key(20);
  Bytes sha = testing::oid(0xab);
  uint64_t job = 0;
  Env() : ExecEnv("artifacts") {
    EXPECT_TRUE(as(alice, RegisterUser{"alice"}).ok());
    EXPECT_TRUE(as(bob, RegisterUser{"bob"}).ok());
    EXPECT_TRUE(as(carol, RegisterUser{"carol"}).ok());
    EXPECT_TRUE(as(alice, CreateRepo{"app", "", false, "main"}).ok());
    EXPECT_TRUE(as(alice, SetCollaborator{1, carol.public_key(), 3}).ok());
    UpdateRefs u;
    u.repo_id = 1;
    u.changes = {{"refs/heads/main", {}, sha}};
    EXPECT_TRUE(as(alice, u).ok());
    EXPECT_TRUE(as(alice, request(kEventPush, {})).ok());
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
    job = runs::jobs_of(schema, state, *runs::run(schema, state, 1))[0].id;
  }
  RequestRuns request(uint8_t event, std::vector<std::pair<std::string, std::string>> inputs) {
    RequestRuns r;
    r.repo_id = 1;
    r.workflow_path = ".guts/workflows/ci.yml";
    r.content = kWorkflow;
    r.event = event;
    r.ref = "refs/heads/main";
    r.sha = sha;
    r.inputs = std::move(inputs);
    return r;
  }
  CreateArtifact artifact(std::string name, uint32_t days = 0) {
    CreateArtifact a{1, job, std::move(name), {}, 1234, days};
    a.sha256[0] = 7;
    return a;
  }
};

TEST(ArtifactCodec, BodiesAndRecordsRoundTrip) {
  EXPECT_EQ(static_cast<int>(kind_of(CreateArtifact{})), 71);
  EXPECT_EQ(static_cast<int>(kind_of(DeleteArtifact{})), 72);
  EXPECT_STREQ(tx_kind_name(TxKind::kCreateArtifact), "create_artifact");
  EXPECT_STREQ(tx_kind_name(TxKind::kDeleteArtifact), "delete_artifact");
  CreateArtifact c{1, 2, "dist", {}, 99, 5};
  c.sha256[3] = 1;
  testing::expect_roundtrip(c);
  testing::expect_roundtrip(DeleteArtifact{1, 9});
  auto back = std::get<CreateArtifact>(decode_body(TxKind::kCreateArtifact, encode_body(c)));
  EXPECT_EQ(back.name, "dist");
  EXPECT_EQ(back.sha256, c.sha256);
  EXPECT_EQ(back.retention_days, 5u);
  CreateArtifact huge{1, 2, "x", {}, kMaxArtifactBytes + 1, 0};
  EXPECT_THROW(decode_body(TxKind::kCreateArtifact, encode_body(huge)), codec::DecodeError);
  Artifact a{3, 1, 2, 4, "n", c.sha256, 5, key(1).public_key(), 6, 7};
  EXPECT_EQ(decode_artifact(encode_artifact(a)), a);
  EXPECT_TRUE(valid_artifact_name("my dist-1.0"));
  for (const char* bad : {"", "a/b", "a\\b", "a:b", "a*", "a?", "a|b", "<a>", "\"", "a\nb"})
    EXPECT_FALSE(valid_artifact_name(bad)) << bad;
}

TEST(ArtifactState, OnlyTheHolderWhileRunningNamesUniquePerRunAndBlobRefs) {
  Env e;
  EXPECT_EQ(e.as(e.runner1, e.artifact("dist")).code(), Code::kPermissionDenied);  // queued
  e.ok(e.runner1, ClaimJob{e.job});
  EXPECT_EQ(e.as(e.runner2, e.artifact("dist")).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, e.artifact("dist")).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.runner1, e.artifact("a/b")).code(), Code::kInvalidArgument);
  auto wrong_repo = e.artifact("dist");
  wrong_repo.repo_id = 2;
  EXPECT_EQ(e.as(e.runner1, wrong_repo).code(), Code::kNotFound);
  e.ok(e.runner1, e.artifact("dist"));
  EXPECT_EQ(e.as(e.runner1, e.artifact("dist")).code(), Code::kAlreadyExists);  // taken
  e.ok(e.runner1, e.artifact("logs", 1));
  auto all = artifacts_of_repo(e.view(), 1, kT0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "logs");  // newest first
  EXPECT_EQ(all[1].name, "dist");
  EXPECT_EQ(all[1].expires_ms, kT0 + kDefaultArtifactRetentionDays * kDayMs);
  EXPECT_EQ(all[0].expires_ms, kT0 + kDayMs);
  EXPECT_EQ(all[1].run_id, 1u);
  EXPECT_EQ(all[1].runner, e.runner1.public_key());
  e.ok(e.runner1, CompleteJob{e.job, kConclusionSuccess, {}});
  EXPECT_EQ(e.as(e.runner1, e.artifact("late")).code(), Code::kPermissionDenied);
  Transaction tx;
  tx.body = e.artifact("dist");
  auto refs = blob_refs(tx);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].repo_id, 1u);
  EXPECT_EQ(refs[0].size, 1234u);
}

TEST(ArtifactState, ExpiryIsByBlockTimeAndDeleteNeedsWrite) {
  Env e;
  e.ok(e.runner1, ClaimJob{e.job});
  e.ok(e.runner1, e.artifact("dist"));
  e.ok(e.runner1, e.artifact("short", 1));
  EXPECT_EQ(artifacts_of_repo(e.view(), 1, kT0 + kDayMs - 1).size(), 2u);
  auto later = artifacts_of_repo(e.view(), 1, kT0 + kDayMs);  // "short" expired exactly then
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].name, "dist");
  EXPECT_TRUE(artifacts_of_repo(e.view(), 1, kT0 + 90 * kDayMs).empty());
  EXPECT_EQ(artifacts_of_repo(e.view(), 1, kT0, 1).size(), 2u);  // by run
  EXPECT_TRUE(artifacts_of_repo(e.view(), 1, kT0, 2).empty());
  uint64_t id = later[0].id;
  EXPECT_EQ(e.as(e.bob, DeleteArtifact{1, id}).code(), Code::kPermissionDenied);  // read only
  EXPECT_EQ(e.as(e.carol, DeleteArtifact{1, 99}).code(), Code::kNotFound);
  e.ok(e.carol, DeleteArtifact{1, id});
  EXPECT_FALSE(artifact(e.view(), id));
  EXPECT_EQ(artifacts_of_repo(e.view(), 1, kT0).size(), 1u);
}

TEST(DispatchInputs, CarriedIntoTheRunAndItsConditions) {
  Env e;
  // Push runs have no inputs; inputs are sorted and unique.
  EXPECT_EQ(e.as(e.alice, e.request(kEventPush, {{"a", "1"}})).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.alice, e.request(kEventDispatch, {{"b", "1"}, {"a", "2"}})).code(),
            Code::kInvalidArgument);
  e.ok(e.alice, e.request(kEventDispatch, {{"target", "prod"}}));
  auto run = runs::run(e.schema, e.state, 2);
  ASSERT_TRUE(run);
  ASSERT_EQ(run->inputs.size(), 1u);
  EXPECT_EQ(run->inputs[0].second, "prod");
  EXPECT_EQ(decode_run(encode_run(*run)), *run);
  auto jobs = runs::jobs_of(e.schema, e.state, *run);
  ASSERT_EQ(jobs.size(), 2u);
  for (const auto& j : jobs) EXPECT_TRUE(j.ready) << j.key;  // deploy's `if` held
  // The push run's deploy job is skipped: no inputs.
  auto push_jobs = runs::jobs_of(e.schema, e.state, *runs::run(e.schema, e.state, 1));
  EXPECT_EQ(push_jobs[1].conclusion, kConclusionSkipped);
  // A run request without inputs keeps its earlier encoding (no trailing field).
  auto plain = e.request(kEventPush, {});
  auto with = e.request(kEventDispatch, {{"x", "y"}});
  EXPECT_EQ(encode_body(with).size(), encode_body(plain).size() + 1 + 2 + 2);
  testing::expect_roundtrip(with);
}

TEST(ArtifactZip, RoundTripAndRefusals) {
  std::vector<ci::ZipEntry> in{{"a.txt", "hello\n", 0644},
                               {"dir/b.bin", std::string(3, '\0'), 0755}};
  auto zip = ci::write_zip(in);
  EXPECT_EQ(zip, ci::write_zip(in));  // deterministic
  auto out = ci::read_zip(zip);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out.value(), in);
  auto empty = ci::read_zip(ci::write_zip({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value().empty());
  // A flipped data byte fails the CRC; unsafe names are refused; truncation is caught.
  auto bad = zip;
  bad[30 + 5] ^= 1;
  EXPECT_FALSE(ci::read_zip(bad).ok());
  EXPECT_FALSE(ci::read_zip(ci::write_zip({{"../x", "", 0644}})).ok());
  EXPECT_FALSE(ci::read_zip(ci::write_zip({{"/etc/x", "", 0644}})).ok());
  EXPECT_FALSE(ci::read_zip(zip.substr(0, zip.size() - 1)).ok());
  EXPECT_FALSE(ci::read_zip("PK").ok());
  EXPECT_TRUE(ci::safe_zip_name("a/b.c"));
  for (const char* n : {"", "a//b", "./a", "a/..", "a\\b", "/a"})
    EXPECT_FALSE(ci::safe_zip_name(n)) << n;
}

}  // namespace
}  // namespace guts::state
