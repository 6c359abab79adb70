// The stock git client against a running guts-node: clone, fetch and push over smart HTTP, every
// ref change through a signed transaction (docs/git.md).
#include <signal.h>

#include <map>
#include <thread>

#include "cli/http_client.h"
#include "git/process.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/live_fsck.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;

// `git fsck --strict` of a running node's bare repository (tests/support/live_fsck.h).
Cmd fsck_bare(const User& user, const std::filesystem::path& bare) {
  return testing::fsck_live([&] { return user.git({"fsck", "--strict"}, bare); });
}

std::map<std::string, std::string> as_map(
    const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

TEST_F(GitE2E, CloneEmptyRepositoryThenFirstPush) {
  uint64_t id = create_repo(*alice_, "hello");
  auto bare = bare_repo_dir(*node_, id);
  ASSERT_TRUE(fs::exists(bare / "HEAD"));
  EXPECT_EQ(trim(read_file(bare / "HEAD")), "ref: refs/heads/main");

  auto work = dir("clone");
  auto r = alice_->git({"clone", alice_->remote("alice", "hello"), work.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr("cloned an empty repository"));

  auto c1 = commit_file(*alice_, work, "README.md", "# hello\n", "first");
  r = alice_->git({"push", "origin", "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr("* [new branch]      main -> main"));
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), c1);

  // Visible to a fresh clone, also without ".git" and anonymously (public repository).
  auto work2 = dir("clone2");
  r = alice_->git({"clone",
                   alice_->anonymous_remote("alice", "hello")
                       .substr(0, alice_->anonymous_remote("alice", "hello").size() - 4),
                   work2.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(*alice_, work2, "HEAD"), c1);
  EXPECT_EQ(read_file(work2 / "README.md"), "# hello\n");

  // The state agrees: the branch API answers from the same refs.
  std::string body;
  ASSERT_EQ(alice_->api("GET", "/api/v3/repos/alice/hello", "", &body), 200);
  EXPECT_THAT(body, HasSubstr("\"pushed_at\":\"20"));
  r = fsck_bare(*alice_, bare);
  EXPECT_TRUE(r.ok()) << r.both();
}

TEST_F(GitE2E, TagsLightweightAndAnnotated) {
  uint64_t id = create_repo(*alice_, "tags");
  auto bare = bare_repo_dir(*node_, id);
  auto work = local_repo(*alice_, "work");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "tags")}, work).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, work).ok());
  ASSERT_TRUE(alice_->git({"tag", "v1-light"}, work).ok());
  ASSERT_TRUE(alice_->git({"tag", "-a", "v1.0", "-m", "release 1.0"}, work).ok());
  auto r = alice_->git({"push", "origin", "--tags"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr("* [new tag]         v1-light -> v1-light"));
  EXPECT_THAT(r.err, HasSubstr("* [new tag]         v1.0 -> v1.0"));
  auto refs = as_map(ls_remote(*alice_, alice_->remote("alice", "tags")));
  auto head = rev_parse(*alice_, work, "HEAD");
  EXPECT_EQ(refs["refs/tags/v1-light"], head);
  EXPECT_EQ(refs["refs/tags/v1.0"], rev_parse(*alice_, work, "refs/tags/v1.0"));
  EXPECT_NE(refs["refs/tags/v1.0"], head);  // the tag object
  EXPECT_EQ(refs["refs/tags/v1.0^{}"], head);
  EXPECT_EQ(bare_ref(bare, "refs/tags/v1.0"), rev_parse(*alice_, work, "refs/tags/v1.0"));
}

TEST_F(GitE2E, FastForwardPushAndIncrementalFetch) {
  create_repo(*alice_, "ff");
  auto work = local_repo(*alice_, "work");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "ff")}, work).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, work).ok());
  auto other = dir("other");
  ASSERT_TRUE(alice_->git({"clone", "-q", alice_->remote("alice", "ff"), other.string()}).ok());

  for (int i = 0; i < 3; ++i) {
    auto c = commit_file(*alice_, work, "f.txt", "version " + std::to_string(i) + "\n",
                         "change " + std::to_string(i));
    auto r = alice_->git({"push", "origin", "main"}, work);
    ASSERT_TRUE(r.ok()) << r.both();
    EXPECT_THAT(r.err, HasSubstr("main -> main"));
    // Incremental fetch: only the new objects come over.
    r = alice_->git({"fetch", "origin"}, other);
    ASSERT_TRUE(r.ok()) << r.both();
    EXPECT_EQ(rev_parse(*alice_, other, "origin/main"), c);
  }
  ASSERT_TRUE(alice_->git({"merge", "-q", "--ff-only", "origin/main"}, other).ok());
  EXPECT_EQ(read_file(other / "f.txt"), "version 2\n");
}

TEST_F(GitE2E, NonFastForwardRejectedWithGitsHint) {
  uint64_t id = create_repo(*alice_, "nff");
  allow_force(*alice_, "nff", false);
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "nff")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  auto b = dir("b");
  ASSERT_TRUE(alice_->git({"clone", "-q", alice_->remote("alice", "nff"), b.string()}).ok());
  auto c2 = commit_file(*alice_, a, "a.txt", "a\n", "from a");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());

  // b has not seen c2: git refuses and explains (fetch first).
  commit_file(*alice_, b, "b.txt", "b\n", "from b");
  auto r = alice_->git({"push", "origin", "main"}, b);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("! [rejected]        main -> main (fetch first)"));
  EXPECT_THAT(r.err, HasSubstr("hint: Updates were rejected because the remote contains work"));
  // After fetching, the usual non-fast-forward hint.
  ASSERT_TRUE(alice_->git({"fetch", "-q", "origin"}, b).ok());
  r = alice_->git({"push", "origin", "main"}, b);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("! [rejected]        main -> main (non-fast-forward)"));
  EXPECT_THAT(
      r.err,
      HasSubstr("hint: Updates were rejected because the tip of your current branch is behind"));
  // Forcing is refused by the server: the repository does not allow force pushes.
  r = alice_->git({"push", "--force", "origin", "main"}, b);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("! [remote rejected] main -> main (non-fast-forward)"));
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), c2);
}

TEST_F(GitE2E, ForcePushWhereAllowed) {
  uint64_t id = create_repo(*alice_, "force");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "force")}, a).ok());
  commit_file(*alice_, a, "x.txt", "1\n", "one");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  ASSERT_TRUE(alice_->git({"reset", "-q", "--hard", "HEAD~1"}, a).ok());
  auto rewritten = commit_file(*alice_, a, "x.txt", "2\n", "rewritten");

  allow_force(*alice_, "force", false);
  auto r = alice_->git({"push", "--force", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("(non-fast-forward)"));

  allow_force(*alice_, "force", true);
  r = alice_->git({"push", "--force", "origin", "main"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr("+ "));
  EXPECT_THAT(r.err, HasSubstr("main -> main (forced update)"));
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), rewritten);
}

TEST_F(GitE2E, DeleteBranchAndTag) {
  uint64_t id = create_repo(*alice_, "del");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "del")}, a).ok());
  ASSERT_TRUE(alice_->git({"branch", "topic"}, a).ok());
  ASSERT_TRUE(alice_->git({"tag", "-a", "v1", "-m", "v1"}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main", "topic", "v1"}, a).ok());
  ASSERT_FALSE(bare_ref(bare, "refs/heads/topic").empty());
  ASSERT_FALSE(bare_ref(bare, "refs/tags/v1").empty());

  auto r = alice_->git({"push", "origin", "--delete", "topic", "v1"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr("- [deleted]         topic"));
  EXPECT_THAT(r.err, HasSubstr("- [deleted]         v1"));
  EXPECT_EQ(bare_ref(bare, "refs/heads/topic"), "");
  EXPECT_EQ(bare_ref(bare, "refs/tags/v1"), "");
  auto refs = as_map(ls_remote(*alice_, alice_->remote("alice", "del")));
  EXPECT_EQ(refs.count("refs/heads/topic"), 0u);
  EXPECT_EQ(refs.count("refs/heads/main"), 1u);
}

TEST_F(GitE2E, AtomicPushWithOneBadRefAppliesNothing) {
  uint64_t id = create_repo(*alice_, "atomic");
  allow_force(*alice_, "atomic", false);
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "atomic")}, a).ok());
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "dev"}, a).ok());
  commit_file(*alice_, a, "dev.txt", "dev\n", "dev work");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main", "dev"}, a).ok());
  auto main_before = bare_ref(bare, "refs/heads/main");
  auto dev_before = bare_ref(bare, "refs/heads/dev");

  // main: a fast-forward; dev: rewritten (non-fast-forward, refused by the repository).
  ASSERT_TRUE(alice_->git({"reset", "-q", "--hard", "HEAD~1"}, a).ok());
  commit_file(*alice_, a, "dev.txt", "rewritten\n", "dev rewritten");
  ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, a).ok());
  commit_file(*alice_, a, "main.txt", "more\n", "main work");
  auto r = alice_->git({"push", "--atomic", "--force", "origin", "main", "dev"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("dev -> dev (non-fast-forward)"));
  EXPECT_THAT(r.err, HasSubstr("main -> main (atomic push failed)"));
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), main_before);
  EXPECT_EQ(bare_ref(bare, "refs/heads/dev"), dev_before);

  // Without --atomic, the good ref goes through and the bad one is refused.
  r = alice_->git({"push", "--force", "origin", "main", "dev"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), rev_parse(*alice_, a, "main"));
  EXPECT_EQ(bare_ref(bare, "refs/heads/dev"), dev_before);
}

TEST_F(GitE2E, ShallowCloneAndDeepeningFetch) {
  create_repo(*alice_, "shallow");
  auto a = local_repo(*alice_, "a");
  for (int i = 0; i < 5; ++i)
    commit_file(*alice_, a, "n.txt", std::to_string(i) + "\n", "commit " + std::to_string(i));
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "shallow")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());

  auto s = dir("s");
  auto r = alice_->git({"clone", "--depth", "1", alice_->remote("alice", "shallow"), s.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"rev-list", "--count", "HEAD"}, s).out), "1");
  EXPECT_TRUE(fs::exists(s / ".git" / "shallow"));
  r = alice_->git({"fetch", "--deepen", "2"}, s);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"rev-list", "--count", "HEAD"}, s).out), "3");
  r = alice_->git({"fetch", "--unshallow"}, s);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"rev-list", "--count", "HEAD"}, s).out), "6");
  EXPECT_FALSE(fs::exists(s / ".git" / "shallow"));
}

TEST_F(GitE2E, PartialCloneAndLazyBlobFetch) {
  create_repo(*alice_, "partial");
  auto a = local_repo(*alice_, "a");
  commit_file(*alice_, a, "big.txt", std::string(100000, 'x') + "\n", "big file");
  commit_file(*alice_, a, "big.txt", std::string(100000, 'y') + "\n", "big file changed");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "partial")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());

  auto p = dir("p");
  auto r = alice_->git({"clone", "--filter=blob:none", "--no-checkout",
                        alice_->remote("alice", "partial"), p.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  r = alice_->git({"rev-list", "--objects", "--all", "--missing=print"}, p);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.out, HasSubstr("?"));              // blobs not fetched yet
  r = alice_->git({"checkout", "-q", "main"}, p);  // fetches the blobs it needs, lazily
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(read_file(p / "big.txt"), std::string(100000, 'y') + "\n");
  r = alice_->git({"show", "HEAD~1:big.txt"}, p);  // another lazy fetch
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(r.out, std::string(100000, 'x') + "\n");
}

TEST_F(GitE2E, ProtocolV0AndV2) {
  create_repo(*alice_, "proto");
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "proto")}, a).ok());
  auto r = alice_->git({"-c", "protocol.version=0", "push", "origin", "main"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  for (std::string v : {"0", "1", "2"}) {
    auto d = dir("clone-v" + v);
    r = alice_->git(
        {"-c", "protocol.version=" + v, "clone", alice_->remote("alice", "proto"), d.string()}, {},
        {{"GIT_TRACE_PACKET", "1"}});
    ASSERT_TRUE(r.ok()) << r.both();
    EXPECT_EQ(read_file(d / "README.md"), "# a\n");
    if (v == "2") {
      EXPECT_THAT(r.err, HasSubstr("git< version 2"));
      EXPECT_THAT(r.err, HasSubstr("clone> command=ls-refs"));
    } else {
      EXPECT_THAT(r.err, ::testing::Not(HasSubstr("git< version 2")));
      EXPECT_THAT(r.err, ::testing::Not(HasSubstr("command=ls-refs")));
    }
    commit_file(*alice_, d, "v" + v + ".txt", v, "push over v" + v);
    r = alice_->git({"-c", "protocol.version=" + v, "pull", "-q", "--rebase", "origin", "main"}, d);
    ASSERT_TRUE(r.ok()) << r.both();
    r = alice_->git({"-c", "protocol.version=" + v, "push", "origin", "main"}, d);
    ASSERT_TRUE(r.ok()) << r.both();
  }
}

TEST_F(GitE2E, WrongPasswordIsRefused) {
  uint64_t id = create_repo(*alice_, "auth");
  auto a = local_repo(*alice_, "a");
  std::string host = node_->url().substr(7);
  ASSERT_TRUE(
      alice_
          ->git({"remote", "add", "origin", "http://alice:not-a-token@" + host + "/alice/auth.git"},
                a)
          .ok());
  auto r = alice_->git({"push", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("Authentication failed"));
  // Anonymous push: 401 with WWW-Authenticate, git would ask its credential helper; here
  // prompts are disabled.
  ASSERT_TRUE(
      alice_->git({"remote", "set-url", "origin", alice_->anonymous_remote("alice", "auth")}, a)
          .ok());
  r = alice_->git({"push", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("could not read Username"));
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, id), "refs/heads/main"), "");
}

TEST_F(GitE2E, NoPermissionForAnotherUsersRepository) {
  uint64_t id = create_repo(*alice_, "mine");
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "mine")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  auto before = bare_ref(bare_repo_dir(*node_, id), "refs/heads/main");

  User bob = make_user("bob");
  auto b = dir("b");
  auto r = bob.git({"clone", "-q", bob.remote("alice", "mine"), b.string()});  // public: readable
  ASSERT_TRUE(r.ok()) << r.both();
  commit_file(bob, b, "bob.txt", "bob\n", "bob was here");
  r = bob.git({"push", "origin", "main"}, b);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("403"));
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, id), "refs/heads/main"), before);
}

TEST_F(GitE2E, PrivateRepositoryIsHidden) {
  uint64_t id = create_repo(*alice_, "secret", true);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "secret")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  ASSERT_FALSE(bare_ref(bare_repo_dir(*node_, id), "refs/heads/main").empty());
  auto mine = dir("mine");
  auto r = alice_->git({"clone", "-q", alice_->remote("alice", "secret"), mine.string()});
  ASSERT_TRUE(r.ok()) << r.both();

  User bob = make_user("bob");
  EXPECT_EQ(bob.api("GET", "/api/v3/repos/alice/secret"), 404);
  EXPECT_EQ(bob.api("GET", "/api/v3/repos/alice/secret/branches"), 404);
  // With bob's credentials: exactly like a repository that does not exist.
  r = bob.git({"clone", bob.remote("alice", "secret"), dir("b").string()});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("not found"));
  auto r2 = bob.git({"clone", bob.remote("alice", "does-not-exist"), dir("b2").string()});
  EXPECT_FALSE(r2.ok());
  EXPECT_THAT(r2.err, HasSubstr("not found"));
  // Anonymous: asked for credentials (401), never told whether it exists.
  r = bob.git({"clone", bob.anonymous_remote("alice", "secret"), dir("c").string()});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("could not read Username"));
}

TEST_F(GitE2E, ConcurrentPushesToOneRefExactlyOneWins) {
  uint64_t id = create_repo(*alice_, "race");
  auto base = local_repo(*alice_, "base");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "race")}, base).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, base).ok());
  for (int round = 0; round < 3; ++round) {
    auto x = dir("x" + std::to_string(round)), y = dir("y" + std::to_string(round));
    ASSERT_TRUE(alice_->git({"clone", "-q", alice_->remote("alice", "race"), x.string()}).ok());
    ASSERT_TRUE(alice_->git({"clone", "-q", alice_->remote("alice", "race"), y.string()}).ok());
    auto n = std::to_string(round);
    auto cx = commit_file(*alice_, x, "x.txt", "x" + n, "x" + n);
    auto cy = commit_file(*alice_, y, "y.txt", "y" + n, "y" + n);
    Cmd rx, ry;
    std::thread tx([&] { rx = alice_->git({"push", "origin", "main"}, x); });
    std::thread ty([&] { ry = alice_->git({"push", "origin", "main"}, y); });
    tx.join();
    ty.join();
    EXPECT_NE(rx.ok(), ry.ok()) << rx.both() << "\n" << ry.both();
    auto now = bare_ref(bare_repo_dir(*node_, id), "refs/heads/main");
    EXPECT_EQ(now, rx.ok() ? cx : cy);
    const Cmd& loser = rx.ok() ? ry : rx;
    // Either git saw the other push in the advertisement, or the state's CAS refused it.
    EXPECT_TRUE(loser.err.find("(stale info)") != std::string::npos ||
                loser.err.find("(fetch first)") != std::string::npos)
        << loser.err;
  }
  auto r = fsck_bare(*alice_, bare_repo_dir(*node_, id));
  EXPECT_TRUE(r.ok()) << r.both();
}

// A repository with >= 5,000 commits and deltas, generated with git fast-import.
void generate_history(const User& u, const fs::path& repo, int commits, int files) {
  ASSERT_TRUE(u.git({"init", "-q", "-b", "main", repo.string()}).ok());
  std::string script;
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "line " + std::to_string(i) + " of a file that changes a little each time\n";
  for (int c = 1; c <= commits; ++c) {
    script += "commit refs/heads/main\nmark :" + std::to_string(c) + "\n";
    script += "committer Gen <gen@example.com> " + std::to_string(1600000000 + c) + " +0000\n";
    std::string msg = "commit " + std::to_string(c) + "\n";
    script += "data " + std::to_string(msg.size()) + "\n" + msg;
    if (c > 1) script += "from :" + std::to_string(c - 1) + "\n";
    int f = c % files;
    std::string content = text + "change " + std::to_string(c) + "\n";
    script +=
        "M 100644 inline dir" + std::to_string(f % 10) + "/file" + std::to_string(f) + ".txt\n";
    script += "data " + std::to_string(content.size()) + "\n" + content + "\n";
  }
  auto r = run({"git", "fast-import", "--quiet"}, u.env(), repo, script);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(u.git({"reset", "-q", "--hard", "main"}, repo).ok());
}

TEST_F(GitE2E, LongHistoryWithDeltas) {
  uint64_t id = create_repo(*alice_, "long");
  auto a = dir("a");
  generate_history(*alice_, a, 5000, 50);
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "long")}, a).ok());
  auto r = alice_->git({"push", "origin", "main"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  auto bare = bare_repo_dir(*node_, id);
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), rev_parse(*alice_, a, "main"));
  r = alice_->git({"count-objects", "-v"}, bare);
  EXPECT_THAT(r.out, HasSubstr("packs: 1"));
  // Deltas were kept: the pack is far smaller than 5,000 full copies of the file.
  r = run({"sh", "-c",
           "git verify-pack -v objects/pack/*.idx | grep -c ' blob .* [0-9]* [0-9]* [0-9]* [0-9]* "
           "[0-9a-f]\\{40\\}$'"},
          alice_->env(), bare);
  EXPECT_GT(std::stoi(trim(r.out).empty() ? "0" : trim(r.out)), 4000) << r.both();

  auto c = dir("c");
  r = alice_->git({"clone", "-q", alice_->remote("alice", "long"), c.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"rev-list", "--count", "HEAD"}, c).out), "5000");
  r = fsck_bare(*alice_, bare);
  EXPECT_TRUE(r.ok()) << r.both();
}

// Random (incompressible) data of `bytes`, committed as one file.
std::string commit_random(const User& u, const fs::path& repo, size_t bytes,
                          const std::string& name) {
  auto r =
      run({"sh", "-c", "head -c " + std::to_string(bytes) + " /dev/urandom > " + name}, {}, repo);
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_TRUE(u.git({"add", name}, repo).ok());
  EXPECT_TRUE(u.git({"commit", "-q", "-m", "add " + name}, repo).ok());
  return rev_parse(u, repo, "HEAD");
}

size_t quarantines(const fs::path& bare) {
  size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(bare / "objects", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind("incoming-", 0) == 0) ++n;
  return n;
}

// Starts `git push` in the background (own process group: kill() reaches git-remote-http).
git::Process start_push(const User& u, const fs::path& repo, const std::vector<std::string>& args) {
  git::ProcessOptions o;
  o.argv = {"git", "push"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = u.env();
  o.cwd = repo;
  o.capture_stdin = false;
  o.capture_stdout = false;
  o.capture_stderr = false;
  o.timeout = std::chrono::minutes(5);
  return git::Process::spawn(o);
}

TEST_F(GitE2E, InterruptedPushLeavesRepositoryUnchanged) {
  uint64_t id = create_repo(*alice_, "interrupt");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(
      alice_->git({"remote", "add", "origin", alice_->remote("alice", "interrupt")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  auto before = bare_ref(bare, "refs/heads/main");
  commit_random(*alice_, a, 60 << 20, "blob.bin");

  // Throttle nothing: kill the client as soon as the node has a quarantine for the pack.
  auto push = start_push(*alice_, a, {"origin", "main"});
  ASSERT_TRUE(wait_until([&] { return quarantines(bare) > 0; }, std::chrono::seconds(60),
                         std::chrono::milliseconds(5)));
  push.kill(SIGKILL);
  auto st = push.wait();
  EXPECT_FALSE(st.success());
  // The node notices the broken body, discards the quarantine and keeps serving.
  EXPECT_TRUE(wait_until([&] { return quarantines(bare) == 0; }, std::chrono::seconds(60)));
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), before);
  auto refs = as_map(ls_remote(*alice_, alice_->remote("alice", "interrupt")));
  EXPECT_EQ(refs["refs/heads/main"], before);
  auto r = fsck_bare(*alice_, bare);
  EXPECT_TRUE(r.ok()) << r.both();
  // And the same push completes afterwards.
  r = alice_->git({"push", "-q", "origin", "main"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), rev_parse(*alice_, a, "main"));
}

TEST_F(GitE2E, Kill9DuringPushThenRestart) {
  uint64_t id = create_repo(*alice_, "crash");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "crash")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  std::string old_tip = bare_ref(bare, "refs/heads/main");
  // Several crash points: while the pack streams in, and shortly after it arrived.
  for (int round = 0; round < 3; ++round) {
    auto new_tip =
        commit_random(*alice_, a, (round == 0 ? 40 : 2) << 20, "r" + std::to_string(round));
    auto push = start_push(*alice_, a, {"origin", "main"});
    // Round 0: while the 40 MB pack streams in. Round 1: at once (the request may not even
    // have arrived). Round 2: as soon as the node holds the pack (index-pack, checks,
    // consensus or the ref move), or when the push completed first.
    if (round == 0) {
      ASSERT_TRUE(wait_until([&] { return quarantines(bare) > 0; }, std::chrono::seconds(60),
                             std::chrono::milliseconds(2)));
    } else if (round == 2) {
      ASSERT_TRUE(wait_until(
          [&] { return quarantines(bare) > 0 || bare_ref(bare, "refs/heads/main") == new_tip; },
          std::chrono::seconds(60), std::chrono::milliseconds(1)));
    }
    node_->kill9();
    push.wait();
    node_->start();
    alice_->set_node(*node_);
    ASSERT_TRUE(
        alice_->git({"remote", "set-url", "origin", alice_->remote("alice", "crash")}, a).ok());
    auto tip = bare_ref(bare, "refs/heads/main");
    EXPECT_TRUE(tip == old_tip || tip == new_tip) << tip;
    // The state and the bare repository agree.
    std::string body;
    ASSERT_EQ(alice_->api("GET", "/api/v3/repos/alice/crash/branches/main", "", &body), 200);
    EXPECT_THAT(body, HasSubstr(tip));
    auto r = fsck_bare(*alice_, bare);
    EXPECT_TRUE(r.ok()) << r.both();
    EXPECT_EQ(quarantines(bare), 0u);
    // Pushing again converges on the new tip.
    r = alice_->git({"push", "-q", "origin", "main"}, a);
    ASSERT_TRUE(r.ok()) << r.both();
    old_tip = bare_ref(bare, "refs/heads/main");
    EXPECT_EQ(old_tip, new_tip);
  }
}

// The crash window between a block's commit and the ref move, made deterministic: the state
// holds the new tip, the bare repository still the old one, the objects sit in a quarantine.
TEST_F(GitE2E, RecoveryMigratesQuarantineOfCommittedPush) {
  uint64_t id = create_repo(*alice_, "recover");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "recover")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  auto c1 = rev_parse(*alice_, a, "HEAD");
  auto packs_before = run({"sh", "-c", "ls objects/pack/*.pack"}, {}, bare).out;
  auto c2 = commit_file(*alice_, a, "new.txt", "new\n", "second");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  ASSERT_EQ(bare_ref(bare, "refs/heads/main"), c2);
  node_->stop();
  // A crash leaves no clean-stop record (docs/git.md "Recovery"): without it the start
  // revisits every repository.
  ASSERT_TRUE(fs::remove(node_->data_dir() / "git-projection.clean"));

  // Undo the projection's work for the second push: objects back into a quarantine, ref back.
  auto q = bare / "objects" / "incoming-crashed";
  fs::create_directories(q / "pack");
  for (auto& e : fs::directory_iterator(bare / "objects" / "pack")) {
    auto stem = e.path().stem().string();
    if (packs_before.find(stem) != std::string::npos) continue;
    fs::rename(e.path(), q / "pack" / e.path().filename());
  }
  auto r = run({"git", "--git-dir", bare.string(), "update-ref", "refs/heads/main", c1},
               {{"GIT_CONFIG_NOSYSTEM", "1"}});
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_NE(run({"git", "--git-dir", bare.string(), "cat-file", "-e", c2}, {}).code, 0);
  // A quarantine of a push that never committed: removed at startup.
  fs::create_directories(bare / "objects" / "incoming-junk" / "pack");

  node_->start();
  alice_->set_node(*node_);
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), c2);
  EXPECT_EQ(quarantines(bare), 0u);
  r = fsck_bare(*alice_, bare);
  EXPECT_TRUE(r.ok()) << r.both();
  auto c = dir("c");
  r = alice_->git({"clone", "-q", alice_->remote("alice", "recover"), c.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(read_file(c / "new.txt"), "new\n");
}

TEST_F(GitE2E, DefaultBranchAndPushOptions) {
  uint64_t id = create_repo(*alice_, "head");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "head")}, a).ok());
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "dev"}, a).ok());
  auto dev = commit_file(*alice_, a, "dev.txt", "dev\n", "dev");
  // Push options are negotiated and accepted.
  auto r = alice_->git({"push", "-o", "ci.skip", "-o", "note=hello", "origin", "main", "dev"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  // UpdateRepo default_branch: HEAD follows, and clones check out the new default.
  ASSERT_EQ(alice_->api("PATCH", "/api/v3/repos/alice/head", "{\"default_branch\":\"dev\"}"), 200);
  EXPECT_EQ(trim(read_file(bare / "HEAD")), "ref: refs/heads/dev");
  auto c = dir("c");
  r = alice_->git({"clone", "-q", alice_->remote("alice", "head"), c.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"symbolic-ref", "HEAD"}, c).out), "refs/heads/dev");
  EXPECT_EQ(rev_parse(*alice_, c, "HEAD"), dev);
  // A rename moves nothing on disk (the key is the id) and git follows the new name.
  ASSERT_EQ(alice_->api("PATCH", "/api/v3/repos/alice/head", "{\"name\":\"renamed\"}"), 200);
  EXPECT_TRUE(fs::exists(bare));
  EXPECT_EQ(as_map(ls_remote(*alice_, alice_->remote("alice", "renamed")))["refs/heads/dev"], dev);
}

// The default branch can never be deleted: the state machine refuses (docs/governance.md §2) and
// the stock client prints the reason; the repository keeps a valid HEAD.
TEST_F(GitE2E, DefaultBranchCannotBeDeleted) {
  create_repo(*alice_, "keep");
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "keep")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main", "main:topic"}, a).ok());
  auto r = alice_->git({"push", "origin", ":main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("! [remote rejected] main (refusing to delete the default "
                                  "branch: refs/heads/main)"));
  // An atomic push with a deletion of the default branch moves nothing.
  r = alice_->git({"push", "--atomic", "origin", ":topic", ":main"}, a);
  EXPECT_FALSE(r.ok());
  auto refs = as_map(ls_remote(*alice_, alice_->remote("alice", "keep")));
  EXPECT_EQ(refs.count("refs/heads/main"), 1u);
  EXPECT_EQ(refs.count("refs/heads/topic"), 1u);
  // Other branches can go.
  r = alice_->git({"push", "origin", ":topic"}, a);
  EXPECT_TRUE(r.ok()) << r.both();
  auto c = dir("c");
  r = alice_->git({"clone", "-q", alice_->remote("alice", "keep"), c.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"symbolic-ref", "HEAD"}, c).out), "refs/heads/main");
}

TEST_F(GitE2E, DeletedRepositoryIsMovedToTrash) {
  uint64_t id = create_repo(*alice_, "gone");
  auto bare = bare_repo_dir(*node_, id);
  ASSERT_TRUE(fs::exists(bare));
  auto r = alice_->guts({"repo", "delete", "alice/gone", "--yes"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_FALSE(fs::exists(bare));
  EXPECT_FALSE(fs::is_empty(node_->data_dir() / "repos-trash"));
  // The name is free again, with a fresh (empty) repository.
  uint64_t id2 = create_repo(*alice_, "gone");
  EXPECT_NE(id, id2);
  EXPECT_TRUE(ls_remote(*alice_, alice_->remote("alice", "gone")).empty());
}

}  // namespace
}  // namespace guts::e2e
