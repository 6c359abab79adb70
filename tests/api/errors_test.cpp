#include "api/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/github.h"
#include "core/status.h"

namespace guts::api {
namespace {

using nlohmann::json;

// Every code has exactly one status (docs/errors.md); a new code must be added here too.
TEST(ServerErrorMap, EveryCodeHasItsStatus) {
  const std::pair<Code, int> table[] = {
      {Code::kOk, 200},
      {Code::kMalformed, 400},
      {Code::kUnauthenticated, 401},
      {Code::kPermissionDenied, 403},
      {Code::kNotFound, 404},
      {Code::kFailedPrecondition, 405},
      {Code::kConflict, 409},
      {Code::kTooLarge, 413},
      {Code::kInvalidArgument, 422},
      {Code::kAlreadyExists, 422},
      {Code::kInternal, 500},
      {Code::kUnavailable, 503},
      {Code::kRateLimited, 429},
  };
  for (auto [code, status] : table) {
    EXPECT_EQ(http_status(code), status) << code_name(code);
    if (code == Code::kOk) continue;
    Response r = status_response(Status(code, "why"));
    EXPECT_EQ(r.status, status) << code_name(code);
    json body = json::parse(r.body);
    EXPECT_EQ(body["documentation_url"], kDocsUrl);
    std::string want = code == Code::kInternal ? "Internal Server Error" : "why";
    EXPECT_EQ(body["message"], want) << code_name(code);
  }
}

TEST(ServerErrorMap, FieldMessagesBecomeValidationFailed) {
  Response r = status_response({Code::kInvalidArgument, "title: too long"}, "Issue");
  EXPECT_EQ(r.status, 422);
  json b = json::parse(r.body);
  EXPECT_EQ(b["message"], "Validation Failed");
  EXPECT_EQ(b["errors"][0], (json{{"resource", "Issue"},
                                  {"code", "invalid"},
                                  {"field", "title"},
                                  {"message", "too long"}}));
  // Without a resource: the plain body.
  EXPECT_EQ(json::parse(status_response({Code::kInvalidArgument, "title: x"}).body)["message"],
            "title: x");
  // A field given by the caller: GitHub's "custom" entry with the whole message.
  r = status_response({Code::kAlreadyExists, "name already exists on this account"}, "Repository",
                      "name");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["code"], "custom");
  EXPECT_EQ(json::parse(r.body)["errors"][0]["message"], "name already exists on this account");
  EXPECT_EQ(json::parse(status_response({Code::kNotFound, ""}).body)["message"], "Not Found");
  // Quotes and control characters are escaped.
  r = status_response({Code::kInvalidArgument, "a \"b\"\n\x01"});
  EXPECT_EQ(json::parse(r.body)["message"], "a \"b\"\n\x01");
}

// The codes src/state gives its rejections keep the statuses clients saw (docs/errors.md).
TEST(ServerErrorMap, StateRejectionsKeepTheirStatuses) {
  auto answer = [](Code code, const std::string& msg) {
    return status_response({code, msg}, "PullRequest");
  };
  Response taken = answer(Code::kAlreadyExists, "title: already_exists");
  EXPECT_EQ(taken.status, 422);
  EXPECT_EQ(json::parse(taken.body)["errors"][0],
            (json{{"resource", "PullRequest"}, {"code", "already_exists"}, {"field", "title"}}));
  EXPECT_EQ(answer(Code::kInvalidArgument, "head: the branch moved to abc").status, 422);
  Response stale =
      answer(Code::kConflict, "sha: Head branch was modified. Review and try the merge again.");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(json::parse(stale.body)["message"],
            "Head branch was modified. Review and try the merge again.");
  EXPECT_EQ(answer(Code::kConflict, "base: Base branch was modified.").status, 409);
  EXPECT_EQ(answer(Code::kInvalidArgument, "nonce 3 is not the next one (expected 4)").status, 422);
  EXPECT_EQ(answer(Code::kConflict, "refs/heads/main: stale info").status, 409);
  EXPECT_EQ(answer(Code::kAlreadyExists, "username 'bob' is already taken").status, 422);
  EXPECT_EQ(answer(Code::kFailedPrecondition, "Pull Request is not mergeable: it is closed").status,
            405);
}

TEST(ServerBodyCheck, AcceptsAValidBody) {
  json body{{"title", "t"}, {"draft", true}, {"n", 3}};
  EXPECT_FALSE(check_body(body, "PullRequest",
                          {{"title", BodyField::kString, true},
                           {"body", BodyField::kString},
                           {"draft", BodyField::kBoolean},
                           {"n", BodyField::kInteger}}));
}

TEST(ServerBodyCheck, MissingRequiredFieldIs422WithErrors) {
  json body{{"title", "t"}, {"head", nullptr}};
  auto r = check_body(body, "PullRequest",
                      {{"title", BodyField::kString, true}, {"head", BodyField::kString, true}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  json b = json::parse(r->body);
  EXPECT_EQ(b["message"], "Validation Failed");
  EXPECT_EQ(b["errors"][0],
            (json{{"resource", "PullRequest"}, {"code", "missing_field"}, {"field", "head"}}));
}

TEST(ServerBodyCheck, WrongTypeIs422WithErrors) {
  json body{{"title", 12}, {"draft", "yes"}};
  auto r =
      check_body(body, "PullRequest",
                 {{"title", BodyField::kStringOrInteger, true}, {"draft", BodyField::kBoolean}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  json b = json::parse(r->body);
  EXPECT_EQ(b["message"], "Invalid request. For 'properties/draft', the value is not a boolean.");
  EXPECT_EQ(b["errors"][0],
            (json{{"resource", "PullRequest"}, {"code", "invalid"}, {"field", "draft"}}));
  EXPECT_TRUE(check_body(json{{"title", 1.5}}, "Issue", {{"title", BodyField::kString, true}}));
}

// Lists of names (labels, assignees, reviewers), arrays of objects and non-negative integers.
TEST(ServerBodyCheck, NameListsObjectArraysAndUnsigned) {
  auto check = [](const json& body, BodyField::Type type) {
    return check_body(body, "Issue", {{"f", type}});
  };
  EXPECT_FALSE(check(json{{"f", {"a", {{"name", "b"}}}}}, BodyField::kNameList));
  EXPECT_FALSE(check(json{{"f", json::array()}}, BodyField::kNameList));
  auto bad = check(json{{"f", {"a", 3}}}, BodyField::kNameList);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_EQ(json::parse(bad->body)["message"],
            "Invalid request. For 'properties/f', the value is not a array of strings.");
  EXPECT_TRUE(check(json{{"f", "a"}}, BodyField::kNameList));
  EXPECT_FALSE(check(json{{"f", {{{"path", "x"}}}}}, BodyField::kObjectArray));
  EXPECT_TRUE(check(json{{"f", {1}}}, BodyField::kObjectArray));
  EXPECT_FALSE(check(json::parse(R"({"f": 3})"), BodyField::kUnsigned));
  EXPECT_TRUE(check(json{{"f", -3}}, BodyField::kUnsigned));
  EXPECT_TRUE(check(json{{"f", "3"}}, BodyField::kUnsigned));
}

}  // namespace
}  // namespace guts::api

namespace guts::api {
namespace {
// The door's rate limit (docs/reputation.md): 429 with the seconds of the message as Retry-After.
TEST(ServerErrorMap, RateLimitedCarriesRetryAfter) {
  Response r = status_response({Code::kRateLimited, "too many transactions: retry after 42 s"});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.get("Retry-After").value_or(""), "42");
  // Back-pressure: a full mempool (503) says when to come back; without a number, a second.
  r = status_response({Code::kUnavailable, "mempool is full; retry after 1 s"});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.get("Retry-After").value_or(""), "1");
  r = status_response({Code::kUnavailable, "the node is catching up"});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.get("Retry-After").value_or(""), "1");
  EXPECT_EQ(status_response({Code::kRateLimited, "slow down"}).headers.get("Retry-After"), "1");
}
}  // namespace
}  // namespace guts::api
