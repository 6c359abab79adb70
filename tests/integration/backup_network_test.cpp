// Backup and restore in a network (node/backup.h; docs/operator.md "Backup and restore"): a
// validator and a full node of a 4-validator network are backed up while it runs, destroyed,
// restored and started again. The network moved on meanwhile: both catch up to its height and
// state root, the validator starts without its signing guard (never restored: it waits to hear
// 2f + 1 others before it signs again) and serves every repository, and the network keeps
// finalizing with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_harness.h"
#include "tests/support/cluster_harness.h"

namespace guts::e2e {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;

uint64_t top_height(Cluster& net, const std::vector<int>& which) {
  uint64_t h = 0;
  for (int i : which) h = std::max(h, net.height(i));
  return h;
}

TEST(BackupNetwork, RestoredValidatorAndFullNodeCatchUpWithoutDoubleSigning) {
  Cluster net;
  int full = net.add_full_node();
  net.start_all();
  User alice(net.dir() / "users", "alice", net.node(0));
  alice.sign_up();
  ASSERT_TRUE(alice.guts({"repo", "create", "kept"}).ok()) << net.logs();
  auto work = net.dir() / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  commit_file(alice, work, "a.txt", "a\n", "first");
  auto r = alice.git({"push", "-q", alice.remote("alice", "kept"), "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  const auto everyone = net.all();
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, {0}), 60s)) << net.logs();

  // Back up validator 3 and the full node while the network runs; keep their keys.
  auto backups = net.dir() / "backups";
  fs::create_directories(backups);
  for (int i : {3, full}) {
    r = run({(bin_dir() / "guts-node").string(), "backup", "--include-keys", "--out",
             (backups / std::to_string(i)).string(), "--data-dir", net.node(i).data_dir().string(),
             "--api", net.node(i).url()});
    ASSERT_TRUE(r.ok()) << r.both() << net.node(i).log();
  }
  // Destroy them; the network goes on without them.
  for (int i : {3, full}) {
    net.node(i).stop();
    fs::remove_all(net.node(i).data_dir());
  }
  auto tip = commit_file(alice, work, "b.txt", "b\n", "while they were gone");
  r = alice.git({"push", "-q", alice.remote("alice", "kept"), "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();

  for (int i : {3, full}) {
    r = run({(bin_dir() / "guts-node").string(), "restore", "--from",
             (backups / std::to_string(i)).string(), "--data-dir",
             net.node(i).data_dir().string()});
    ASSERT_TRUE(r.ok()) << r.both();
    net.start(i);
  }
  // Both catch up to the network's height and state root.
  std::string root;
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, {0, 1, 2}), 90s, &root)) << net.logs();
  EXPECT_THAT(net.node(3).log(), ::testing::HasSubstr("no journal and no signing guard"));

  // The restored validator serves the repository as it is now.
  alice.set_node(net.node(3));
  ASSERT_TRUE(wait_until(
      [&] {
        // A 503 ("still being replicated") is the node saying "not yet": keep waiting.
        auto listed = alice.git({"ls-remote", alice.remote("alice", "kept"), "refs/heads/main"});
        if (!listed.ok()) return false;
        for (const auto& [name, oid] : parse_ls_remote(listed.out))
          if (name == "refs/heads/main") return oid == tip;
        return false;
      },
      60s, 200ms))
      << net.node(3).log();
  auto clone = net.dir() / "clone";
  r = alice.git({"clone", "-q", alice.remote("alice", "kept"), clone.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(alice, clone, "HEAD"), tip);
  r = alice.git({"fsck", "--strict", "--no-progress"}, clone);
  EXPECT_TRUE(r.ok()) << r.both();

  // It returns to signing once it heard the others (docs/consensus.md §9), and the network
  // finalizes with it: one more write converges everywhere.
  alice.set_node(net.node(0));
  commit_file(alice, work, "c.txt", "c\n", "after the restore");
  r = alice.git({"push", "-q", alice.remote("alice", "kept"), "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, {0}), 60s)) << net.logs();
  EXPECT_TRUE(wait_until(
      [&] { return net.node(3).log().find("recovery done") != std::string::npos; }, 60s, 200ms))
      << net.node(3).log();
}

}  // namespace
}  // namespace guts::e2e
