// The CLI against a real node: identity, login (username + delegation + token), repositories,
// privacy between users, logout, and restart with identical state.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "tests/support/node_harness.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;

namespace {
void expect_ok(const CmdResult& r, const std::string& what) {
  ASSERT_EQ(r.code, 0) << what << "\nstdout: " << r.out << "\nstderr: " << r.err;
}
}  // namespace

TEST(Cli, IdentityLoginReposPrivacyAndLogout) {
  auto dir = unique_temp_dir("cli");
  NodeProcess node(dir / "node");
  node.start();
  CliUser alice(dir / "alice", node.url()), bob(dir / "bob", node.url());

  auto r = alice.guts({"identity", "show"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("guts identity new"), std::string::npos) << r.err;
  expect_ok(alice.guts({"identity", "new"}), "identity new");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "alice" / "identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  r = alice.guts({"identity", "show", "--json"});
  expect_ok(r, "identity show");
  std::string did = json::parse(r.out)["did"];
  EXPECT_EQ(did.rfind("did:key:z6Mk", 0), 0u);

  r = alice.guts({"auth", "login"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--username"), std::string::npos) << r.err;
  expect_ok(alice.guts({"auth", "login", "--username", "alice"}), "login");
  r = alice.guts({"auth", "status", "--json"});
  expect_ok(r, "auth status");
  EXPECT_EQ(json::parse(r.out)["username"], "alice");
  // Logging in again reuses the username and delegation.
  expect_ok(alice.guts({"auth", "login"}), "second login");

  expect_ok(bob.guts({"identity", "new"}), "bob identity");
  r = bob.guts({"auth", "login", "--username", "ALICE"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("already taken"), std::string::npos) << r.err;
  expect_ok(bob.guts({"auth", "login", "--username", "bob"}), "bob login");

  expect_ok(alice.guts({"repo", "create", "hello", "-d", "first repo"}), "create");
  r = alice.guts({"repo", "create", "hello"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  expect_ok(alice.guts({"repo", "create", "secret", "--private"}), "create private");

  r = alice.guts({"repo", "list", "--json"});
  expect_ok(r, "list");
  auto mine = json::parse(r.out);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0]["full_name"], "alice/hello");
  EXPECT_EQ(mine[1]["private"], true);

  // Bob sees only the public repository; the private one does not exist for him.
  r = bob.guts({"repo", "list", "alice", "--json"});
  expect_ok(r, "bob list");
  EXPECT_EQ(json::parse(r.out).size(), 1u);
  r = bob.guts({"repo", "show", "alice/secret"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("Not Found"), std::string::npos) << r.err;
  r = bob.guts({"repo", "delete", "alice/hello", "--yes"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("admin"), std::string::npos) << r.err;

  r = alice.guts({"repo", "show", "alice/hello", "--json"});
  expect_ok(r, "show");
  auto repo = json::parse(r.out);
  EXPECT_EQ(repo["description"], "first repo");
  EXPECT_EQ(repo["owner"]["login"], "alice");
  EXPECT_EQ(repo["clone_url"], node.url() + "/alice/hello.git");
  EXPECT_EQ(repo["permissions"]["admin"], true);

  // Deletion asks for confirmation.
  r = alice.guts({"repo", "delete", "alice/hello"}, "wrong\n");
  EXPECT_NE(r.code, 0);
  expect_ok(alice.guts({"repo", "delete", "alice/hello"}, "alice/hello\n"), "delete");
  r = alice.guts({"repo", "show", "alice/hello"});
  EXPECT_NE(r.code, 0);

  // Bob revokes the node's delegation with his identity key (`guts auth revoke`, the way out
  // when a node's key is compromised): the node can no longer write for him.
  r = bob.guts({"status", "--json"});
  expect_ok(r, "bob status");
  std::string node_did = json::parse(r.out)["node_did"];
  expect_ok(bob.guts({"auth", "revoke", node_did}), "revoke");
  r = bob.guts({"repo", "create", "after-revoke"});
  EXPECT_NE(r.code, 0) << r.out;
  r = bob.guts({"auth", "revoke", node_did});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("holds no delegation"), std::string::npos) << r.err;
  r = bob.guts({"auth", "revoke", "did:key:nonsense"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not a did:key"), std::string::npos) << r.err;

  // Logout revokes the token and the delegation: the old token no longer works.
  std::string token = alice.token();
  expect_ok(alice.guts({"auth", "logout"}), "logout");
  cli::HttpClient client(node.url());
  client.set_token(token);
  EXPECT_EQ(client.get("/api/v3/user").status, 401);
  r = alice.guts({"repo", "create", "after-logout"});
  EXPECT_NE(r.code, 0);

  auto status = alice.guts({"status", "--json"});
  expect_ok(status, "status");
  auto before = json::parse(status.out);
  EXPECT_GE(before["height"].get<int>(), 8);

  // A clean restart comes back at the same height and state root, and the chain replays.
  node.stop();
  node.start();
  CliUser again(dir / "alice", node.url());
  auto after = json::parse(again.guts({"status", "--json"}).out);
  EXPECT_EQ(after["height"], before["height"]);
  EXPECT_EQ(after["state_root"], before["state_root"]);
  node.stop();
  r = run({(bin_dir() / "guts-node").string(), "check", "--data-dir", (dir / "node").string()});
  expect_ok(r, "guts-node check");
  EXPECT_NE(r.out.find(before["state_root"].get<std::string>()), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, ImportOpenSshKey) {
  auto dir = unique_temp_dir("import");
  auto key = dir / "id_ed25519";
  ASSERT_EQ(run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.string()}).code, 0);
  CliUser u(dir / "home", "http://127.0.0.1:1");
  auto r = u.guts({"identity", "import", key.string(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto did = json::parse(r.out)["did"].get<std::string>();
  EXPECT_EQ(json::parse(u.guts({"identity", "show", "--json"}).out)["did"], did);
  r = u.guts({"identity", "import", key.string()});
  EXPECT_NE(r.code, 0);  // refuses to overwrite
  auto enc = dir / "enc";
  ASSERT_EQ(run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", enc.string()}).code,
            0);
  r = u.guts({"identity", "import", enc.string(), "--force"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("encrypted"), std::string::npos) << r.err;
  // Unreachable node: a clear error, not a crash.
  r = u.guts({"status"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("cannot reach node"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}
