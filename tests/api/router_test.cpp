#include "api/router.h"

#include <gtest/gtest.h>

#include "api/http.h"
#include "api/http_parse.h"
#include "core/status.h"

namespace guts::api {
namespace {

Handler tag(std::string name) {
  return [name](Request&, Responder r) { r(Response::text(200, name)); };
}

std::string run(const RouteMatch& m) {
  if (!m.found() || !m.handler) return "<none>";
  std::string out;
  Request req;
  (*m.handler)(req, [&](Response r) { out = r.body; });
  return out;
}

TEST(Router, ParamsStaticAndCatchAll) {
  Router r;
  r.add("GET", "/api/v3/repos/{owner}/{repo}", "repo:read", tag("repo"));
  r.add("GET", "/api/v3/repos/{owner}/{repo}/contents/{path...}", "repo:read", tag("contents"));
  r.add("GET", "/api/v3/users/{username}", "public", tag("user"));
  r.add("GET", "/api/v3/users/me", "user", tag("me"));
  r.add("GET", "/", "public", tag("root"));

  auto m = r.match("GET", "/api/v3/repos/alice/proj");
  ASSERT_TRUE(m.found());
  EXPECT_EQ(run(m), "repo");
  EXPECT_EQ(m.params.at("owner"), "alice");
  EXPECT_EQ(m.params.at("repo"), "proj");
  EXPECT_EQ(m.access, "repo:read");
  EXPECT_EQ(m.pattern, "/api/v3/repos/{owner}/{repo}");
  EXPECT_FALSE(m.streaming());

  m = r.match("GET", "/api/v3/repos/alice/proj/contents/src/a%20b/c.txt");
  ASSERT_TRUE(m.found());
  EXPECT_EQ(run(m), "contents");
  EXPECT_EQ(m.params.at("path"), "src/a b/c.txt");

  // catch-all may be empty (repository root)
  m = r.match("GET", "/api/v3/repos/alice/proj/contents");
  ASSERT_TRUE(m.found());
  EXPECT_EQ(m.params.at("path"), "");
  m = r.match("GET", "/api/v3/repos/alice/proj/contents/");
  ASSERT_TRUE(m.found());
  EXPECT_EQ(m.params.at("path"), "");

  // static beats param, either registration order
  EXPECT_EQ(run(r.match("GET", "/api/v3/users/me")), "me");
  EXPECT_EQ(run(r.match("GET", "/api/v3/users/bob")), "user");
  EXPECT_EQ(run(r.match("GET", "/")), "root");

  // trailing slash tolerated; params are decoded per segment (%2F stays in the param)
  m = r.match("GET", "/api/v3/users/a%2Fb/");
  ASSERT_TRUE(m.found());
  EXPECT_EQ(m.params.at("username"), "a/b");

  EXPECT_EQ(r.match("GET", "/api/v3/repos/alice").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(r.match("GET", "/api/v3/repos//proj").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(r.match("GET", "/nope").result, RouteMatch::Result::kNotFound);
}

TEST(Router, ExactBeatsCatchAllAndParamBeatsCatchAll) {
  Router r;
  r.add("GET", "/{owner}/{repo}/{rest...}", "public", tag("web"));
  r.add("GET", "/{owner}/{repo}", "public", tag("repo"));
  r.add("GET", "/{owner}/{repo}/info/refs", "repo:read", tag("refs"));
  r.add_streaming("POST", "/{owner}/{repo}/git-upload-pack", "repo:read",
                  [](Request&, Exchange&) {});
  EXPECT_EQ(run(r.match("GET", "/a/b")), "repo");
  EXPECT_EQ(run(r.match("GET", "/a/b/tree/main")), "web");
  auto m = r.match("GET", "/a/b.git/info/refs");
  EXPECT_EQ(run(m), "refs");
  EXPECT_EQ(m.params.at("repo"), "b.git");  // not stripped
  m = r.match("POST", "/a/b.git/git-upload-pack");
  ASSERT_TRUE(m.found());
  EXPECT_TRUE(m.streaming());
  EXPECT_EQ(m.handler, nullptr);
}

TEST(Router, MethodNotAllowedAndHead) {
  Router r;
  r.add("GET", "/api/v3/repos/{owner}/{repo}/issues", "public", tag("list"));
  r.add("POST", "/api/v3/repos/{owner}/{repo}/issues", "repo:read", tag("create"));
  auto m = r.match("DELETE", "/api/v3/repos/a/b/issues");
  EXPECT_EQ(m.result, RouteMatch::Result::kMethodNotAllowed);
  EXPECT_EQ(m.allow_header(), "GET, HEAD, POST");
  EXPECT_EQ(run(r.match("POST", "/api/v3/repos/a/b/issues")), "create");
  EXPECT_EQ(run(r.match("HEAD", "/api/v3/repos/a/b/issues")), "list");
}

TEST(Router, RejectsBadPatternsAndConflicts) {
  Router r;
  EXPECT_THROW(r.add("GET", "no-slash", "public", tag("x")), Error);
  EXPECT_THROW(r.add("GET", "/a/{", "public", tag("x")), Error);
  EXPECT_THROW(r.add("GET", "/a/{}", "public", tag("x")), Error);
  EXPECT_THROW(r.add("GET", "/a/{p...}/b", "public", tag("x")), Error);
  EXPECT_THROW(r.add("GET", "/a/{x}/{x}", "public", tag("x")), Error);
  EXPECT_THROW(r.add("GET", "/a/b{x}", "public", tag("x")), Error);
  r.add("GET", "/a/{x}", "public", tag("x"));
  EXPECT_THROW(r.add("GET", "/a/{y}", "public", tag("y")), Error);
  r.add("PUT", "/a/{y}", "public", tag("y"));  // other method is fine
  EXPECT_EQ(r.size(), 2u);
}

// Route tables (RouteSpec + add_routes): the prefix, the access string and the context reach
// the route; a route registered twice and a row without exactly one handler are rejected.
struct TableCtx {
  std::string name;
  int calls = 0;
};
void table_get(TableCtx& c, Request& req, Responder respond) {
  ++c.calls;
  respond(Response::text(200, c.name + ":" + req.param("id")));
}
void table_stream(TableCtx& c, Request&, Exchange&) {
  ++c.calls;
}
const RouteSpec<TableCtx> kTable[] = {
    {"GET", "/items/{id}", "repo:read", &table_get},
    {"POST", "/items", "repo:write", nullptr, &table_stream},
};
const RouteSpec<TableCtx> kTwice[] = {{"GET", "/items/{other}", "public", &table_get}};
const RouteSpec<TableCtx> kNoHandler[] = {{"GET", "/none", "public"}};
const RouteSpec<TableCtx> kBothHandlers[] = {{"GET", "/both", "public", &table_get, &table_stream}};

TEST(RouteTable, RegistersRowsWithPrefixAccessAndContext) {
  Router r;
  TableCtx ctx{"ctx"};
  add_routes(r, ctx, "/api/{owner}", kTable);
  EXPECT_EQ(r.size(), 2u);
  auto m = r.match("GET", "/api/alice/items/7");
  ASSERT_TRUE(m.found());
  EXPECT_EQ(m.access, "repo:read");
  EXPECT_EQ(m.pattern, "/api/{owner}/items/{id}");
  Request req;
  req.params = m.params;
  std::string out;
  (*m.handler)(req, [&](Response resp) { out = resp.body; });
  EXPECT_EQ(out, "ctx:7");
  EXPECT_EQ(ctx.calls, 1);
  auto post = r.match("POST", "/api/alice/items");
  ASSERT_TRUE(post.found());
  EXPECT_TRUE(post.streaming());
  EXPECT_EQ(post.access, "repo:write");
  EXPECT_FALSE(r.match("GET", "/items/7").found());  // the prefix is part of the pattern
}

TEST(RouteTable, RejectsDuplicatesAndRowsWithoutOneHandler) {
  Router r;
  auto owned = std::make_shared<TableCtx>(TableCtx{"owned"});
  add_routes(r, owned, "", kTable);
  EXPECT_THROW(add_routes(r, owned, "", kTable), Error);  // the same routes again
  EXPECT_THROW(add_routes(r, owned, "", kTwice), Error);  // same shape, other param name
  EXPECT_THROW(add_routes(r, owned, "", kNoHandler), Error);
  EXPECT_THROW(add_routes(r, owned, "", kBothHandlers), Error);
  EXPECT_EQ(r.size(), 2u);
  // The routes keep a context given as a shared_ptr alive.
  std::weak_ptr<TableCtx> weak = owned;
  owned.reset();
  EXPECT_FALSE(weak.expired());
  auto m = r.match("GET", "/items/1");
  ASSERT_TRUE(m.found());
  Request req;
  req.params = m.params;
  std::string out;
  (*m.handler)(req, [&](Response resp) { out = resp.body; });
  EXPECT_EQ(out, "owned:1");
}

TEST(HttpTypes, HeadersCaseInsensitive) {
  Headers h;
  h.add("Content-Type", "a");
  h.add("X-Thing", "1");
  h.add("x-thing", "2");
  EXPECT_EQ(h.get("content-type"), "a");
  EXPECT_EQ(h.get("X-THING"), "1");
  EXPECT_FALSE(h.get("missing"));
  h.set("X-THING", "3");
  EXPECT_EQ(h.items().size(), 2u);
  EXPECT_EQ(h.get("x-thing"), "3");
  h.set("New", "v");
  EXPECT_EQ(h.get("new"), "v");
}

TEST(HttpTypes, QueryParamAndResponses) {
  Request req;
  req.query = "q=a+b%21&page=2&flag&bad=%zz&q=second&e%3Dk=v";
  EXPECT_EQ(req.query_param("q"), "a b!");
  EXPECT_EQ(req.query_param("page"), "2");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_EQ(req.query_param("bad"), "%zz");
  EXPECT_EQ(req.query_param("e=k"), "v");
  EXPECT_FALSE(req.query_param("missing"));
  auto j = Response::json(201, "{}");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.headers.get("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(Response::text(200, "x").headers.get("Content-Type")->rfind("text/plain", 0), 0u);
}

TEST(HttpParse, Target) {
  auto t = parse_target("/a/b%20c/d?x=1&y=%41");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a/b c/d");
  EXPECT_EQ(t->raw_path, "/a/b%20c/d");
  EXPECT_EQ(t->query, "x=1&y=%41");
  t = parse_target("/plus+sign");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/plus+sign");
  t = parse_target("http://example.com:8080/x/y?z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/x/y");
  EXPECT_EQ(t->query, "z");
  t = parse_target("http://example.com");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/");
  t = parse_target("/a#frag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a");

  EXPECT_FALSE(parse_target(""));
  EXPECT_FALSE(parse_target("a/b"));
  EXPECT_FALSE(parse_target("*"));
  EXPECT_FALSE(parse_target("/a%00b"));
  EXPECT_FALSE(parse_target("/a%2"));
  EXPECT_FALSE(parse_target("/a%zz"));
  EXPECT_FALSE(parse_target("/a/../b"));
  EXPECT_FALSE(parse_target("/a/%2e%2E/b"));
  EXPECT_FALSE(parse_target("/a/."));
  EXPECT_FALSE(parse_target(std::string_view("/a\0b", 4)));
  EXPECT_FALSE(parse_target("/a\r\nb"));
  EXPECT_TRUE(parse_target("/a/...b/.git"));
}

TEST(HttpParse, EncodeDecodeRoundTrip) {
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  auto enc = percent_encode(all);
  EXPECT_EQ(percent_decode_path(enc), all);
  EXPECT_EQ(percent_encode("a/b c", true), "a/b%20c");
  EXPECT_EQ(percent_decode_query("a+b%2B"), "a b+");
}

}  // namespace
}  // namespace guts::api
