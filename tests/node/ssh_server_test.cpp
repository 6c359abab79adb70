// The SSH server's pure parts (node/ssh_server.h): the git command a client sends, and the host
// key generated once with mode 0600.
#include "node/ssh_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/node_harness.h"

using namespace guts;
using namespace guts::node;

TEST(SshCommand, AcceptsTheFormsGitSends) {
  for (const char* c : {"git-upload-pack '/alice/proj.git'", "git-upload-pack 'alice/proj.git'",
                        "git-upload-pack '/alice/proj'", "git upload-pack '/alice/proj.git'",
                        "git-upload-pack alice/proj", "git-upload-pack '/alice/proj.git/'"}) {
    std::string why;
    auto cmd = parse_git_ssh_command(c, &why);
    ASSERT_TRUE(cmd) << c << ": " << why;
    EXPECT_EQ(cmd->service, "git-upload-pack") << c;
    EXPECT_EQ(cmd->owner, "alice") << c;
    EXPECT_EQ(cmd->repo, "proj") << c;
  }
  auto push = parse_git_ssh_command("git-receive-pack '/org-1/my.repo.git'");
  ASSERT_TRUE(push);
  EXPECT_EQ(push->service, "git-receive-pack");
  EXPECT_EQ(push->owner, "org-1");
  EXPECT_EQ(push->repo, "my.repo");
  auto archive = parse_git_ssh_command("git-upload-archive '/alice/proj.git'");
  ASSERT_TRUE(archive);
  EXPECT_EQ(archive->service, "git-upload-archive");
}

TEST(SshCommand, RefusesEverythingElse) {
  for (const char* c : {"", "ls -la", "git-upload-pack", "git-upload-pack ''",
                        "git-upload-pack '/alice'", "git-upload-pack '/alice/proj/extra'",
                        "git-upload-pack '../../etc/passwd'", "git-upload-pack '/alice/..'",
                        "git-upload-pack '/alice/proj' extra", "git-upload-pack 'alice/proj",
                        "git-upload-pack '/alice/pr oj'", "git-upload-pack '/al;ice/proj'",
                        "rm -rf / ; git-upload-pack 'a/b'", "git-upload-packx 'a/b'"}) {
    std::string why;
    EXPECT_FALSE(parse_git_ssh_command(c, &why)) << c;
    EXPECT_FALSE(why.empty()) << c;
  }
  EXPECT_FALSE(parse_git_ssh_command("git-upload-pack '" + std::string(2000, 'a') + "/b'"));
}

TEST(SshHostKey, GeneratedOnceWithModeSixHundred) {
  guts::testing::TempDir tmp("sshhostkey");
  auto path = tmp.path() / "ssh_host_ed25519_key";
  auto line = ensure_ssh_host_key(path);
  EXPECT_EQ(line.rfind("ssh-ed25519 ", 0), 0u) << line;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ensure_ssh_host_key(path), line);  // loaded, not regenerated
  guts::testing::TempDir other("sshhostkey2");
  EXPECT_NE(ensure_ssh_host_key(other.path() / "k"), line);
}
