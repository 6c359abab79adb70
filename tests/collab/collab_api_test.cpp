// Collaboration against a running node: the gh-like CLI (guts issue / pr / repo fork) end to
// end, and bad input over raw HTTP (404, 401, 403, 405, 409, 422 with field errors, invalid
// UTF-8), each checked to change nothing.
#include "cli/http_client.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class Collab : public GitE2E {
 protected:
  void SetUp() override {
    GitE2E::SetUp();
    if (HasFatalFailure()) return;
    bob_ = std::make_unique<User>(make_user("bob"));
    create_repo(*alice_, "proj");
    work_ = local_repo(*alice_, "alice-proj");
    ASSERT_TRUE(
        alice_->git({"remote", "add", "origin", alice_->remote("alice", "proj")}, work_).ok());
    auto r = alice_->git({"push", "-q", "origin", "main"}, work_);
    ASSERT_TRUE(r.ok()) << r.both();
  }

  cli::HttpResult call(const User* u, const std::string& method, const std::string& path,
                       const std::string& body = "") {
    cli::HttpClient c(node_->url());
    if (u) c.set_token(u->token());
    return c.request(method, "/api/v3/repos/alice/proj" + path, body);
  }
  json guts_json(const User& u, std::vector<std::string> args) {
    args.push_back("--json");
    auto r = u.guts(args);
    EXPECT_TRUE(r.ok()) << args[0] << " " << args[1] << ": " << r.both();
    return json::parse(r.out, nullptr, false);
  }
  // guts in a directory (commands that read the clone's origin or run git there).
  Cmd guts_in(const User& u, const fs::path& cwd, std::vector<std::string> args) {
    args.insert(args.begin(), (bin_dir() / "guts").string());
    return run(args, u.env(), cwd);
  }
  size_t issue_count() {
    auto r = call(nullptr, "GET", "/issues?state=all&per_page=100");
    return json::parse(r.body).size();
  }

  std::unique_ptr<User> bob_;
  fs::path work_;
};

TEST_F(Collab, CliIssuesForkPullRequestReviewMerge) {
  auto i = guts_json(*alice_, {"issue", "create", "-R", "alice/proj", "-t", "Crash", "-b",
                               "on start", "-l", "bug"});
  EXPECT_EQ(i["number"], 1);
  auto c = bob_->guts({"issue", "comment", "1", "-R", "alice/proj", "-b", "me too"});
  ASSERT_TRUE(c.ok()) << c.both();
  // Inside a clone, the repository comes from origin.
  auto lbl = guts_in(*alice_, work_, {"issue", "label", "1", "--add", "p1", "--add", "ui"});
  ASSERT_TRUE(lbl.ok()) << lbl.both();
  auto list = guts_json(*alice_, {"issue", "list", "-R", "alice/proj", "-l", "p1"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["labels"].size(), 3u);
  auto view = alice_->guts({"issue", "view", "1", "-R", "alice/proj", "--comments"});
  EXPECT_THAT(view.out, HasSubstr("me too"));
  EXPECT_THAT(view.out, HasSubstr("Labels: bug, p1, ui"));
  auto closed =
      guts_json(*alice_, {"issue", "close", "1", "-R", "alice/proj", "-r", "not planned"});
  EXPECT_EQ(closed["state_reason"], "not_planned");
  EXPECT_EQ(guts_json(*alice_, {"issue", "reopen", "1", "-R", "alice/proj"})["state"], "open");
  // bob has no triage permission: the node refuses his labels.
  auto denied = bob_->guts({"issue", "label", "1", "-R", "alice/proj", "--add", "x"});
  EXPECT_FALSE(denied.ok());

  auto fork = guts_json(*bob_, {"repo", "fork", "alice/proj"});
  EXPECT_EQ(fork["full_name"], "bob/proj");
  auto clone = dir("bob-proj");
  auto r = bob_->git({"clone", "-q", bob_->remote("bob", "proj"), clone.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(bob_->git({"checkout", "-q", "-b", "feat"}, clone).ok());
  std::string head;
  for (int n = 0; n < 3; ++n)
    head = commit_file(*bob_, clone, "f" + std::to_string(n) + ".txt", "x\n",
                       "commit " + std::to_string(n));
  r = bob_->git({"push", "-q", "origin", "feat"}, clone);
  ASSERT_TRUE(r.ok()) << r.both();
  auto pr =
      guts_json(*bob_, {"pr", "create", "-R", "alice/proj", "-t", "Feature", "-H", "bob:feat"});
  ASSERT_EQ(pr["number"], 2);
  auto pv = guts_json(*alice_, {"pr", "view", "2", "-R", "alice/proj"});
  EXPECT_EQ(pv["mergeable"], true);
  EXPECT_EQ(pv["commits"], 3);
  auto diff = alice_->guts({"pr", "diff", "2", "-R", "alice/proj"});
  EXPECT_THAT(diff.out, HasSubstr("diff --git a/f0.txt b/f0.txt"));
  auto prs = guts_json(*alice_, {"pr", "list", "-R", "alice/proj"});
  ASSERT_EQ(prs.size(), 1u);
  // Checking out the pull request in alice's clone fetches bob's branch.
  auto co = guts_in(*alice_, work_, {"pr", "checkout", "2"});
  ASSERT_TRUE(co.ok()) << co.both();
  EXPECT_EQ(rev_parse(*alice_, work_, "HEAD"), head);
  ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, work_).ok());

  auto rv =
      guts_json(*alice_, {"pr", "review", "2", "-R", "alice/proj", "--approve", "-b", "LGTM"});
  EXPECT_EQ(rv["state"], "APPROVED");
  auto m =
      guts_json(*alice_, {"pr", "merge", "2", "-R", "alice/proj", "--squash", "--delete-branch"});
  ASSERT_TRUE(m["merged"].get<bool>());
  EXPECT_EQ(m["delete_branch_status"], 403);  // bob's fork: only bob may delete it
  cli::HttpClient bc(node_->url());
  bc.set_token(bob_->token());
  EXPECT_EQ(bc.del("/api/v3/repos/bob/proj/git/refs/heads/feat").status, 204);
  ASSERT_TRUE(alice_->git({"pull", "-q", "origin", "main"}, work_).ok());
  EXPECT_EQ(rev_parse(*alice_, work_, "HEAD"), m["sha"].get<std::string>());
  EXPECT_EQ(trim(alice_->git({"log", "-1", "--format=%s"}, work_).out), "Feature (#2)");
  EXPECT_EQ(trim(alice_->git({"rev-list", "--count", "HEAD"}, work_).out), "2");
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, fork["id"].get<uint64_t>()), "refs/heads/feat"), "");
  auto after = guts_json(*alice_, {"pr", "view", "2", "-R", "alice/proj"});
  EXPECT_EQ(after["merged"], true);
  EXPECT_EQ(after["merge_method"], "squash");
}

TEST_F(Collab, BadInputIsRejectedAndChangesNothing) {
  ASSERT_EQ(call(alice_.get(), "POST", "/issues", R"({"title":"first"})").status, 201);
  // Unknown repository or number: 404.
  cli::HttpClient c(node_->url());
  EXPECT_EQ(c.get("/api/v3/repos/alice/nope/issues").status, 404);
  EXPECT_EQ(call(nullptr, "GET", "/issues/77").status, 404);
  EXPECT_EQ(call(nullptr, "GET", "/pulls/1").status, 404);  // an issue, not a pull request
  EXPECT_EQ(call(alice_.get(), "POST", "/issues/77/comments", R"({"body":"x"})").status, 404);
  // Anonymous writes: 401; without permission: 403 (public repository) or 404 (private).
  EXPECT_EQ(call(nullptr, "POST", "/issues", R"({"title":"anon"})").status, 401);
  EXPECT_EQ(call(bob_.get(), "POST", "/labels", R"({"name":"x"})").status, 403);
  EXPECT_EQ(call(bob_.get(), "PUT", "/collaborators/bob", "{}").status, 403);
  create_repo(*alice_, "secret", true);
  cli::HttpClient bc(node_->url());
  bc.set_token(bob_->token());
  EXPECT_EQ(bc.post("/api/v3/repos/alice/secret/issues", R"({"title":"peek"})").status, 404);
  // 422 with field errors.
  auto bad_utf8 = call(alice_.get(), "POST", "/issues", "{\"title\":\"caf\xc3\x28\"}");
  EXPECT_EQ(bad_utf8.status, 422) << bad_utf8.body;
  auto j = json::parse(bad_utf8.body);
  EXPECT_EQ(j["message"], "Validation Failed");
  EXPECT_EQ(j["errors"][0]["field"], "title");
  auto huge = call(alice_.get(), "POST", "/issues",
                   json{{"title", "t"}, {"body", std::string(70000, 'b')}}.dump());
  EXPECT_EQ(huge.status, 422);
  EXPECT_EQ(json::parse(huge.body)["errors"][0]["field"], "body");
  auto long_title =
      call(alice_.get(), "POST", "/issues", json{{"title", std::string(300, 't')}}.dump());
  EXPECT_EQ(long_title.status, 422);
  EXPECT_EQ(call(alice_.get(), "POST", "/issues", R"({"body":"no title"})").status, 422);
  auto bad_label = call(alice_.get(), "POST", "/labels", R"({"name":"a,b","color":"zzzzzz"})");
  EXPECT_EQ(bad_label.status, 422);
  EXPECT_EQ(call(alice_.get(), "POST", "/labels", R"({"name":"ok","color":"12345"})").status, 422);
  EXPECT_EQ(call(alice_.get(), "PATCH", "/issues/1", R"({"state":"sideways"})").status, 422);
  EXPECT_EQ(call(alice_.get(), "POST", "/issues/1/comments", "{\"body\":\"\xff\"}").status, 422);
  EXPECT_EQ(call(alice_.get(), "POST", "/issues", "{not json").status, 400);
  EXPECT_EQ(issue_count(), 1u);
  EXPECT_EQ(json::parse(call(nullptr, "GET", "/labels").body).size(), 0u);
  EXPECT_EQ(json::parse(call(nullptr, "GET", "/issues/1/comments").body).size(), 0u);

  // Merge conflict: 405; stale head: 409; nothing moves.
  commit_file(*alice_, work_, "README.md", "base\n", "base");
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "topic"}, work_).ok());
  commit_file(*alice_, work_, "README.md", "topic\n", "topic");
  ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, work_).ok());
  commit_file(*alice_, work_, "README.md", "main\n", "main");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main", "topic"}, work_).ok());
  auto pr = call(alice_.get(), "POST", "/pulls", R"({"title":"t","head":"topic","base":"main"})");
  ASSERT_EQ(pr.status, 201) << pr.body;
  EXPECT_EQ(json::parse(pr.body)["mergeable"], false);
  auto main_before = bare_ref(bare_repo_dir(*node_, 1), "refs/heads/main");
  auto conflict = call(alice_.get(), "PUT", "/pulls/2/merge", "{}");
  EXPECT_EQ(conflict.status, 405);
  EXPECT_EQ(json::parse(conflict.body)["message"], "Pull Request is not mergeable");
  EXPECT_EQ(call(alice_.get(), "PUT", "/pulls/2/merge", json{{"sha", std::string(40, 'a')}}.dump())
                .status,
            409);
  EXPECT_EQ(call(alice_.get(), "PUT", "/pulls/2/merge", R"({"merge_method":"octopus"})").status,
            422);
  EXPECT_EQ(call(bob_.get(), "PUT", "/pulls/2/merge", "{}").status, 403);
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, 1), "refs/heads/main"), main_before);
  EXPECT_EQ(json::parse(call(nullptr, "GET", "/pulls/2").body)["merged"], false);
  // A pull request with nothing to merge is refused up front.
  EXPECT_EQ(
      call(alice_.get(), "POST", "/pulls", R"({"title":"t","head":"main","base":"topic"})").status,
      201);
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main:empty"}, work_).ok());
  EXPECT_EQ(
      call(alice_.get(), "POST", "/pulls", R"({"title":"t","head":"empty","base":"main"})").status,
      422);
}

TEST_F(Collab, PaginationEtagsAndCollaboratorsOnThePushPath) {
  for (int n = 0; n < 7; ++n)
    ASSERT_EQ(
        call(alice_.get(), "POST", "/issues", json{{"title", "issue " + std::to_string(n)}}.dump())
            .status,
        201);
  auto page = call(nullptr, "GET", "/issues?per_page=3&page=2");
  ASSERT_EQ(page.status, 200);
  auto items = json::parse(page.body);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]["number"], 4);  // newest first: 7 6 5 | 4 3 2 | 1
  EXPECT_THAT(page.header("link"), HasSubstr("page=3>; rel=\"next\""));
  EXPECT_THAT(page.header("link"), HasSubstr("rel=\"prev\""));
  auto asc = json::parse(call(nullptr, "GET", "/issues?per_page=3&page=1&direction=asc").body);
  EXPECT_EQ(asc[0]["number"], 1);
  auto etag = page.header("etag");
  ASSERT_FALSE(etag.empty());
  cli::HttpClient c(node_->url());
  c.set_header("If-None-Match", etag);
  EXPECT_EQ(c.get("/api/v3/repos/alice/proj/issues?per_page=3&page=2").status, 304);
  ASSERT_EQ(call(alice_.get(), "POST", "/issues", R"({"title":"new"})").status, 201);
  EXPECT_EQ(c.get("/api/v3/repos/alice/proj/issues?per_page=3&page=2").status, 200);  // changed

  // Collaborators: bob cannot push until alice gives him write; the same permission check.
  auto clone = dir("bob-clone");
  ASSERT_TRUE(bob_->git({"clone", "-q", bob_->remote("alice", "proj"), clone.string()}).ok());
  commit_file(*bob_, clone, "bob.txt", "hi\n", "bob");
  EXPECT_FALSE(bob_->git({"push", "-q", "origin", "main"}, clone).ok());
  EXPECT_EQ(call(alice_.get(), "PUT", "/collaborators/bob", R"({"permission":"push"})").status,
            201);
  EXPECT_EQ(call(alice_.get(), "PUT", "/collaborators/bob", R"({"permission":"maintain"})").status,
            204);
  auto perm = json::parse(call(alice_.get(), "GET", "/collaborators/bob/permission").body);
  EXPECT_EQ(perm["permission"], "write");
  EXPECT_EQ(perm["role_name"], "maintain");
  auto r = bob_->git({"push", "-q", "origin", "main"}, clone);
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(call(alice_.get(), "DELETE", "/collaborators/bob").status, 204);
  commit_file(*bob_, clone, "bob2.txt", "hi\n", "bob again");
  EXPECT_FALSE(bob_->git({"push", "-q", "origin", "main"}, clone).ok());
  EXPECT_EQ(json::parse(call(alice_.get(), "GET", "/collaborators").body).size(), 1u);
}

}  // namespace
}  // namespace guts::e2e
