// Quorum decisions end to end (docs/governance.md §8): three maintainers and a 2-of-3 policy on
// moving the protected main branch. The stock git client sees the direct push refused with the
// state machine's reason, the REST merge is refused too, and a proposal by one maintainer
// approved by a second moves the branch (visible with `git ls-remote`); a rejected and an
// expired proposal change nothing; a non-maintainer's vote is 403.
#include <chrono>
#include <thread>

#include "core/time.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string remote_main(const User& u, const std::string& url) {
  for (const auto& [ref, sha] : ls_remote(u, url))
    if (ref == "refs/heads/main") return sha;
  return "";
}

TEST_F(GitE2E, QuorumProposalMovesProtectedBranch) {
  create_repo(*alice_, "q");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto dave = make_user("dave");  // reads the public repository, maintains nothing
  for (const char* who : {"bob", "carol"}) {
    int st = alice_->api("PUT", std::string("/api/v3/repos/alice/q/collaborators/") + who,
                         R"({"permission":"maintain"})");
    ASSERT_TRUE(st == 201 || st == 204) << st;
  }
  auto a = local_repo(*alice_, "a");
  const std::string url = alice_->remote("alice", "q");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", url}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  const std::string base = rev_parse(*alice_, a, "main");
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "topic"}, a).ok());
  // A workflow that runs on pushes to main: the quorum's move of main requests its run.
  commit_file(*alice_, a, ".guts/workflows/ci.yml",
              "on:\n  push:\n    branches: [main]\njobs:\n  t:\n    runs-on: x\n    steps:\n"
              "      - run: true\n",
              "ci");
  const std::string topic = commit_file(*alice_, a, "feature.txt", "feature\n", "add feature");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "topic"}, a).ok());

  std::string out;
  ASSERT_EQ(alice_->api("PUT", "/api/v3/repos/alice/q/branches/main/protection",
                        R"({"required_status_checks":null,"enforce_admins":null,
                            "required_pull_request_reviews":null,"restrictions":null})",
                        &out),
            200)
      << out;

  // A threshold no quorum can reach is a field error, and nothing is set.
  ASSERT_EQ(alice_->api("PUT", "/api/guts/repos/alice/q/quorum",
                        R"({"rules":[{"action":"merge_protected_branch","threshold":4}]})", &out),
            422)
      << out;
  EXPECT_THAT(out, HasSubstr("threshold"));
  ASSERT_EQ(alice_->api("GET", "/api/guts/repos/alice/q/quorum", "", &out), 200);
  EXPECT_TRUE(json::parse(out)["rules"].empty()) << out;
  // A non-maintainer cannot set the policy.
  EXPECT_EQ(dave.api("PUT", "/api/guts/repos/alice/q/quorum",
                     R"({"rules":[{"action":"merge_protected_branch","threshold":1}]})"),
            403);
  // The 2-of-3 policy, through the CLI.
  auto r = alice_->guts({"quorum", "set", "-R", "alice/q", "--rule", "merge_protected_branch=2"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.out, HasSubstr("merge_protected_branch: 2 of 3 maintainers"));

  // The direct push is refused by the state machine; git prints the reason.
  ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, a).ok());
  ASSERT_TRUE(alice_->git({"merge", "-q", "--ff-only", "topic"}, a).ok());
  r = alice_->git({"push", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("! [remote rejected] main -> main (merge_protected_branch "
                                  "requires a proposal approved by 2 of 3 maintainers"));
  EXPECT_EQ(remote_main(*alice_, url), base);
  // A pull request into main.
  ASSERT_EQ(alice_->api("POST", "/api/v3/repos/alice/q/pulls",
                        R"({"title":"Feature","head":"topic","base":"main"})", &out),
            201)
      << out;
  // The REST merge of a pull request into main becomes a proposal (202, alice's approval);
  // she withdraws it here (merging by quorum: tests/octokit/quorum_merge.mjs).
  EXPECT_EQ(alice_->api("PUT", "/api/v3/repos/alice/q/pulls/1/merge", "{}", &out), 202) << out;
  EXPECT_THAT(out, HasSubstr("requires a proposal"));
  const std::string merge_id = std::to_string(json::parse(out)["proposal"]["id"].get<uint64_t>());
  ASSERT_EQ(alice_->api("POST", "/api/guts/proposals/" + merge_id + "/cancel", "{}", &out), 200)
      << out;
  EXPECT_EQ(remote_main(*alice_, url), base);

  // Alice proposes (her signature is the first approval), dave may not vote, bob's approval
  // executes the move.
  r = alice_->guts({"proposal", "create", "-R", "alice/q", "--title", "Ship the feature",
                    "--action", "merge_protected_branch", "--branch", "main", "--head", "topic",
                    "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  auto p = json::parse(r.out);
  const std::string id = std::to_string(p["id"].get<uint64_t>());
  EXPECT_EQ(p["state"], "open");
  EXPECT_EQ(p["approvals"], 1);
  EXPECT_EQ(p["threshold"], 2);
  EXPECT_EQ(dave.api("POST", "/api/guts/proposals/" + id + "/approve", "{}", &out), 403) << out;
  EXPECT_EQ(bob.api("POST", "/api/guts/proposals/999/approve", "{}"), 404);
  EXPECT_EQ(remote_main(*alice_, url), base);
  r = bob.guts({"proposal", "approve", id, "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(json::parse(r.out)["state"], "executed") << r.out;
  EXPECT_EQ(remote_main(*alice_, url), topic);
  // The vote that moved main requested the push run at the new tip (api/ci_trigger.h).
  EXPECT_TRUE(wait_until(
      [&] {
        std::string runs;
        return alice_->api("GET", "/api/v3/repos/alice/q/actions/runs?event=push&head_sha=" + topic,
                           "", &runs) == 200 &&
               json::parse(runs)["total_count"].get<int>() == 1;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100)))
      << node_->log();
  r = carol.guts({"proposal", "show", id});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.out, HasSubstr("executed"));
  EXPECT_THAT(r.out, HasSubstr("bob approved"));

  // A second proposal rejected by bob and carol does nothing; a vote after that is a conflict.
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "topic2"}, a).ok());
  const std::string topic2 = commit_file(*alice_, a, "more.txt", "more\n", "more");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "topic2"}, a).ok());
  ASSERT_EQ(alice_->api("POST", "/api/guts/repos/alice/q/proposals",
                        R"({"title":"More","action":{"type":"merge_protected_branch",
                            "branch":"main","head":"topic2"}})",
                        &out),
            201)
      << out;
  const std::string id2 = std::to_string(json::parse(out)["id"].get<uint64_t>());
  ASSERT_TRUE(bob.guts({"proposal", "reject", id2}).ok());
  r = carol.guts({"proposal", "reject", id2, "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(json::parse(r.out)["state"], "rejected") << r.out;
  EXPECT_EQ(bob.api("POST", "/api/guts/proposals/" + id2 + "/approve", "{}"), 409);
  EXPECT_EQ(remote_main(*alice_, url), topic);

  // A third one expires unapproved: a late approval is refused and main stays.
  const std::string soon = iso8601(unix_millis() + 4000);
  ASSERT_EQ(
      alice_->api("POST", "/api/guts/repos/alice/q/proposals",
                  R"({"title":"Later","expires_at":")" + soon +
                      R"(","action":{"type":"merge_protected_branch","branch":"main","sha":")" +
                      topic2 + R"("}})",
                  &out),
      201)
      << out;
  const std::string id3 = std::to_string(json::parse(out)["id"].get<uint64_t>());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(bob.api("GET", "/api/guts/proposals/" + id3, "", &out), 200);
    state = json::parse(out)["state"].get<std::string>();
    if (state == "expired") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(state, "expired");
  EXPECT_EQ(bob.api("POST", "/api/guts/proposals/" + id3 + "/approve", "{}", &out), 409) << out;
  EXPECT_EQ(remote_main(*alice_, url), topic);

  // Listing: filters by repository and state.
  ASSERT_EQ(carol.api("GET", "/api/guts/proposals?repo=alice/q&state=executed", "", &out), 200);
  auto list = json::parse(out);
  ASSERT_EQ(list.size(), 1u) << out;
  EXPECT_EQ(list[0]["id"].get<uint64_t>(), std::stoull(id));
  r = alice_->guts({"proposal", "list", "-R", "alice/q"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.out, HasSubstr("(rejected"));
  EXPECT_THAT(r.out, HasSubstr("(expired"));
}

}  // namespace
}  // namespace guts::e2e
