// Repository maintenance in a real guts-node process (docs/maintenance.md): the stock git client
// pushes many times, each push leaving a pack; with a short --maintenance-interval-ms the node
// rolls them into a geometric set under a multi-pack index with a bitmap and writes the
// commit-graph, while pushes keep arriving; clones afterwards hold exactly the pushed objects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/e2e/e2e_harness.h"

namespace guts::e2e {
namespace {

struct PackDir {
  int packs = 0;
  bool midx = false, bitmap = false, commit_graph = false;
};

PackDir inspect(const fs::path& bare) {
  PackDir d;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(bare / "objects" / "pack", ec)) {
    auto name = e.path().filename().string();
    if (e.path().extension() == ".pack") ++d.packs;
    if (e.path().extension() == ".bitmap") d.bitmap = true;
    if (name == "multi-pack-index") d.midx = true;
  }
  d.commit_graph = fs::exists(bare / "objects/info/commit-graphs/commit-graph-chain", ec) ||
                   fs::exists(bare / "objects/info/commit-graph", ec);
  return d;
}

// Sorted lines of `git rev-list --objects --all` (every object reachable from every ref).
std::vector<std::string> all_objects(const User& u, const fs::path& repo) {
  auto r = u.git({"rev-list", "--objects", "--all"}, repo);
  EXPECT_TRUE(r.ok()) << r.both();
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(Maintenance, ManyPushesEndRepackedWithBitmapAndCloneIdentically) {
  TempDir root("maintenance");
  Node node(root.path() / "node", {"--maintenance-interval-ms", "300"});
  node.start();
  User alice(root.path(), "alice", node);
  alice.sign_up();
  auto r = alice.guts({"repo", "create", "busy", "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  auto bare = bare_repo_dir(node, nlohmann::json::parse(r.out)["id"].get<uint64_t>());

  auto work = root.path() / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  ASSERT_TRUE(alice.git({"remote", "add", "origin", alice.remote("alice", "busy")}, work).ok());
  constexpr int kPushes = 24;
  for (int i = 0; i < kPushes; ++i) {
    commit_file(alice, work, "file" + std::to_string(i % 5) + ".txt",
                "content " + std::to_string(i) + "\n", "change " + std::to_string(i));
    if (i % 6 == 5) {
      ASSERT_TRUE(alice.git({"tag", "v" + std::to_string(i)}, work).ok());
    }
    r = alice.git({"push", "-q", "origin", "main", "--tags"}, work);
    ASSERT_TRUE(r.ok()) << "push " << i << ": " << r.both() << "\n" << node.log();
  }

  // Maintenance catches up: a few packs under a multi-pack index with a bitmap, a commit-graph.
  PackDir d;
  bool maintained = wait_until(
      [&] {
        d = inspect(bare);
        return d.midx && d.bitmap && d.commit_graph && d.packs <= 4;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100));
  ASSERT_TRUE(maintained) << "packs " << d.packs << " midx " << d.midx << " bitmap " << d.bitmap
                          << " commit-graph " << d.commit_graph << "\n"
                          << node.log();

  std::string body;
  ASSERT_EQ(alice.api("GET", "/api/guts/status", "", &body), 200);
  auto status = nlohmann::json::parse(body);
  EXPECT_GE(status["maintenance"]["tasks_run"].get<uint64_t>(), 1u) << body;
  EXPECT_EQ(status["maintenance"]["failures"].get<uint64_t>(), 0u) << body << "\n" << node.log();

  // Clones afterwards: the same refs and exactly the pushed objects, byte for byte.
  auto clone = root.path() / "clone";
  r = alice.git({"clone", "-q", "--mirror", alice.remote("alice", "busy"), clone.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  r = alice.git({"fsck", "--strict", "--no-progress"}, clone);
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(all_objects(alice, clone), all_objects(alice, work));
  for (const auto& ref : {"refs/heads/main", "refs/tags/v5", "refs/tags/v23"})
    EXPECT_EQ(rev_parse(alice, clone, ref), rev_parse(alice, work, ref)) << ref;
  auto cat = [&](const fs::path& repo) {
    auto x = alice.git({"cat-file", "--batch-all-objects", "--batch-check"}, repo);
    EXPECT_TRUE(x.ok()) << x.both();
    return x.out;
  };
  EXPECT_EQ(cat(clone), cat(work));  // object ids, types and sizes identical

  // One more push after maintenance still lands and clones.
  auto tip = commit_file(alice, work, "after.txt", "after\n", "after maintenance");
  ASSERT_TRUE(alice.git({"push", "-q", "origin", "main"}, work).ok());
  auto clone2 = root.path() / "clone2";
  r = alice.git({"clone", "-q", alice.remote("alice", "busy"), clone2.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(alice, clone2, "HEAD"), tip);
  // The node's own repository is sound (checked once the node, and so maintenance, stopped: a
  // repack running under fsck would swap packs beneath it).
  node.stop();
  r = alice.git({"fsck", "--strict", "--no-progress"}, bare);
  EXPECT_TRUE(r.ok()) << r.both();
}

}  // namespace
}  // namespace guts::e2e
