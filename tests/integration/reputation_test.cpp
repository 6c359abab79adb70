// Reputation against a real node (docs/reputation.md): a fresh identity over the door's rate
// limit gets 429 with Retry-After; a repository's interaction limit refuses an issue from a
// low-reputation user and accepts one from a collaborator; the scores over REST and the CLI.
#include <gtest/gtest.h>

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
cli::HttpClient client_of(const NodeProcess& node, const CliUser& u) {
  cli::HttpClient c(node.url());
  c.set_token(u.token());
  return c;
}
}  // namespace

TEST(ReputationNode, DoorLimitAndInteractionLimit) {
  TempDir tmp("reputation");  // removed when the test ends
  const auto& dir = tmp.path();
  // Every identity starts at reputation 0 (< 10): 6 transactions at once, then one a minute.
  NodeProcess node(dir / "node", {"--door-limit-burst", "6", "--door-limit-per-minute", "1"});
  node.start();
  CliUser alice(dir / "alice", node.url()), bob(dir / "bob", node.url()),
      carol(dir / "carol", node.url()), dave(dir / "dave", node.url());
  for (auto* u : {&alice, &bob, &carol, &dave}) expect_ok(u->guts({"identity", "new"}), "identity");
  expect_ok(alice.guts({"auth", "login", "--username", "alice"}), "alice login");  // 2 txs
  expect_ok(bob.guts({"auth", "login", "--username", "bob"}), "bob login");
  expect_ok(carol.guts({"auth", "login", "--username", "carol"}), "carol login");
  expect_ok(dave.guts({"auth", "login", "--username", "dave"}), "dave login");

  // The door: dave's 4 repositories pass (2 + 4 = 6), the 5th is 429 with Retry-After.
  auto d = client_of(node, dave);
  for (int i = 0; i < 4; ++i) {
    auto r = d.post("/api/v3/user/repos", json{{"name", "r" + std::to_string(i)}}.dump());
    ASSERT_EQ(r.status, 201) << r.body;
  }
  auto limited = d.post("/api/v3/user/repos", json{{"name", "r4"}}.dump());
  EXPECT_EQ(limited.status, 429) << limited.body;
  int retry = std::atoi(limited.header("retry-after").c_str());
  EXPECT_GE(retry, 1) << limited.header("retry-after");
  EXPECT_LE(retry, 60);
  EXPECT_NE(json::parse(limited.body)["message"].get<std::string>().find("retry after"),
            std::string::npos)
      << limited.body;
  // The CLI prints the reason.
  auto r = dave.guts({"repo", "create", "r5"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("too many transactions"), std::string::npos) << r.err;

  // Interaction limit (consensus): alice's repository requires contributors (reputation 10).
  expect_ok(alice.guts({"repo", "create", "proj"}), "create proj");  // 3
  r = alice.guts({"repo", "interaction-limit", "set", "alice/proj", "contributors_only", "--json"});
  expect_ok(r, "set limit");  // 4
  auto limit = json::parse(r.out);
  EXPECT_EQ(limit["limit"], "contributors_only");
  EXPECT_EQ(limit["origin"], "repository");
  EXPECT_EQ(limit["min_reputation"], 10);
  EXPECT_TRUE(limit["expires_at"].is_string());
  auto a = client_of(node, alice);
  auto put =
      a.put("/api/v3/repos/alice/proj/collaborators/bob", json{{"permission", "push"}}.dump());
  ASSERT_TRUE(put.status == 201 || put.status == 204) << put.status << put.body;  // 5
  auto got = a.get("/api/v3/repos/alice/proj/interaction-limits");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["limit"], "contributors_only");

  auto c = client_of(node, carol);
  auto refused = c.post("/api/v3/repos/alice/proj/issues", json{{"title", "spam"}}.dump());
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("reputation of at least 10"), std::string::npos) << refused.body;
  auto b = client_of(node, bob);
  auto accepted = b.post("/api/v3/repos/alice/proj/issues", json{{"title", "real bug"}}.dump());
  EXPECT_EQ(accepted.status, 201) << accepted.body;
  // Only admins change it.
  EXPECT_EQ(c.del("/api/v3/repos/alice/proj/interaction-limits").status, 403);

  // Scores over REST and the CLI.
  auto rep = a.get("/api/guts/reputation/bob");
  ASSERT_EQ(rep.status, 200) << rep.body;
  auto j = json::parse(rep.body);
  EXPECT_EQ(j["score"], 0);
  EXPECT_TRUE(j["components"].contains("merged_pull_requests"));
  EXPECT_TRUE(j["components"].contains("age"));
  EXPECT_EQ(a.get("/api/guts/reputation/nobody").status, 404);
  auto per_repo = a.get("/api/guts/repos/alice/proj/reputation?user=bob");
  ASSERT_EQ(per_repo.status, 200) << per_repo.body;
  EXPECT_EQ(json::parse(per_repo.body)["interaction_allowed"], true);
  EXPECT_EQ(
      json::parse(
          a.get("/api/guts/repos/alice/proj/reputation?user=carol").body)["interaction_allowed"],
      false);
  r = bob.guts({"reputation", "show", "carol", "--repo", "alice/proj"});
  expect_ok(r, "reputation show");
  EXPECT_NE(r.out.find("held back by the interaction limit"), std::string::npos) << r.out;
  r = bob.guts({"repo", "interaction-limit", "show", "alice/proj"});
  expect_ok(r, "limit show");
  EXPECT_NE(r.out.find("contributors_only (minimum reputation 10)"), std::string::npos) << r.out;
  node.stop();
}
