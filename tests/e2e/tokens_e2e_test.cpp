// Personal access tokens with scopes and REST rate limits (docs/api.md), against a real
// guts-node with the stock git client and HTTP: what a token may do is the intersection of its
// owner's permission and its scopes (and repositories); every authenticated response names the
// token's scopes; the REST budget counts down in X-RateLimit-* and refuses with 429 +
// Retry-After when spent, per token and per IP address; git is never counted.
#include "cli/http_client.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using nlohmann::json;

// POST /api/guts/tokens/personal with alice's login token; returns {token, id, ...}.
json mint(const User& u, const json& body) {
  std::string out;
  int st = u.api("POST", "/api/guts/tokens/personal", body.dump(), &out);
  if (st != 201) throw std::runtime_error("mint: " + std::to_string(st) + " " + out);
  return json::parse(out);
}

cli::HttpResult call(const Node& node, const std::string& token, const std::string& method,
                     const std::string& path, const std::string& body = "") {
  cli::HttpClient c(node.url());
  if (!token.empty()) c.set_token(token);
  return c.request(method, path, body);
}

// http://alice:<token>@host:port/<owner>/<repo>.git
std::string token_remote(const Node& node, const std::string& user, const std::string& token,
                         const std::string& owner, const std::string& repo) {
  auto url = node.url();
  return url.substr(0, 7) + user + ":" + token + "@" + url.substr(7) + "/" + owner + "/" + repo +
         ".git";
}

TEST_F(GitE2E, PersonalTokensAreLimitedByScopesAndRepositories) {
  create_repo(*alice_, "open");
  create_repo(*alice_, "secret", /*is_private=*/true);
  create_repo(*alice_, "other", /*is_private=*/true);
  auto work = local_repo(*alice_, "work");

  // A login token holds every scope and says so.
  auto me = call(*node_, alice_->token(), "GET", "/api/v3/user");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_NE(me.header("X-OAuth-Scopes").find("repo"), std::string::npos);
  EXPECT_NE(me.header("X-OAuth-Scopes").find("admin:org"), std::string::npos);

  // No scopes: reads public data, clones the public repository, cannot push to it.
  auto none = mint(*alice_, {{"note", "read only"}});
  const std::string ro = none["token"];
  auto pub = call(*node_, ro, "GET", "/api/v3/repos/alice/open");
  EXPECT_EQ(pub.status, 200) << pub.body;
  EXPECT_EQ(pub.header("X-OAuth-Scopes"), "");
  auto r = alice_->git({"clone", "-q", token_remote(*node_, "alice", ro, "alice", "open"),
                        dir("ro-clone").string()});
  EXPECT_TRUE(r.ok()) << r.both();
  r = alice_->git({"push", "-q", token_remote(*node_, "alice", ro, "alice", "open"), "main"}, work);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.both().find("403"), std::string::npos) << r.both();
  // ... nor read the private one (needs `repo`).
  auto priv = call(*node_, ro, "GET", "/api/v3/repos/alice/secret");
  EXPECT_EQ(priv.status, 403) << priv.body;
  EXPECT_EQ(priv.header("X-Accepted-OAuth-Scopes"), "repo");

  // public_repo: pushes to the public repository, still not the private one; cannot delete.
  auto pr = mint(*alice_, {{"note", "ci"}, {"scopes", {"public_repo"}}, {"expires_in_days", 7}});
  const std::string pt = pr["token"];
  EXPECT_TRUE(pr["expires_at"].is_string());
  r = alice_->git({"push", "-q", token_remote(*node_, "alice", pt, "alice", "open"), "main"}, work);
  EXPECT_TRUE(r.ok()) << r.both();
  r = alice_->git({"push", "-q", token_remote(*node_, "alice", pt, "alice", "secret"), "main"},
                  work);
  EXPECT_FALSE(r.ok());
  auto del = call(*node_, pt, "DELETE", "/api/v3/repos/alice/open");
  EXPECT_EQ(del.status, 403) << del.body;
  EXPECT_EQ(del.header("X-Accepted-OAuth-Scopes"), "delete_repo");
  EXPECT_EQ(call(*node_, "", "GET", "/api/v3/repos/alice/open").status, 200);  // still there

  // repo, limited to alice/secret: reaches it, and alice/other not at all (404, as anonymous).
  auto one = mint(*alice_,
                  {{"note", "one repo"}, {"scopes", {"repo"}}, {"repositories", {"alice/secret"}}});
  const std::string ot = one["token"];
  EXPECT_EQ(one["repositories"], json::array({"alice/secret"}));
  r = alice_->git({"push", "-q", token_remote(*node_, "alice", ot, "alice", "secret"), "main"},
                  work);
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(call(*node_, ot, "GET", "/api/v3/repos/alice/other").status, 404);
  EXPECT_EQ(call(*node_, ot, "GET", "/api/v3/repos/alice/secret").status, 200);

  // A personal token cannot mint or list tokens; bad requests change nothing.
  EXPECT_EQ(call(*node_, pt, "POST", "/api/guts/tokens/personal", R"({"note":"x"})").status, 403);
  EXPECT_EQ(call(*node_, pt, "GET", "/api/guts/tokens").status, 403);
  std::string out;
  EXPECT_EQ(
      alice_->api("POST", "/api/guts/tokens/personal", R"({"note":"x","scopes":["root"]})", &out),
      422)
      << out;
  EXPECT_EQ(
      alice_->api("POST", "/api/guts/tokens/personal", R"({"note":"x","expires_in_days":0})", &out),
      422);
  EXPECT_EQ(alice_->api("POST", "/api/guts/tokens/personal",
                        R"({"note":"x","repositories":["bob/nothing"]})", &out),
            422);

  // The CLI lists them (login + 3 personal) and revokes one; it stops working at once.
  auto listed = alice_->guts({"token", "list", "--json"});
  ASSERT_TRUE(listed.ok()) << listed.both();
  auto all = json::parse(listed.out);
  EXPECT_EQ(all.size(), 4u) << all.dump();
  auto revoked = alice_->guts({"token", "revoke", pr["id"].get<std::string>()});
  ASSERT_TRUE(revoked.ok()) << revoked.both();
  EXPECT_EQ(call(*node_, pt, "GET", "/api/v3/user").status, 401);
  EXPECT_EQ(alice_->guts({"token", "revoke", pr["id"].get<std::string>()}).ok(), false);
  auto created = alice_->guts({"token", "create", "--note", "cli", "-s", "read:org", "--json"});
  ASSERT_TRUE(created.ok()) << created.both();
  EXPECT_EQ(json::parse(created.out)["scopes"], json::array({"read:org"}));
}

TEST_F(GitE2E, RestRateLimitsPerIpAndPerTokenWithGitNotCounted) {
  // A node of its own with small budgets, and a user of it.
  Node node(dir("limited-node"),
            {"--rate-limit-anonymous", "3", "--rate-limit-authenticated", "5"});
  node.start();
  User bob(dir("people"), "bob", node);
  bob.sign_up();
  ASSERT_TRUE(bob.guts({"repo", "create", "limited"}).ok());
  auto work = local_repo(bob, "work");

  // What is left of a budget, without spending it (GET /rate_limit is not counted).
  auto left = [&](const std::string& token) {
    auto rl = call(node, token, "GET", "/api/v3/rate_limit");
    EXPECT_EQ(rl.status, 200) << rl.body;
    return json::parse(rl.body)["resources"]["core"]["remaining"].get<int>();
  };

  // Anonymous: counted down to 0 (the CLI's own calls above used bob's token, not this budget).
  int anon = left("");
  ASSERT_EQ(anon, 3);
  for (int i = 1; i <= 3; ++i) {
    auto res = call(node, "", "GET", "/api/v3/repos/bob/limited");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("X-RateLimit-Limit"), "3");
    EXPECT_EQ(res.header("X-RateLimit-Remaining"), std::to_string(3 - i));
    EXPECT_EQ(res.header("X-RateLimit-Used"), std::to_string(i));
    EXPECT_FALSE(res.header("X-RateLimit-Reset").empty());
  }
  // The next is refused with Retry-After, and runs nothing.
  auto refused = call(node, "", "GET", "/api/v3/repos/bob/limited");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.header("X-RateLimit-Remaining"), "0");
  int retry = std::stoi(refused.header("Retry-After"));
  EXPECT_GT(retry, 3000);
  EXPECT_LE(retry, 3600);
  EXPECT_NE(refused.body.find("rate limit exceeded"), std::string::npos) << refused.body;
  auto rl = json::parse(call(node, "", "GET", "/api/v3/rate_limit").body);
  EXPECT_EQ(rl["resources"]["core"]["limit"], 3);
  EXPECT_EQ(rl["rate"]["used"], 3);
  // git and /api/guts are not counted: pushes and an anonymous clone still work.
  auto r = bob.git({"push", "-q", bob.remote("bob", "limited"), "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  r = bob.git({"clone", "-q", bob.anonymous_remote("bob", "limited"), dir("anon").string()});
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(call(node, "", "GET", "/api/guts/status").status, 200);

  // A token has its own budget of 5 (part of it spent by the CLI above).
  int mine = left(bob.token());
  ASSERT_GT(mine, 0);
  ASSERT_LE(mine, 5);
  for (int i = 0; i < mine; ++i) {
    auto res = call(node, bob.token(), "GET", "/api/v3/user");
    ASSERT_EQ(res.status, 200) << i << " " << res.body;
    EXPECT_EQ(res.header("X-RateLimit-Limit"), "5");
  }
  auto spent = call(node, bob.token(), "GET", "/api/v3/user");
  EXPECT_EQ(spent.status, 429);
  EXPECT_FALSE(spent.header("Retry-After").empty());
  node.stop();
}

TEST_F(GitE2E, EveryRestGetAnswersWithAnETagAndHonoursIfNoneMatch) {
  create_repo(*alice_, "cond");
  auto work = local_repo(*alice_, "work");
  auto r = alice_->git({"push", "-q", alice_->remote("alice", "cond"), "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  const std::string token = alice_->token();
  for (std::string path :
       {"/api/v3/repos/alice/cond", "/api/v3/user", "/api/v3/users/alice",
        "/api/v3/repos/alice/cond/branches", "/api/v3/users/alice/repos", "/api/v3/user/repos",
        "/api/v3/repos/alice/cond/commits", "/api/v3/rate_limit"}) {
    auto first = call(*node_, token, "GET", path);
    ASSERT_EQ(first.status, 200) << path << " " << first.body;
    auto tag = first.header("ETag");
    ASSERT_FALSE(tag.empty()) << path;
    cli::HttpClient c(node_->url());
    c.set_token(token);
    c.set_header("If-None-Match", tag);
    auto again = c.get(path);
    EXPECT_EQ(again.status, 304) << path;
    EXPECT_TRUE(again.body.empty()) << path;
    c.set_header("If-None-Match", "\"0000\"");
    EXPECT_EQ(c.get(path).status, 200) << path;
  }
  // A change makes a new tag: the old one no longer matches.
  auto before = call(*node_, token, "GET", "/api/v3/repos/alice/cond").header("ETag");
  ASSERT_EQ(alice_->api("PATCH", "/api/v3/repos/alice/cond", R"({"description":"changed"})"), 200);
  cli::HttpClient c(node_->url());
  c.set_token(token);
  c.set_header("If-None-Match", before);
  EXPECT_EQ(c.get("/api/v3/repos/alice/cond").status, 200);
}

}  // namespace
}  // namespace guts::e2e
