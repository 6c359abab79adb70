// Byzantine servers through the test seam ObjectSyncOptions::serve_override
// (tests/support/byzantine_packs.h) serve bad packs; honest nodes detect them, block the server
// and fetch elsewhere. The tampered objects never reach the repository.
#include <gtest/gtest.h>

#include "git/receive.h"
#include "tests/replication/object_sync_fixture.h"
#include "tests/support/byzantine_packs.h"

namespace guts::node {
namespace {

using namespace testing;

void run(const char* mode) {
  TempDir tmp{"byz"};
  WorkRepo work{tmp.path / "work"};
  auto c1 = work.commit("a.txt", "one\n", "first");
  auto c2 = work.commit("b.txt", std::string(4000, 'z') + "\n", "second");
  auto evil_options = fast_options();
  evil_options.serve_override = guts::testing::byzantine_packs(mode);
  ASSERT_TRUE(evil_options.serve_override) << mode;
  Peer evil(3, evil_options);
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
  // Without the seam, the server is honest.
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
