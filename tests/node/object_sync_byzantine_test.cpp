// The byzantine build of ObjectSync (guts-node-byzantine's): a node constructed with
// GUTS_BYZANTINE set serves bad packs; honest nodes detect them, block it and fetch elsewhere.
// The tampered objects never reach the repository.
#include <gtest/gtest.h>

#include <cstdlib>

#include "git/receive.h"
#include "tests/node/object_sync_fixture.h"

namespace guts::node {
namespace {

using namespace testing;

void run(const char* mode) {
  TempDir tmp{"byz"};
  WorkRepo work{tmp.path / "work"};
  auto c1 = work.commit("a.txt", "one\n", "first");
  auto c2 = work.commit("b.txt", std::string(4000, 'z') + "\n", "second");
  ::setenv("GUTS_BYZANTINE", mode, 1);  // read once, at construction
  Peer evil(3);
  ::unsetenv("GUTS_BYZANTINE");
  Peer honest(1), b(2);
  evil.host(1, work, c2);
  honest.host(1, work, c2);
  connect(evil, b);
  connect(honest, b);
  Outcome out;
  b.sync->ensure(1, {c2}, {evil.pk(), honest.pk()}, std::chrono::steady_clock::now() + kWait,
                 out.done());
  ASSERT_TRUE(out.wait());
  EXPECT_TRUE(out.ok);
  EXPECT_TRUE(b.net->transport().is_blocked(evil.pk())) << mode;
  EXPECT_FALSE(b.net->transport().is_blocked(honest.pk()));
  EXPECT_EQ(b.sync->stats().packs_rejected, 1u);
  EXPECT_EQ(b.sync->stats().packs_fetched, 1u);
  EXPECT_TRUE(git::Quarantine::list(b.repo(1)).empty());
  git_ok(b.repo(1), {"update-ref", "refs/heads/main", c2});
  git_ok(b.repo(1), {"fsck", "--strict", "--no-dangling"});
  // The honest build never misbehaves whatever the environment says.
  EXPECT_EQ(honest.sync->stats().requests_served, 1u);
}

TEST(ObjectSyncByzantine, TamperedObjectsRejected) {
  run("tamper-objects");
}
TEST(ObjectSyncByzantine, MissingObjectsRejected) {
  run("missing-objects");
}

}  // namespace
}  // namespace guts::node
