#include <gtest/gtest.h>

#include "git/browse.h"
#include "git/receive.h"
#include "git/repo_store.h"
#include "git_test_util.h"

using namespace guts;
using namespace guts::git;
using namespace guts::git::testing;

#ifndef GUTS_GIT_RECEIVE_HELPER
#error "GUTS_GIT_RECEIVE_HELPER must point at the helper binary"
#endif

namespace {

struct BrowseFixture : ::testing::Test {
  TempDir tmp{"browse"};
  fs::path repo;
  std::string c1, c2, c3, c4;

  void SetUp() override {
    WorkRepo w(tmp.path / "work");
    c1 = w.commit("README.md", "# Hello\n", "init");
    c2 = w.commit("src/main.c", "int main() { return 0; }\n", "add main");
    git_ok(w.dir, {"tag", "light"});
    git_ok(w.dir, {"tag", "-a", "-m", "version one", "v1"});
    c3 = w.commit("src/main.c", "int main() { return 1; }\n", "change main");
    git_ok(w.dir, {"checkout", "-q", "-b", "feature", c2});
    write_file(w.dir / "docs/guide.txt", "a\nb\nc\n");
    git_ok(w.dir, {"mv", "README.md", "README.markdown"});
    git_ok(w.dir, {"add", "-A"});
    git_ok(w.dir, {"commit", "-q", "-m", "docs"});
    c4 = w.head();
    repo = tmp.path / "bare.git";
    git_ok(tmp.path, {"clone", "-q", "--bare", w.dir.string(), repo.string()});
  }
};

}  // namespace

TEST_F(BrowseFixture, BranchesTagsCommits) {
  Browser b(repo);
  EXPECT_FALSE(b.empty());
  auto br = b.branches();
  ASSERT_EQ(br.size(), 2u);
  EXPECT_EQ(br[0].name, "feature");
  EXPECT_EQ(br[0].sha, c4);
  EXPECT_EQ(br[1].name, "main");
  EXPECT_EQ(br[1].sha, c3);
  EXPECT_EQ(b.default_branch().value_or(""), "feature");  // clone's HEAD was on feature

  auto tags = b.tags();
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].name, "light");
  EXPECT_FALSE(tags[0].annotated);
  EXPECT_EQ(tags[0].target, c2);
  EXPECT_EQ(tags[1].name, "v1");
  EXPECT_TRUE(tags[1].annotated);
  EXPECT_NE(tags[1].sha, c2);
  EXPECT_EQ(tags[1].target, c2);
  EXPECT_EQ(tags[1].target_type, "commit");
  EXPECT_EQ(tags[1].message, "version one\n");
  ASSERT_TRUE(tags[1].tagger);
  EXPECT_EQ(tags[1].tagger->email, "ada@example.com");

  auto c = b.commit("main");
  EXPECT_EQ(c.sha, c3);
  EXPECT_EQ(c.parents, std::vector<std::string>{c2});
  EXPECT_EQ(c.message, "change main\n");
  EXPECT_EQ(c.author.name, "Ada");
  EXPECT_EQ(c.committer.time, 1700000000);
  EXPECT_EQ(b.commit(c1).sha, c1);
  EXPECT_EQ(b.commit("v1").sha, c2);
  EXPECT_THROW(b.commit("nope"), Error);
  EXPECT_EQ(b.resolve("main~1").value_or(""), c2);
  EXPECT_FALSE(b.resolve("does-not-exist"));

  auto all = b.commits({.rev = "main"});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sha, c3);
  EXPECT_EQ(all[2].sha, c1);
  auto page = b.commits({.rev = "main", .skip = 1, .limit = 1});
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].sha, c2);
  auto by_path = b.commits({.rev = "main", .path = "src/main.c"});
  ASSERT_EQ(by_path.size(), 2u);
  EXPECT_EQ(by_path[0].sha, c3);
  EXPECT_EQ(by_path[1].sha, c2);
  EXPECT_EQ(b.commits({.rev = "main", .path = "src"}).size(), 2u);
  EXPECT_EQ(b.commits({.rev = "main", .path = "README.md"}).size(), 1u);
}

TEST_F(BrowseFixture, TreesBlobsReadme) {
  Browser b(repo);
  auto root = b.tree("main");
  ASSERT_EQ(root.size(), 2u);
  EXPECT_EQ(root[0].name, "README.md");
  EXPECT_EQ(root[0].type, "blob");
  EXPECT_EQ(root[0].size, 8u);
  EXPECT_EQ(root[0].mode, 0100644u);
  EXPECT_EQ(root[1].name, "src");
  EXPECT_EQ(root[1].type, "tree");
  auto rec = b.tree("main", "", true);
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec[2].path, "src/main.c");
  auto sub = b.tree("main", "src");
  ASSERT_EQ(sub.size(), 1u);
  EXPECT_EQ(sub[0].path, "src/main.c");
  EXPECT_THROW(b.tree("main", "missing"), Error);
  EXPECT_THROW(b.tree("main", "README.md"), Error);

  auto blob = b.blob("main", "src/main.c");
  EXPECT_EQ(blob.content, "int main() { return 1; }\n");
  EXPECT_FALSE(blob.binary);
  EXPECT_EQ(b.blob(c2, "/src/main.c").content, "int main() { return 0; }\n");
  auto trunc = b.blob("main", "src/main.c", 3);
  EXPECT_TRUE(trunc.truncated);
  EXPECT_EQ(trunc.content, "int");
  EXPECT_THROW(b.blob("main", "src"), Error);
  EXPECT_THROW(b.blob("main", "nope"), Error);
  EXPECT_TRUE(b.entry("main", "src"));
  EXPECT_FALSE(b.entry("main", "nope"));

  auto readme = b.readme("main");
  ASSERT_TRUE(readme);
  EXPECT_EQ(readme->path, "README.md");
  EXPECT_EQ(readme->content, "# Hello\n");
  auto readme2 = b.readme("feature");
  ASSERT_TRUE(readme2);
  EXPECT_EQ(readme2->path, "README.markdown");
  EXPECT_FALSE(b.readme("main", "src"));
}

TEST_F(BrowseFixture, CompareAndArchive) {
  Browser b(repo);
  auto cmp = b.compare("main", "feature");
  EXPECT_EQ(cmp.merge_base, c2);
  EXPECT_EQ(cmp.ahead_by, 1u);
  EXPECT_EQ(cmp.behind_by, 1u);
  EXPECT_EQ(cmp.status, "diverged");
  ASSERT_EQ(cmp.commits.size(), 1u);
  EXPECT_EQ(cmp.commits[0].sha, c4);
  ASSERT_EQ(cmp.files.size(), 2u);
  const FileDiff* renamed = nullptr;
  const FileDiff* added = nullptr;
  for (auto& f : cmp.files) {
    if (f.status == "renamed") renamed = &f;
    if (f.status == "added") added = &f;
  }
  ASSERT_TRUE(renamed && added);
  EXPECT_EQ(renamed->previous_filename, "README.md");
  EXPECT_EQ(renamed->filename, "README.markdown");
  EXPECT_EQ(added->filename, "docs/guide.txt");
  EXPECT_EQ(added->additions, 3);
  EXPECT_EQ(added->deletions, 0);
  EXPECT_EQ(added->patch.rfind("@@ -0,0 +1,3 @@", 0), 0u) << added->patch;

  auto ahead = b.compare(c1, "main");
  EXPECT_EQ(ahead.status, "ahead");
  EXPECT_EQ(ahead.ahead_by, 2u);
  ASSERT_EQ(ahead.commits.size(), 2u);
  EXPECT_EQ(ahead.commits[0].sha, c2);  // oldest first
  ASSERT_EQ(ahead.files.size(), 1u);
  EXPECT_EQ(ahead.files[0].status, "added");
  auto mod = b.compare(c2, c3);
  ASSERT_EQ(mod.files.size(), 1u);
  EXPECT_EQ(mod.files[0].status, "modified");
  EXPECT_EQ(mod.files[0].additions, 1);
  EXPECT_EQ(mod.files[0].deletions, 1);
  EXPECT_EQ(b.compare("main", "main").status, "identical");

  std::string tgz, zip;
  ASSERT_TRUE(archive(repo, "main", "tar.gz", "proj-main", sink_to(tgz)).ok());
  ASSERT_GT(tgz.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(tgz[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>(tgz[1]), 0x8b);
  ASSERT_TRUE(archive(repo, "v1", "zip", "p", sink_to(zip)).ok());
  EXPECT_EQ(zip.substr(0, 2), "PK");
  EXPECT_EQ(archive(repo, "--output=/tmp/x", "zip", "p", sink_to(zip)).code(), Code::kNotFound);
  EXPECT_EQ(archive(repo, "main", "exe", "p", sink_to(zip)).code(), Code::kInvalidArgument);
  EXPECT_EQ(archive(repo, "main", "zip", "../x", sink_to(zip)).code(), Code::kInvalidArgument);
}

TEST(Browse, EmptyAndMissingRepository) {
  TempDir tmp("empty");
  RepoStore store(tmp.path);
  store.create("e");
  Browser b(store.path_for("e"));
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.branches().empty());
  EXPECT_EQ(b.default_branch().value_or(""), "main");
  EXPECT_THROW(b.commit("HEAD"), Error);
  EXPECT_THROW(Browser(tmp.path / "missing.git"), Error);
}

// ---------------- the stock git client against our receive-pack (ext:: transport) ----------

namespace {

struct PushFixture : ::testing::Test {
  TempDir tmp{"e2e"};
  RepoStore store{tmp.path / "data"};
  fs::path repo;
  fs::path work;

  void SetUp() override {
    store.create("r");
    repo = store.path_for("r");
    work = tmp.path / "work";
    WorkRepo w(work);
  }
  std::string url(bool allow_force = false) {
    return "ext::" + std::string(GUTS_GIT_RECEIVE_HELPER) + " %S " + repo.string() +
           (allow_force ? " --allow-force" : "");
  }
  GitResult push(const std::vector<std::string>& args, bool allow_force = false) {
    std::vector<std::string> a = {"-c", "protocol.ext.allow=always", "push", "--porcelain",
                                  url(allow_force)};
    a.insert(a.end(), args.begin(), args.end());
    return git_run(work, a);
  }
  std::string commit(const std::string& f, const std::string& content, const std::string& msg) {
    write_file(work / f, content);
    git_ok(work, {"add", "-A"});
    git_ok(work, {"commit", "-q", "-m", msg});
    return git_ok(work, {"rev-parse", "HEAD"});
  }
  std::string ref(const std::string& name) {
    return resolve_ref(repo, name).value_or(std::string(kZeroOid));
  }
};

}  // namespace

TEST_F(PushFixture, StockGitPushesThroughOurReceivePack) {
  std::string c1 = commit("a.txt", "1\n", "one");
  auto r = push({"main"});
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  EXPECT_NE(r.out.find("*\trefs/heads/main:refs/heads/main\t[new branch]"), std::string::npos)
      << r.out;
  EXPECT_EQ(ref("refs/heads/main"), c1);

  // Fast-forward, a lightweight and an annotated tag, a second branch, in one push.
  std::string c2 = commit("a.txt", "2\n", "two");
  git_ok(work, {"tag", "light"});
  git_ok(work, {"tag", "-a", "-m", "annotated", "v1"});
  git_ok(work, {"branch", "topic"});
  r = push({"main", "topic", "light", "v1"});
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  EXPECT_EQ(ref("refs/heads/main"), c2);
  EXPECT_EQ(ref("refs/heads/topic"), c2);
  EXPECT_EQ(ref("refs/tags/light"), c2);
  EXPECT_EQ(ref("refs/tags/v1"), git_ok(work, {"rev-parse", "v1"}));

  // Non-fast-forward: rejected with git's hint, repository unchanged, objects not visible.
  git_ok(work, {"reset", "-q", "--hard", c1});
  std::string c3 = commit("b.txt", "x\n", "diverged");
  r = push({"main"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.out.find("!\trefs/heads/main:refs/heads/main\t[rejected] (non-fast-forward)"),
            std::string::npos)
      << r.out;
  // The client-side check rejects before sending; force the server to decide: --force with a
  // server that does not allow it.
  r = push({"--force", "main"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.out.find("[remote rejected] (non-fast-forward)"), std::string::npos) << r.out;
  EXPECT_EQ(ref("refs/heads/main"), c2);
  EXPECT_FALSE(git_run(repo, {"cat-file", "-e", c3}).ok());

  // Force push where allowed.
  r = push({"--force", "main"}, true);
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  EXPECT_EQ(ref("refs/heads/main"), c3);

  // Atomic push with one bad ref: nothing applied.
  std::string c4 = commit("c.txt", "y\n", "four");
  r = push({"--atomic", "main", "HEAD:refs/heads/a..b"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(ref("refs/heads/main"), c3);

  // Deletion of a branch and a tag (no pack sent).
  r = push({"--delete", "topic", "light"});
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  EXPECT_EQ(ref("refs/heads/topic"), std::string(kZeroOid));
  EXPECT_EQ(ref("refs/tags/light"), std::string(kZeroOid));

  // Push options are accepted.
  r = push({"-o", "ci.skip", "main"});
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  EXPECT_EQ(ref("refs/heads/main"), c4);

  EXPECT_TRUE(git_run(repo, {"fsck", "--strict"}).ok());
  // A clone of the repository sees exactly what was pushed.
  auto cl = git_run(tmp.path, {"clone", "-q", repo.string(), "clone"});
  ASSERT_TRUE(cl.ok()) << cl.err;
  EXPECT_EQ(git_ok(tmp.path / "clone", {"rev-parse", "HEAD"}), c4);
}
