// Which blobs finalized state still refers to (state/live_blobs.h), what the blob garbage
// collector keeps: LFS objects, release assets, CI logs and unexpired artifacts of repositories
// that exist; deleting an asset or a repository, and an artifact's expiry, release them.
#include "state/live_blobs.h"

#include <gtest/gtest.h>

#include "state/artifact.h"
#include "state/ci.h"
#include "state/ci_runner.h"
#include "state/executor.h"
#include "state/lfs.h"
#include "state/release.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::key;
using testing::kT0;

storage::Sha256 sha(uint8_t b) {
  storage::Sha256 s{};
  s.fill(b);
  return s;
}

struct Env : testing::ExecEnv {
  crypto::SigningKey alice = key(1);
  Env() : ExecEnv("live-blobs") {
    ok(alice, RegisterUser{"alice"});
    ok(alice, CreateRepo{"app", "", false, "main"});  // repository 1
    ok(alice, CreateRepo{"old", "", false, "main"});  // repository 2
  }
  std::set<storage::Sha256> live(uint64_t now = kT0) { return live_blobs(view(), now); }
  // Records the runners write (their transactions need a job in progress): put directly.
  void job_log(uint64_t job_id, uint64_t repo_id, uint8_t b) {
    Job j;
    j.id = job_id;
    j.repo_id = repo_id;
    state.put(schema.governance, runs::job_key(job_id), encode_job(j));
    JobLog l;
    l.sha256 = sha(b);
    l.size = 10;
    state.put(schema.governance, job_log_key(job_id), encode_job_log(l));
  }
  void artifact(uint64_t id, uint64_t repo_id, uint8_t b, uint64_t expires_ms) {
    Artifact a;
    a.id = id;
    a.repo_id = repo_id;
    a.name = "a" + std::to_string(id);
    a.sha256 = sha(b);
    a.expires_ms = expires_ms;
    state.put(schema.governance, artifact_key(id), encode_artifact(a));
  }
};

TEST(LiveBlobs, EveryKindOfReferenceKeepsItsBlob) {
  Env e;
  EXPECT_TRUE(e.live().empty());
  e.ok(e.alice, LfsAddObjects{1, {{sha(1), 10}, {sha(2), 20}}});
  UpsertRelease r;
  r.repo_id = 1;
  r.tag_name = "v1";
  e.ok(e.alice, r);
  SetReleaseAsset add;
  add.repo_id = 1;
  add.release_id = 1;
  add.name = "app.tar.gz";
  add.content_type = "application/gzip";
  add.size = 30;
  add.sha256.fill(3);
  e.ok(e.alice, add);
  e.job_log(7, 1, 4);
  e.artifact(1, 1, 5, kT0 + 1000);
  EXPECT_EQ(e.live(), (std::set<storage::Sha256>{sha(1), sha(2), sha(3), sha(4), sha(5)}));
  // The artifact expires by block time; the others stay.
  EXPECT_EQ(e.live(kT0 + 1000), (std::set<storage::Sha256>{sha(1), sha(2), sha(3), sha(4)}));
  // A deleted asset is released; a blob named twice stays while one reference does.
  SetReleaseAsset rm;
  rm.asset_id = 1;
  rm.repo_id = 1;
  rm.remove = true;
  e.ok(e.alice, rm);
  e.artifact(2, 1, 1, kT0 + 5000);  // the same bytes as an LFS object
  EXPECT_EQ(e.live(kT0 + 1000), (std::set<storage::Sha256>{sha(1), sha(2), sha(4)}));
}

TEST(LiveBlobs, ADeletedRepositoryReleasesItsBlobs) {
  Env e;
  e.ok(e.alice, LfsAddObjects{2, {{sha(8), 10}}});
  e.job_log(9, 2, 9);
  e.artifact(3, 2, 10, kT0 + 1000);
  e.ok(e.alice, LfsAddObjects{1, {{sha(11), 10}}});
  EXPECT_EQ(e.live().size(), 4u);
  e.ok(e.alice, DeleteRepo{2});
  EXPECT_EQ(e.live(), (std::set<storage::Sha256>{sha(11)}));
}

TEST(LiveBlobs, AnUnreadableRecordThrowsSoNothingIsCollected) {
  Env e;
  e.state.put(e.schema.governance, artifact_key(4), "\x01garbage");
  EXPECT_THROW(e.live(), codec::DecodeError);
}

}  // namespace
}  // namespace guts::state
