// Git over SSH (docs/git.md "Git over SSH") with the stock OpenSSH client and git against a real
// guts-node: keys registered with `guts ssh-key add`, clone/push/fetch over protocol v0 and v2,
// a wrong key refused, a read-only user who cannot push, a private repository invisible to
// others, git-upload-archive refused clearly.
#include "core/net_addr.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;

class SshE2E : public GitE2E {
 protected:
  void SetUp() override {
    root_ =
        std::make_unique<TempDir>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ssh_port_ = pick_free_port();
    node_ = std::make_unique<Node>(
        root_->path() / "node", std::vector<std::string>{"--ssh-port", std::to_string(ssh_port_)});
    node_->start();
    alice_ = std::make_unique<User>(root_->path(), "alice", *node_);
    alice_->sign_up();
    known_hosts_ = root_->path() / "known_hosts";
  }

  // A new Ed25519 key pair under the test directory; returns the private key's path.
  fs::path new_key(const std::string& name) {
    auto path = root_->path() / ("id_" + name);
    auto r = run(
        {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@test", "-f", path.string()});
    if (!r.ok()) throw std::runtime_error("ssh-keygen: " + r.both());
    return path;
  }

  // GIT_SSH_COMMAND for `key`: only that key, a private known_hosts file (accepting the node's
  // host key on first use), no agent, no config, batch mode.
  Env ssh_env(const fs::path& key) const {
    return {{"GIT_SSH_COMMAND", "ssh -F /dev/null -i " + key.string() +
                                    " -o IdentitiesOnly=yes -o IdentityAgent=none"
                                    " -o BatchMode=yes -o UserKnownHostsFile=" +
                                    known_hosts_.string() +
                                    " -o StrictHostKeyChecking=accept-new"}};
  }

  std::string url(const std::string& path) const {
    return "ssh://git@127.0.0.1:" + std::to_string(ssh_port_) + "/" + path;
  }

  uint16_t ssh_port_ = 0;
  fs::path known_hosts_;
};

TEST_F(SshE2E, CloneFetchPushWithRegisteredKeys) {
  create_repo(*alice_, "proj");
  auto key = new_key("alice");
  auto r = alice_->guts({"ssh-key", "add", key.string() + ".pub", "--title", "laptop"});
  ASSERT_TRUE(r.ok()) << r.both();
  r = alice_->guts({"ssh-key", "list", "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  auto keys = nlohmann::json::parse(r.out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["title"], "laptop");
  auto env = ssh_env(key);

  // Push over SSH: the ref moves through the signed transaction; HTTP sees it.
  auto a = local_repo(*alice_, "a");
  auto head = rev_parse(*alice_, a, "HEAD");
  r = alice_->git({"push", url("alice/proj.git"), "main"}, a, env);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(trim(alice_->git({"ls-remote", alice_->remote("alice", "proj"), "refs/heads/main"})
                     .out.substr(0, 40)),
            head);

  // Clone over protocol v2 and v0, with and without ".git".
  r = alice_->git(
      {"-c", "protocol.version=2", "clone", "-q", url("alice/proj.git"), dir("v2").string()}, {},
      env);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(*alice_, dir("v2"), "HEAD"), head);
  Env traced = env;
  traced.emplace_back("GIT_TRACE_PACKET", "1");
  r = alice_->git({"-c", "protocol.version=2", "ls-remote", url("alice/proj")}, {}, traced);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr("version 2"));  // the server answered in protocol v2
  r = alice_->git(
      {"-c", "protocol.version=0", "clone", "-q", url("alice/proj"), dir("v0").string()}, {}, env);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(*alice_, dir("v0"), "HEAD"), head);

  // Fetch a new commit pushed over SSH.
  auto second = commit_file(*alice_, a, "two.txt", "2\n", "second");
  ASSERT_TRUE(alice_->git({"push", "-q", url("alice/proj.git"), "main"}, a, env).ok());
  r = alice_->git({"fetch", "-q", "origin"}, dir("v2"), env);
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(*alice_, dir("v2"), "origin/main"), second);

  // A non-fast-forward push is refused with git's reason.
  ASSERT_TRUE(alice_->git({"reset", "-q", "--hard", "HEAD~1"}, a).ok());
  commit_file(*alice_, a, "other.txt", "x\n", "diverged");
  r = alice_->git({"push", url("alice/proj.git"), "main"}, a, env);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("rejected"));
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, 1), "refs/heads/main"), second);

  // git-upload-archive is refused with a clear message.
  r = alice_->git({"archive", "--remote=" + url("alice/proj.git"), "HEAD"}, a, env);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("git-upload-archive is not served"));

  // The key removed: refused.
  auto id = std::to_string(keys[0]["id"].get<uint64_t>());
  ASSERT_TRUE(alice_->guts({"ssh-key", "remove", id}).ok());
  r = alice_->git({"ls-remote", url("alice/proj.git")}, {}, env);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("Permission denied (publickey)"));
}

TEST_F(SshE2E, WrongKeyReadOnlyUserAndPrivateRepository) {
  create_repo(*alice_, "proj");
  create_repo(*alice_, "secret", true);
  auto akey = new_key("alice");
  ASSERT_TRUE(alice_->guts({"ssh-key", "add", akey.string() + ".pub"}).ok());
  auto a = local_repo(*alice_, "a");
  auto head = rev_parse(*alice_, a, "HEAD");
  ASSERT_TRUE(alice_->git({"push", "-q", url("alice/proj.git"), "main"}, a, ssh_env(akey)).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", url("alice/secret.git"), "main"}, a, ssh_env(akey)).ok());

  // A key nobody registered: refused by ssh, nothing changes.
  auto stranger = new_key("stranger");
  auto r =
      alice_->git({"clone", "-q", url("alice/proj.git"), dir("x").string()}, {}, ssh_env(stranger));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("Permission denied (publickey)"));
  EXPECT_THAT(r.both(), HasSubstr("Could not read from remote repository"));
  EXPECT_FALSE(fs::exists(dir("x") / ".git"));

  // bob (registered key, no grant): reads the public repository, cannot push to it, cannot see
  // the private one.
  auto bob = make_user("bob");
  auto bkey = new_key("bob");
  ASSERT_TRUE(bob.guts({"ssh-key", "add", bkey.string() + ".pub"}).ok());
  // The same key cannot belong to two users.
  r = alice_->guts({"ssh-key", "add", bkey.string() + ".pub"});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("already in use"));
  r = bob.git({"clone", "-q", url("alice/proj.git"), dir("b").string()}, {}, ssh_env(bkey));
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(bob, dir("b"), "HEAD"), head);
  commit_file(bob, dir("b"), "bob.txt", "b\n", "bob's change");
  r = bob.git({"push", "origin", "main"}, dir("b"), ssh_env(bkey));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("Permission to alice/proj denied to bob"));
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, 1), "refs/heads/main"), head);
  r = bob.git({"ls-remote", url("alice/secret.git")}, {}, ssh_env(bkey));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("Repository not found"));
  r = bob.git({"ls-remote", url("alice/nonexistent.git")}, {}, ssh_env(bkey));
  EXPECT_THAT(r.both(), HasSubstr("Repository not found"));

  // With write access bob pushes over SSH.
  int added =
      alice_->api("PUT", "/api/v3/repos/alice/proj/collaborators/bob", R"({"permission":"push"})");
  ASSERT_TRUE(added == 201 || added == 204) << added;
  r = bob.git({"push", "origin", "main"}, dir("b"), ssh_env(bkey));
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, 1), "refs/heads/main"),
            rev_parse(bob, dir("b"), "HEAD"));

  // carol's identity is an OpenSSH Ed25519 key: it authenticates her over SSH unregistered.
  auto ckey = new_key("carol");
  User carol(root_->path(), "carol", *node_);
  r = carol.guts({"identity", "import", ckey.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  r = carol.guts({"auth", "login", "--username", "carol"});
  ASSERT_TRUE(r.ok()) << r.both();
  create_repo(carol, "mine");
  r = carol.guts({"ssh-key", "list", "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(r.out.find("ssh-ed25519"), std::string::npos);  // nothing registered
  r = carol.git({"push", url("carol/mine"), "main"}, a, ssh_env(ckey));
  ASSERT_TRUE(r.ok()) << r.both();
  // Nobody may register carol's identity key as theirs.
  r = bob.guts({"ssh-key", "add", ckey.string() + ".pub"});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("already in use"));

  // REST: /users/{u}/keys lists bob's public key.
  std::string out;
  ASSERT_EQ(alice_->api("GET", "/api/v3/users/bob/keys", "", &out), 200);
  auto list = nlohmann::json::parse(out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_THAT(list[0]["key"].get<std::string>(), HasSubstr("ssh-ed25519 "));
}

}  // namespace
}  // namespace guts::e2e
