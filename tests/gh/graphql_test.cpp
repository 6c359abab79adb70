// The GraphQL parser (bounds, syntax, fragments, variables) and the executor against a fake
// REST backend: field mapping, connections, node ids, mutations as REST writes, errors in
// GraphQL's shape, unknown fields refused before anything runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/graphql/executor.h"
#include "api/graphql/parser.h"

namespace guts::api::graphql {
namespace {

using ::testing::HasSubstr;

TEST(GraphqlParser, OperationsFieldsAliasesArgumentsVariablesFragments) {
  Document d = parse(R"(
    # a comment
    query RepositoryInfo($owner: String!, $name: String!, $n: Int = 3) {
      repository(owner: $owner, name: $name) {
        id, nameWithOwner
        alias: description
        issues(first: $n, states: [OPEN, CLOSED], orderBy: {field: CREATED_AT, direction: DESC}) {
          nodes { ...issue }
        }
        ... on Repository @include(if: true) { url }
      }
    }
    fragment issue on Issue { number title labels(first: 5) { nodes { name } } }
    mutation M { createIssue(input: {title: "t\u00e9\n", body: """  block
      text  """}) { issue { id } } }
  )");
  ASSERT_EQ(d.operations.size(), 2u);
  const Operation& q = d.operations[0];
  EXPECT_EQ(q.name, "RepositoryInfo");
  ASSERT_EQ(q.variables.size(), 3u);
  EXPECT_EQ(q.variables[0].type, "String!");
  EXPECT_TRUE(q.variables[0].non_null);
  EXPECT_EQ(q.variables[2].default_value, 3);
  const Selection& repo = q.selections.at(0);
  EXPECT_EQ(repo.name, "repository");
  EXPECT_EQ(repo.args.at(0).second, json({{"$var", "owner"}}));
  EXPECT_EQ(repo.selections.at(2).alias, "alias");
  EXPECT_EQ(repo.selections.at(2).name, "description");
  const Selection& issues = repo.selections.at(3);
  EXPECT_EQ(issues.args.at(1).second, json({"OPEN", "CLOSED"}));
  EXPECT_EQ(issues.args.at(2).second["field"], "CREATED_AT");
  EXPECT_EQ(issues.selections.at(0).selections.at(0).kind, Selection::kFragmentSpread);
  EXPECT_EQ(repo.selections.at(4).kind, Selection::kInlineFragment);
  EXPECT_EQ(repo.selections.at(4).type_condition, "Repository");
  EXPECT_EQ(repo.selections.at(4).directives.at(0).name, "include");
  ASSERT_TRUE(d.fragments.count("issue"));
  EXPECT_EQ(d.fragments.at("issue").type_condition, "Issue");
  const auto& input = d.operations[1].selections.at(0).args.at(0).second;
  EXPECT_EQ(input["title"], "t\xC3\xA9\n");
  EXPECT_EQ(input["body"], "  block\ntext  ");
  // The shorthand form.
  EXPECT_EQ(parse("{ viewer { login } }").operations.at(0).type, Operation::kQuery);
}

TEST(GraphqlParser, SyntaxErrorsCarryLineAndColumn) {
  auto error_at = [](std::string_view q) -> std::pair<std::string, Location> {
    try {
      parse(q);
    } catch (const ParseError& e) {
      return {e.what(), e.at};
    }
    return {"", {}};
  };
  auto e = error_at("query {\n  viewer { login\n");
  EXPECT_THAT(e.first, HasSubstr("expected a name"));
  EXPECT_EQ(e.second.line, 3u);
  EXPECT_THAT(error_at("").first, HasSubstr("empty"));
  EXPECT_THAT(error_at("{ a(x: \"unterminated) }").first, HasSubstr("unterminated string"));
  EXPECT_THAT(error_at("{ a(x: 01) }").first, HasSubstr("leading zero"));
  EXPECT_THAT(error_at("{ a(x: 1, x: 2) }").first, HasSubstr("given twice"));
  EXPECT_THAT(error_at("{ a {} }").first, HasSubstr("cannot be empty"));
  EXPECT_THAT(error_at("subscription { a }").first, HasSubstr("not supported"));
  EXPECT_THAT(error_at("fragment f on X { a } fragment f on X { b } { a }").first,
              HasSubstr("defined twice"));
  EXPECT_THAT(error_at("{ a(x: \"\\ud800\") }").first, HasSubstr("surrogate"));
  EXPECT_THAT(error_at("{ a(x: 99999999999999999999) }").first, HasSubstr("out of range"));
  EXPECT_THAT(error_at("query($a: Int = $b) { a }").first, HasSubstr("variable"));
}

TEST(GraphqlParser, BoundsOnSizeDepthAndCount) {
  ParseLimits small;
  small.max_bytes = 100;
  EXPECT_THROW(parse(std::string(101, ' '), small), ParseError);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{ a ";
  deep += "{ b }";
  for (int i = 0; i < 40; ++i) deep += "}";
  try {
    parse(deep);
    FAIL() << "too deep";
  } catch (const ParseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nested too deeply"));
  }
  std::string value = "{ a(x: ";
  for (int i = 0; i < 40; ++i) value += "[";
  for (int i = 0; i < 40; ++i) value += "]";
  EXPECT_THROW(parse(value + ") }"), ParseError);
  std::string wide = "{";
  for (int i = 0; i < 5000; ++i) wide += " a" + std::to_string(i);
  try {
    parse(wide + " }");
    FAIL() << "too many selections";
  } catch (const ParseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("too many selections"));
  }
}

// A fake REST API: one repository alice/hello (id 7) with issues #1 (open) and #2 (a pull).
class FakeRest : public Backend {
 public:
  std::vector<std::string> calls;
  json last_body;

  Result rest(std::string_view method, const std::string& target, const json& body) override {
    calls.push_back(std::string(method) + " " + target);
    if (method != "GET") last_body = body;
    const std::string repo = "/api/v3/repos/alice/hello";
    if (method == "GET" && target == repo) return {200, repo_json()};
    if (method == "GET" && target == "/api/v3/user") return {200, user("alice")};
    if (method == "GET" && target == repo + "/issues/1") return {200, issue(1, false)};
    if (method == "GET" && target == repo + "/issues/2") return {200, issue(2, true)};
    if (method == "GET" && target == repo + "/pulls/2") return {200, pull()};
    if (method == "GET" && target.rfind(repo + "/issues?", 0) == 0)
      return {200, json::array({issue(1, false), issue(2, true)})};
    if (method == "GET" && target.rfind(repo + "/pulls?", 0) == 0)
      return {200, json::array({pull()})};
    if (method == "GET" && target.rfind(repo + "/branches/main", 0) == 0)
      return {200, {{"name", "main"}, {"commit", {{"sha", "abc123"}}}}};
    if (method == "POST" && target == repo + "/issues") {
      if (body.value("title", "") == "") return {422, {{"message", "Validation Failed"}}};
      json x = issue(3, false);
      x["title"] = body["title"];
      return {201, x};
    }
    if (method == "PUT" && target == repo + "/pulls/2/merge") {
      merged_ = true;
      return {200, {{"merged", true}}};
    }
    return {404, {{"message", "Not Found"}}};
  }
  std::optional<std::string> repo_full_name(uint64_t id) override {
    if (id == 7) return "alice/hello";
    return std::nullopt;
  }

  static json user(const std::string& login) {
    return {{"login", login}, {"id", 1}, {"type", "User"}, {"html_url", "https://h/" + login}};
  }
  static json repo_json() {
    return {{"id", 7},
            {"node_id", encode_id("Repository:7")},
            {"name", "hello"},
            {"full_name", "alice/hello"},
            {"owner", user("alice")},
            {"html_url", "https://h/alice/hello"},
            {"description", nullptr},
            {"private", false},
            {"default_branch", "main"},
            {"permissions", {{"admin", true}, {"push", true}, {"pull", true}}}};
  }
  static json issue(uint64_t n, bool pull) {
    json x{{"number", n},
           {"id", 100 + n},
           {"title", "issue " + std::to_string(n)},
           {"body", "body"},
           {"state", "open"},
           {"html_url", "https://h/alice/hello/issues/" + std::to_string(n)},
           {"user", user("bob")},
           {"labels", json::array({{{"name", "bug"}, {"color", "d73a4a"}}})},
           {"assignees", json::array()},
           {"comments", 0},
           {"created_at", "2026-01-01T00:00:00Z"}};
    if (pull) x["pull_request"] = {{"merged_at", nullptr}};
    return x;
  }
  json pull() const {
    json x = issue(2, true);
    x.erase("pull_request");
    x["head"] = {
        {"ref", "feature"}, {"sha", "def456"}, {"repo", repo_json()}, {"user", user("alice")}};
    x["base"] = {{"ref", "main"}, {"sha", "abc123"}, {"repo", repo_json()}};
    x["merged"] = merged_;
    x["merged_at"] = merged_ ? json("2026-01-02T00:00:00Z") : json(nullptr);
    x["mergeable"] = true;
    x["mergeable_state"] = "clean";
    x["additions"] = 3;
    return x;
  }

 private:
  bool merged_ = false;
};

json run(FakeRest& be, const std::string& query, json variables = json::object()) {
  json body{{"query", query}, {"variables", variables}};
  return execute_request(body.dump(), be);
}

TEST(GraphqlExecutor, RepositoryFieldsFromRest) {
  FakeRest be;
  json out = run(be,
                 "query RepositoryInfo($owner: String!, $name: String!) { repository(owner: "
                 "$owner, name: $name) { id name owner { id login __typename } description "
                 "nameWithOwner viewerPermission defaultBranchRef { name target { oid } } "
                 "isPrivate hasIssuesEnabled } }",
                 {{"owner", "alice"}, {"name", "hello"}});
  ASSERT_FALSE(out.contains("errors")) << out.dump();
  const json& r = out["data"]["repository"];
  EXPECT_EQ(r["id"], encode_id("Repository:7"));
  EXPECT_EQ(r["name"], "hello");
  EXPECT_EQ(r["owner"]["login"], "alice");
  EXPECT_EQ(r["owner"]["__typename"], "User");
  EXPECT_EQ(r["owner"]["id"], encode_id("User:alice"));
  EXPECT_EQ(r["description"], "");
  EXPECT_EQ(r["nameWithOwner"], "alice/hello");
  EXPECT_EQ(r["viewerPermission"], "ADMIN");
  EXPECT_EQ(r["defaultBranchRef"]["name"], "main");
  EXPECT_EQ(r["defaultBranchRef"]["target"]["oid"], "abc123");
  EXPECT_EQ(r["isPrivate"], false);
}

TEST(GraphqlExecutor, ConnectionsFragmentsAndPaging) {
  FakeRest be;
  json out = run(be,
                 "{ repository(owner: \"alice\", name: \"hello\") { issues(first: 1, states: "
                 "[OPEN]) { totalCount nodes { ...f } pageInfo { hasNextPage endCursor } } "
                 "pullRequests(first: 5) { edges { node { number headRefName state } } } } } "
                 "fragment f on Issue { number title labels(first: 10) { nodes { name } "
                 "totalCount } author { login } }");
  ASSERT_FALSE(out.contains("errors")) << out.dump();
  const json& issues = out["data"]["repository"]["issues"];
  EXPECT_EQ(issues["totalCount"], 1);  // the pull request is not an issue
  EXPECT_EQ(issues["nodes"][0]["number"], 1);
  EXPECT_EQ(issues["nodes"][0]["labels"]["nodes"][0]["name"], "bug");
  EXPECT_EQ(issues["nodes"][0]["author"]["login"], "bob");
  EXPECT_EQ(issues["pageInfo"]["hasNextPage"], false);
  EXPECT_EQ(be.calls.at(1), "GET /api/v3/repos/alice/hello/issues?state=open&per_page=100&page=1");
  const json& pulls = out["data"]["repository"]["pullRequests"]["edges"];
  ASSERT_EQ(pulls.size(), 1u) << out.dump();
  EXPECT_EQ(pulls[0]["node"]["number"], 2);
}

TEST(GraphqlExecutor, UnknownFieldsAreRefusedBeforeAnythingRuns) {
  FakeRest be;
  json out = run(be,
                 "mutation { createIssue(input: {repositoryId: \"x\", title: \"t\"}) { issue { "
                 "id noSuchField } } }");
  ASSERT_FALSE(out.contains("data")) << out.dump();
  EXPECT_THAT(out["errors"][0]["message"].get<std::string>(),
              HasSubstr("Field 'noSuchField' doesn't exist on type 'Issue'"));
  EXPECT_EQ(out["errors"][0]["locations"][0]["line"], 1);
  EXPECT_TRUE(be.calls.empty());
  out = run(be, "{ viewer { login(size: 3) } }");
  EXPECT_THAT(out["errors"][0]["message"].get<std::string>(), HasSubstr("argument 'size'"));
  out = run(be, "{ viewer }");
  EXPECT_THAT(out["errors"][0]["message"].get<std::string>(), HasSubstr("must have selections"));
  out = run(be, "{ viewer { ...nope } }");
  EXPECT_THAT(out["errors"][0]["message"].get<std::string>(), HasSubstr("nope was not found"));
  out = run(be, "query Q($a: String!) { viewer { login } }");
  EXPECT_THAT(out["errors"][0]["message"].get<std::string>(), HasSubstr("$a"));
  out = execute_request("not json", be);
  EXPECT_THAT(out["errors"][0]["message"].get<std::string>(), HasSubstr("JSON"));
  EXPECT_TRUE(be.calls.empty());
  // Fragments that spread each other forever are cut by the bounds.
  out = run(be, "{ viewer { ...a } } fragment a on User { login ...a }");
  ASSERT_TRUE(out.contains("errors")) << out.dump();
}

TEST(GraphqlExecutor, NotFoundIsAFieldErrorWithPathAndType) {
  FakeRest be;
  json out = run(be, "{ repository(owner: \"alice\", name: \"nope\") { name } viewer { login } }");
  EXPECT_TRUE(out["data"]["repository"].is_null());
  EXPECT_EQ(out["data"]["viewer"]["login"], "alice");
  const json& e = out["errors"][0];
  EXPECT_EQ(e["type"], "NOT_FOUND");
  EXPECT_EQ(e["path"], json({"repository"}));
  EXPECT_EQ(e["message"], "Could not resolve to a Repository with the name 'alice/nope'.");
}

TEST(GraphqlExecutor, MutationsAreRestWrites) {
  FakeRest be;
  json out = run(
      be,
      "mutation IssueCreate($input: CreateIssueInput!) { createIssue(input: $input) { "
      "issue { id url number } } }",
      {{"input", {{"repositoryId", encode_id("Repository:7")}, {"title", "new"}, {"body", "b"}}}});
  ASSERT_FALSE(out.contains("errors")) << out.dump();
  EXPECT_EQ(out["data"]["createIssue"]["issue"]["number"], 3);
  EXPECT_EQ(out["data"]["createIssue"]["issue"]["id"], encode_id("Issue:7:3"));
  EXPECT_EQ(be.calls.back(), "POST /api/v3/repos/alice/hello/issues");
  EXPECT_EQ(be.last_body, json({{"title", "new"}, {"body", "b"}}));
  // A refused write: the field is null, the error says why.
  out = run(be, "mutation { createIssue(input: {repositoryId: \"" + encode_id("Repository:7") +
                    "\", title: \"\"}) { issue { id } } }");
  EXPECT_TRUE(out["data"]["createIssue"].is_null());
  EXPECT_EQ(out["errors"][0]["type"], "UNPROCESSABLE");
  // Merging a pull request by its id.
  out = run(be, "mutation { mergePullRequest(input: {pullRequestId: \"" +
                    encode_id("PullRequest:7:2") +
                    "\", mergeMethod: SQUASH}) { pullRequest { state merged mergeable } } }");
  ASSERT_FALSE(out.contains("errors")) << out.dump();
  EXPECT_EQ(out["data"]["mergePullRequest"]["pullRequest"]["state"], "MERGED");
  EXPECT_EQ(be.last_body, json({{"merge_method", "squash"}}));
  // An issue id is not a pull request id.
  out = run(be, "mutation { mergePullRequest(input: {pullRequestId: \"" + encode_id("Issue:7:1") +
                    "\"}) { pullRequest { id } } }");
  EXPECT_EQ(out["errors"][0]["type"], "NOT_FOUND");
}

TEST(GraphqlExecutor, NodeIdsRoundTrip) {
  EXPECT_EQ(decode_id(encode_id("PullRequest:7:2")), "PullRequest:7:2");
  EXPECT_EQ(decode_id(encode_id("")), "");
  EXPECT_FALSE(decode_id("not base64!"));
  FakeRest be;
  json out =
      run(be, "{ node(id: \"" + encode_id("Issue:7:1") +
                  "\") { __typename ... on Issue { title } ... on PullRequest { isDraft } } }");
  ASSERT_FALSE(out.contains("errors")) << out.dump();
  EXPECT_EQ(out["data"]["node"], json({{"__typename", "Issue"}, {"title", "issue 1"}}));
}

}  // namespace
}  // namespace guts::api::graphql
