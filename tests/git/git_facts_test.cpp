// git::RepoGitFacts (git/git_facts.h) against real repositories made by the git binary:
// ancestry, merge commits, signature headers, changed paths, file reads, push quarantines, and
// unknown answers for what is not here.
#include "git/git_facts.h"

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "git/receive.h"
#include "git/repo_store.h"
#include "tests/git/git_test_util.h"

using namespace guts;
using namespace guts::git;
using namespace guts::git::testing;

namespace {

Bytes raw(const std::string& hex) {
  auto b = hex_decode(hex);
  EXPECT_TRUE(b) << hex;
  return b ? *b : Bytes{};
}

// A commit object with a `gpgsig` header (presence is what counts), written into `dir`'s repo.
std::string signed_commit(const fs::path& dir, const std::string& parent,
                          std::vector<std::pair<std::string, std::string>> env = {}) {
  std::string tree = trim(git_run(dir, {"rev-parse", parent + "^{tree}"}, {}, env).out);
  std::string body =
      "tree " + tree + "\nparent " + parent +
      "\nauthor Ada <ada@example.com> 1700000000 +0000\n"
      "committer Ada <ada@example.com> 1700000000 +0000\n"
      "gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n"
      "\nsigned\n";
  auto r = git_run(dir, {"hash-object", "-t", "commit", "-w", "--stdin"}, body, env);
  EXPECT_TRUE(r.ok()) << r.err;
  return trim(r.out);
}

}  // namespace

TEST(RepoGitFacts, AnswersFromTheObjects) {
  TempDir tmp("facts");
  RepoStore store(tmp.path / "data");
  ASSERT_TRUE(store.create("1"));
  RepoGitFacts facts(store, [](uint64_t id) { return std::to_string(id); });

  WorkRepo w(tmp.path / "work");
  const auto c1 = w.commit("README.md", "hi\n", "one");
  write_file(w.dir / ".github/CODEOWNERS", "* @alice\n");
  const auto c2 = w.commit("src/a.c", "int a;\n", "two");
  git_ok(w.dir, {"checkout", "-q", "-b", "side", c1});
  const auto s1 = w.commit("side.txt", "side\n", "side");
  git_ok(w.dir, {"checkout", "-q", "main"});
  git_ok(w.dir, {"merge", "-q", "--no-ff", "-m", "merge", "side"});
  const auto m = w.head();
  const auto sig = signed_commit(w.dir, c2);
  git_ok(w.dir, {"branch", "signed", sig});
  git_ok(w.dir, {"push", "-q", store.path_for("1").string(), "main", "side", "signed"});

  EXPECT_EQ(facts.is_ancestor(1, raw(c1), raw(c2)), true);
  EXPECT_EQ(facts.is_ancestor(1, raw(c2), raw(c2)), true);
  EXPECT_EQ(facts.is_ancestor(1, raw(c2), raw(c1)), false);
  EXPECT_EQ(facts.is_ancestor(1, raw(s1), raw(c2)), false);
  EXPECT_EQ(facts.is_ancestor(1, raw(c1), Bytes(20, 0xab)), std::nullopt) << "missing object";
  EXPECT_EQ(facts.is_ancestor(2, raw(c1), raw(c2)), std::nullopt) << "repository not hosted";

  EXPECT_EQ(facts.has_merge_commits(1, raw(c2), raw(m)), true);
  EXPECT_EQ(facts.has_merge_commits(1, raw(c1), raw(c2)), false);
  EXPECT_EQ(facts.has_merge_commits(1, {}, raw(c2)), false);

  EXPECT_EQ(facts.all_commits_signed(1, raw(c2), raw(sig)), true);
  EXPECT_EQ(facts.all_commits_signed(1, raw(c1), raw(sig)), false) << "c2 is not signed";

  EXPECT_EQ(facts.changed_paths(1, raw(c1), raw(c2)),
            (std::vector<std::string>{".github/CODEOWNERS", "src/a.c"}));
  // Three dots: against the merge base (c1), not main's tip.
  EXPECT_EQ(facts.changed_paths(1, raw(c2), raw(s1)), (std::vector<std::string>{"side.txt"}));

  auto f = facts.read_file(1, raw(c2), ".github/CODEOWNERS", 100);
  EXPECT_EQ(f.state, state::FileFact::kPresent);
  EXPECT_EQ(f.content, "* @alice\n");
  EXPECT_EQ(facts.read_file(1, raw(c2), ".github/CODEOWNERS", 3).content, "* @");
  EXPECT_EQ(facts.read_file(1, raw(c2), "CODEOWNERS", 100).state, state::FileFact::kAbsent);
  EXPECT_EQ(facts.read_file(1, raw(c2), "src", 100).state, state::FileFact::kAbsent);
  EXPECT_EQ(facts.read_file(1, Bytes(20, 0xab), "src", 100).state, state::FileFact::kUnknown);
}

TEST(RepoGitFacts, SeesPushQuarantines) {
  TempDir tmp("facts-q");
  RepoStore store(tmp.path / "data");
  ASSERT_TRUE(store.create("7"));
  RepoGitFacts facts(store, [](uint64_t id) { return std::to_string(id); });
  WorkRepo w(tmp.path / "work");
  const auto c1 = w.commit("a", "a\n", "one");
  git_ok(w.dir, {"push", "-q", store.path_for("7").string(), "main"});
  // A commit written only into a quarantine of the bare repository (as a push waiting for its
  // block is).
  auto bare = store.path_for("7");
  auto q = std::make_unique<Quarantine>(Quarantine::create(bare));
  const auto sig = signed_commit(bare, c1, q->env());
  EXPECT_EQ(facts.is_ancestor(7, raw(c1), raw(sig)), true);
  EXPECT_EQ(facts.all_commits_signed(7, raw(c1), raw(sig)), true);
  q.reset();  // discarded (a rejected push)
  EXPECT_EQ(facts.is_ancestor(7, raw(c1), raw(sig)), std::nullopt);
}
