// Branch protection with the stock git client and the REST API (docs/governance.md "Branch
// protection"): git prints the state machine's reason as `! [remote rejected] <ref> (...)`.
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;

TEST_F(GitE2E, ProtectedBranchRefusesDirectForceAndDeletionAndCountsApprovals) {
  create_repo(*alice_, "prot");
  auto bob = make_user("bob");
  int added =
      alice_->api("PUT", "/api/v3/repos/alice/prot/collaborators/bob", R"({"permission":"push"})");
  ASSERT_TRUE(added == 201 || added == 204) << added;
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "prot")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main", "main:release/v1"}, a).ok());
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "topic"}, a).ok());
  commit_file(*alice_, a, "feature.txt", "feature\n", "add feature");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "topic"}, a).ok());
  ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, a).ok());

  std::string out;
  ASSERT_EQ(alice_->api("PUT", "/api/v3/repos/alice/prot/branches/main/protection",
                        R"({"required_status_checks":null,"enforce_admins":true,
                            "required_pull_request_reviews":{"required_approving_review_count":1},
                            "restrictions":null})",
                        &out),
            200)
      << out;
  ASSERT_EQ(alice_->api("PUT", "/api/v3/repos/alice/prot/branches/release%2F*/protection",
                        R"({"required_status_checks":null,"enforce_admins":true,
                            "required_pull_request_reviews":null,"restrictions":null})",
                        &out),
            200)
      << out;
  ASSERT_EQ(alice_->api("GET", "/api/v3/repos/alice/prot/branches/main", "", &out), 200);
  EXPECT_TRUE(nlohmann::json::parse(out)["protected"].get<bool>()) << out;

  // A direct push is refused with the rule's reason.
  commit_file(*alice_, a, "direct.txt", "x\n", "direct");
  auto r = alice_->git({"push", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(),
              HasSubstr("! [remote rejected] main -> main (protected branch: 1 approving review "
                        "required)"));
  // release/* takes direct pushes, but not a force push (history rewritten).
  r = alice_->git({"push", "origin", "main:release/v1"}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(alice_->git({"reset", "-q", "--hard", "HEAD~1"}, a).ok());
  commit_file(*alice_, a, "other.txt", "y\n", "rewritten");
  r = alice_->git({"push", "-f", "origin", "main:release/v1"}, a);
  EXPECT_THAT(r.both(),
              HasSubstr("! [remote rejected] main -> release/v1 (protected branch: force push "
                        "not allowed)"));
  // Deletion is refused.
  r = alice_->git({"push", "origin", ":release/v1"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(),
              HasSubstr("! [remote rejected] release/v1 (protected branch: deletion not allowed)"));

  // A merge through the API waits for the approval.
  ASSERT_EQ(alice_->api("POST", "/api/v3/repos/alice/prot/pulls",
                        R"({"title":"Feature","head":"topic","base":"main"})", &out),
            201)
      << out;
  int st = alice_->api("PUT", "/api/v3/repos/alice/prot/pulls/1/merge", "{}", &out);
  EXPECT_NE(st, 200);
  EXPECT_THAT(out, HasSubstr("not mergeable"));  // the API answers GitHub's 405 message
  ASSERT_EQ(
      bob.api("POST", "/api/v3/repos/alice/prot/pulls/1/reviews", R"({"event":"APPROVE"})", &out),
      200)
      << out;
  st = alice_->api("PUT", "/api/v3/repos/alice/prot/pulls/1/merge", "{}", &out);
  EXPECT_EQ(st, 200) << out;
}

}  // namespace
}  // namespace guts::e2e
