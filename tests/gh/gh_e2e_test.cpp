// The GitHub CLI (`gh`, Debian's 2.23) against a guts-node served over HTTPS with a test CA
// (docs/compat-gh.md): repo view, issue create/list/view, pr create/list/view/merge, auth
// status and gh api, checked through REST; and git's credential helper over HTTPS, unchanged.
// Skipped when gh is not installed.
#include <stdlib.h>

#include <fstream>

#include "tests/api/test_ca.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;
using testing::TestCa;

bool have_gh() {
  return run({"sh", "-c", "command -v gh"}).ok();
}

TEST(GhCli, RepoIssuesPullRequestsAndMergeOverTls) {
  if (!have_gh()) GTEST_SKIP() << "gh is not installed";
  TempDir root("gh-cli");
  TestCa ca(root / "ca");
  auto cert = ca.server("node", 1);
  ::setenv("GUTS_CA_FILE", ca.ca_file().c_str(), 1);
  ::setenv("GIT_SSL_CAINFO", ca.ca_file().c_str(), 1);
  Node node(root / "node",
            {"--tls-cert-file", cert.cert.string(), "--tls-key-file", cert.key.string()});
  node.scheme() = "https";
  node.start();
  const std::string host = "127.0.0.1:" + std::to_string(node.port());
  User alice(root.path(), "alice", node);
  alice.sign_up();
  auto created = alice.guts({"repo", "create", "hello"});
  ASSERT_TRUE(created.ok()) << created.both();

  // git over HTTPS with the stock credential helper (a store file): unchanged by gh.
  auto creds = root / "git-credentials";
  std::ofstream(creds) << "https://alice:" << alice.token() << "@" << host << "\n";
  const std::string helper = "credential.helper=store --file=" + creds.string();
  const std::string remote = "https://" + host + "/alice/hello.git";
  auto work = root / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  auto c1 = commit_file(alice, work, "README.md", "# hello\n", "first");
  auto r = alice.git({"-c", helper, "push", remote, "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(alice.git({"checkout", "-q", "-b", "feature"}, work).ok());
  commit_file(alice, work, "README.md", "# hello\nmore\n", "second change");
  r = alice.git({"-c", helper, "push", remote, "feature"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  // Without the helper, git asks for credentials and cannot: the push is refused.
  r = alice.git({"push", remote, "feature:other"}, work);
  EXPECT_FALSE(r.ok()) << r.both();

  // gh: GH_HOST names the node, GH_ENTERPRISE_TOKEN is a guts token, SSL_CERT_FILE the CA.
  fs::create_directories(root / "gh-tmp");
  Env gh_env = alice.env();
  gh_env.insert(gh_env.end(), {{"GH_HOST", host},
                               {"GH_ENTERPRISE_TOKEN", alice.token()},
                               {"SSL_CERT_FILE", ca.ca_file().string()},
                               {"GH_CONFIG_DIR", (root / "gh-config").string()},
                               {"TMPDIR", (root / "gh-tmp").string()},  // gh's response cache
                               {"GH_NO_UPDATE_NOTIFIER", "1"},
                               {"GH_PROMPT_DISABLED", "1"},
                               {"NO_COLOR", "1"},
                               {"GH_PAGER", "cat"}});
  auto gh = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "gh");
    auto res = run(args, gh_env, work, "", std::chrono::seconds(120));
    return res;
  };

  auto g = gh({"auth", "status"});
  EXPECT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out + g.err, HasSubstr("Logged in to " + host + " as alice"));

  g = gh({"repo", "view", "alice/hello"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("name:\talice/hello"));

  g = gh({"issue", "create", "-R", "alice/hello", "-t", "First issue", "-b", "the body"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("/alice/hello/issues/1"));
  std::string body;
  ASSERT_EQ(alice.api("GET", "/api/v3/repos/alice/hello/issues/1", "", &body), 200);
  auto issue = nlohmann::json::parse(body);
  EXPECT_EQ(issue["title"], "First issue");
  EXPECT_EQ(issue["body"], "the body");
  EXPECT_EQ(issue["user"]["login"], "alice");

  g = gh({"issue", "list", "-R", "alice/hello"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("First issue"));
  g = gh({"issue", "view", "1", "-R", "alice/hello"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("title:\tFirst issue"));
  EXPECT_THAT(g.out, HasSubstr("the body"));

  g = gh({"pr", "create", "-R", "alice/hello", "--head", "feature", "--base", "main", "-t",
          "A change", "-b", "pr body"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("/alice/hello/pull/2"));
  g = gh({"pr", "list", "-R", "alice/hello"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("A change"));
  g = gh({"pr", "view", "2", "-R", "alice/hello"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_THAT(g.out, HasSubstr("state:\tOPEN"));
  EXPECT_THAT(g.out, HasSubstr("pr body"));

  g = gh({"pr", "merge", "2", "-R", "alice/hello", "--squash"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  ASSERT_EQ(alice.api("GET", "/api/v3/repos/alice/hello/pulls/2", "", &body), 200);
  auto pull = nlohmann::json::parse(body);
  EXPECT_EQ(pull["merged"], true);
  EXPECT_EQ(pull["merge_method"], "squash");
  ASSERT_EQ(alice.api("GET", "/api/v3/repos/alice/hello/branches/main", "", &body), 200);
  EXPECT_NE(nlohmann::json::parse(body)["commit"]["sha"], c1);
  g = gh({"pr", "view", "2", "-R", "alice/hello"});
  EXPECT_THAT(g.out, HasSubstr("state:\tMERGED"));

  // gh api: REST and GraphQL as they are.
  g = gh({"api", "repos/alice/hello", "--jq", ".full_name"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_EQ(trim(g.out), "alice/hello");
  g = gh({"api", "graphql", "-f", "query={ viewer { login } }", "--jq", ".data.viewer.login"});
  ASSERT_TRUE(g.ok()) << g.out << g.err;
  EXPECT_EQ(trim(g.out), "alice");
  // An unsupported field is a GraphQL error naming it.
  g = gh({"api", "graphql", "-f", "query={ viewer { sponsorsListing { id } } }"});
  EXPECT_FALSE(g.ok());
  EXPECT_THAT(g.out + g.err, HasSubstr("sponsorsListing"));

  // A token without scopes reads public data but cannot write: the REST route's scope check.
  auto minted = alice.guts({"token", "create", "--note", "read only"});
  ASSERT_TRUE(minted.ok()) << minted.both();
  auto at = minted.out.find("guts_");
  ASSERT_NE(at, std::string::npos) << minted.out;
  std::string weak = minted.out.substr(at, minted.out.find_first_of(" \n", at) - at);
  for (auto& [k, v] : gh_env)
    if (k == "GH_ENTERPRISE_TOKEN") v = weak;
  g = gh({"issue", "list", "-R", "alice/hello"});
  EXPECT_TRUE(g.ok()) << g.out << g.err;
  g = gh({"issue", "create", "-R", "alice/hello", "-t", "Refused", "-b", "x"});
  EXPECT_FALSE(g.ok());
  EXPECT_THAT(g.out + g.err, HasSubstr("lacks the scope"));
  EXPECT_EQ(alice.api("GET", "/api/v3/repos/alice/hello/issues/3", "", &body), 404);

  // The pushes still work with the helper after all this.
  r = alice.git({"-c", helper, "fetch", remote, "main"}, work);
  EXPECT_TRUE(r.ok()) << r.both();
  node.stop();
}

}  // namespace
}  // namespace guts::e2e
