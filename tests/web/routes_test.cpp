// The web routes next to the API and git routes: which handler a path reaches.
#include <gtest/gtest.h>

#include <functional>

#include "api/router.h"
#include "web/assets.h"
#include "web/diff_view.h"
#include "web/pages.h"
#include "web/web.h"

namespace guts::web {
namespace {

api::Router routes() {
  api::Router r;
  auto noop = [](api::Request&, api::Responder) {};
  auto stream = [](api::Request&, api::Exchange&) {};
  // The shapes of the API's and git's routes (api/git_routes.cpp, api/*_routes.cpp).
  r.add("GET", "/api/guts/status", "public", noop);
  r.add("GET", "/api/v3/repos/{owner}/{repo}", "repo:read", noop);
  r.add("GET", "/metrics", "public", noop);
  r.add_streaming("GET", "/{owner}/{repo}/info/refs", "repo:read", stream);
  r.add_streaming("POST", "/{owner}/{repo}/git-upload-pack", "repo:read", stream);
  r.add_streaming("POST", "/{owner}/{repo}/git-receive-pack", "repo:write", stream);
  add_web_routes(r, nullptr);  // matching never calls a handler
  return r;
}

TEST(WebRoutes, PagesMatch) {
  auto r = routes();
  struct Case {
    const char* path;
    const char* pattern;
  } cases[] = {
      {"/", "/"},
      {"/network", "/network"},
      {"/alice", "/{user}"},
      {"/alice/proj", "/{owner}/{repo}"},
      {"/alice/proj/tree/main", "/{owner}/{repo}/tree/{rest...}"},
      {"/alice/proj/tree/feature/x/src/a.c", "/{owner}/{repo}/tree/{rest...}"},
      {"/alice/proj/blob/main/src/a.c", "/{owner}/{repo}/blob/{rest...}"},
      {"/alice/proj/raw/main/README.md", "/{owner}/{repo}/raw/{rest...}"},
      {"/alice/proj/commits/main", "/{owner}/{repo}/commits/{rest...}"},
      {"/alice/proj/commit/abc123", "/{owner}/{repo}/commit/{sha}"},
      {"/alice/proj/branches", "/{owner}/{repo}/branches"},
      {"/alice/proj/tags", "/{owner}/{repo}/tags"},
      {"/alice/proj/issues", "/{owner}/{repo}/issues"},
      {"/alice/proj/issues/7", "/{owner}/{repo}/issues/{number}"},
      {"/alice/proj/pulls", "/{owner}/{repo}/pulls"},
      {"/alice/proj/pull/8", "/{owner}/{repo}/pull/{number}"},
  };
  for (const auto& c : cases) {
    auto m = r.match("GET", c.path);
    ASSERT_TRUE(m.found()) << c.path;
    EXPECT_EQ(m.pattern, c.pattern) << c.path;
  }
  auto m = r.match("GET", "/alice/proj/blob/main/src/a.c");
  EXPECT_EQ(m.params["owner"], "alice");
  EXPECT_EQ(m.params["repo"], "proj");
  EXPECT_EQ(m.params["rest"], "main/src/a.c");
  EXPECT_EQ(m.access, "repo:read");
  EXPECT_EQ(r.match("GET", "/alice").access, "public");
}

TEST(WebRoutes, ApiAndGitKeepTheirRoutes) {
  auto r = routes();
  EXPECT_EQ(r.match("GET", "/api/guts/status").pattern, "/api/guts/status");
  EXPECT_EQ(r.match("GET", "/metrics").pattern, "/metrics");
  EXPECT_EQ(r.match("GET", "/api/v3/repos/a/b").pattern, "/api/v3/repos/{owner}/{repo}");
  EXPECT_EQ(r.match("GET", "/alice/proj.git/info/refs").pattern, "/{owner}/{repo}/info/refs");
  EXPECT_EQ(r.match("GET", "/alice/proj/info/refs").pattern, "/{owner}/{repo}/info/refs");
  EXPECT_EQ(r.match("POST", "/alice/proj.git/git-upload-pack").pattern,
            "/{owner}/{repo}/git-upload-pack");
  // Still 405 for a GET of git's POST endpoints, 404 for unknown deeper paths.
  EXPECT_EQ(r.match("GET", "/alice/proj/git-upload-pack").result,
            api::RouteMatch::Result::kMethodNotAllowed);
  EXPECT_FALSE(r.match("GET", "/alice/proj/nothing/here").found());
  EXPECT_EQ(r.match("GET", stylesheet_path()).pattern, "/-/static/{file}");
}

TEST(WebRoutes, SignInAndWrites) {
  auto r = routes();
  struct Case {
    const char* method;
    const char* path;
    const char* pattern;
    const char* access;
  } cases[] = {
      {"GET", "/-/signin", "/-/signin", "public"},
      {"POST", "/-/signin/device", "/-/signin/device", "public"},
      {"GET", "/-/signin/device", "/-/signin/device", "public"},
      {"POST", "/-/signin/token", "/-/signin/token", "public"},
      {"POST", "/-/signout", "/-/signout", "public"},
      {"GET", "/-/sessions", "/-/sessions", "user"},
      {"POST", "/-/sessions/ab12/revoke", "/-/sessions/{id}/revoke", "user"},
      {"POST", "/api/guts/web/device", "/api/guts/web/device", "public"},
      {"GET", "/alice/proj/issues/new", "/{owner}/{repo}/issues/new", "repo:read"},
      {"POST", "/alice/proj/issues", "/{owner}/{repo}/issues", "repo:read"},
      {"GET", "/alice/proj/issues/3/edit", "/{owner}/{repo}/issues/{number}/edit", "repo:read"},
      {"POST", "/alice/proj/issues/3/edit", "/{owner}/{repo}/issues/{number}/edit", "repo:read"},
      {"POST", "/alice/proj/issues/3/comments", "/{owner}/{repo}/issues/{number}/comments",
       "repo:read"},
      {"POST", "/alice/proj/issues/3/state", "/{owner}/{repo}/issues/{number}/state", "repo:read"},
  };
  for (const auto& c : cases) {
    auto m = r.match(c.method, c.path);
    ASSERT_TRUE(m.found()) << c.method << " " << c.path;
    EXPECT_EQ(m.pattern, c.pattern) << c.path;
    EXPECT_EQ(m.access, c.access) << c.path;
  }
}

TEST(WebRoutes, ActionsJobPageAndScript) {
  auto r = routes();
  r.add("GET", "/api/v3/repos/{owner}/{repo}/actions/jobs/{id}/logs/live", "repo:read",
        [](api::Request&, api::Responder) {});
  struct Case {
    const char* path;
    const char* pattern;
  } cases[] = {
      {"/alice/proj/actions", "/{owner}/{repo}/actions"},
      {"/alice/proj/actions/runs/4", "/{owner}/{repo}/actions/runs/{id}"},
      {"/alice/proj/actions/jobs/9", "/{owner}/{repo}/actions/jobs/{id}"},
      {"/alice/proj/actions/jobs/9/lines", "/{owner}/{repo}/actions/jobs/{id}/lines"},
      // The page's script follows the API's route (the WebSocket), which stays the API's.
      {"/api/v3/repos/alice/proj/actions/jobs/9/logs/live",
       "/api/v3/repos/{owner}/{repo}/actions/jobs/{id}/logs/live"},
  };
  for (const auto& c : cases) {
    auto m = r.match("GET", c.path);
    ASSERT_TRUE(m.found()) << c.path;
    EXPECT_EQ(m.pattern, c.pattern) << c.path;
    EXPECT_EQ(m.access, "repo:read") << c.path;
  }
  EXPECT_EQ(r.match("GET", job_log_script_path()).pattern, "/-/static/{file}");
  EXPECT_NE(job_log_script_path(), live_script_path());
  EXPECT_EQ(job_log_script_path().rfind("/-/static/joblog.", 0), 0u);
  // Log text only ever becomes text nodes.
  EXPECT_EQ(job_log_script().find("innerHTML"), std::string_view::npos);
  EXPECT_EQ(job_log_script().find("insertAdjacentHTML"), std::string_view::npos);
  EXPECT_EQ(job_log_script().find("document.write"), std::string_view::npos);
  EXPECT_NE(job_log_script().find("td.textContent = text"), std::string_view::npos);
}

TEST(WebRoutes, RawContentTypes) {
  EXPECT_EQ(raw_content_type("a/logo.PNG", true), "image/png");
  EXPECT_EQ(raw_content_type("x.svg", false), "image/svg+xml");
  EXPECT_EQ(raw_content_type("index.html", false), "text/plain; charset=utf-8");
  EXPECT_EQ(raw_content_type("a.out", true), "application/octet-stream");
}

TEST(WebRoutes, DiffViewEscapes) {
  git::FileDiff f;
  f.filename = "<script>alert(1)</script>\"x\xff.txt";
  f.status = "modified";
  f.patch = "@@ -1 +1 @@\n-<script>\n+\"ok\"\n same";
  git::FileDiff bin;
  bin.filename = "logo.png";
  bin.status = "added";
  bin.binary = true;
  for (DiffMode mode : {DiffMode::kUnified, DiffMode::kSplit}) {
    Html h;
    DiffView v;
    v.mode = mode;
    v.here = "/o/r/commit/abc";
    v.file_href = "/o/r/blob/abc/";
    v.line_links = true;
    render_diff(h, {f, bin}, v);
    const auto& s = h.str();
    EXPECT_NE(s.find("class=\"code hunk\""), std::string::npos);
    EXPECT_NE(s.find("&lt;script&gt;"), std::string::npos);
    EXPECT_NE(s.find("&quot;ok&quot;"), std::string::npos);
    EXPECT_NE(s.find("\xEF\xBF\xBD"), std::string::npos);  // invalid UTF-8 replaced
    EXPECT_NE(s.find("Binary file not shown"), std::string::npos);
    EXPECT_EQ(s.find("<script"), std::string::npos);
    EXPECT_EQ(s.find("\"x"), std::string::npos);
  }
}

TEST(WebRoutes, OpenApiFromTheRouteTable) {
  auto r = routes();
  auto noop = [](api::Request&, api::Responder) {};
  r.add("PUT", "/api/v3/repos/{owner}/{repo}/pulls/{number}/merge", "repo:write", noop);
  r.add("GET", "/api/v3/repos/{owner}/{repo}/git/ref/{ref...}", "repo:read", noop);
  auto doc = openapi_document(r.routes(), "http://node:8080");
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_EQ(doc["servers"][0]["url"], "http://node:8080");
  const auto& paths = doc["paths"];
  // Only /api/v3 and /api/guts: no web pages, git or metrics.
  for (const auto& [path, ops] : paths.items())
    EXPECT_TRUE(path.rfind("/api/v3", 0) == 0 || path.rfind("/api/guts", 0) == 0) << path;
  ASSERT_TRUE(paths.contains("/api/guts/status"));
  EXPECT_EQ(paths["/api/guts/status"]["get"]["x-guts-access"], "public");
  EXPECT_EQ(paths["/api/guts/status"]["get"]["security"][0].size(), 0u);
  const auto& merge = paths["/api/v3/repos/{owner}/{repo}/pulls/{number}/merge"]["put"];
  EXPECT_EQ(merge["x-guts-access"], "repo:write");
  EXPECT_EQ(merge["tags"][0], "pulls");
  EXPECT_EQ(merge["parameters"].size(), 3u);
  EXPECT_EQ(merge["parameters"][2]["name"], "number");
  EXPECT_TRUE(merge["security"][0].contains("token"));
  // A catch-all parameter is a plain path parameter.
  ASSERT_TRUE(paths.contains("/api/v3/repos/{owner}/{repo}/git/ref/{ref}"));
  EXPECT_EQ(paths["/api/v3/repos/{owner}/{repo}/git/ref/{ref}"]["get"]["parameters"][2]["name"],
            "ref");
  // Schemas: the merge's request and response, errors everywhere, every $ref resolvable.
  EXPECT_EQ(merge["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/MergeRequest");
  EXPECT_EQ(merge["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/MergeResult");
  EXPECT_EQ(paths["/api/guts/status"]["get"]["responses"]["default"]["content"]["application/json"]
                 ["schema"]["$ref"],
            "#/components/schemas/Error");
  const auto& schemas = doc["components"]["schemas"];
  EXPECT_EQ(schemas["MergeRequest"]["properties"]["merge_method"]["enum"].size(), 3u);
  EXPECT_EQ(schemas["Issue"]["properties"]["state"]["enum"][1], "closed");
  EXPECT_TRUE(schemas["Issue"]["properties"]["milestone"]["allOf"].is_array());
  std::function<void(const nlohmann::json&)> check = [&](const nlohmann::json& j) {
    if (j.is_object()) {
      if (auto it = j.find("$ref"); it != j.end()) {
        std::string name =
            it->get<std::string>().substr(std::string("#/components/schemas/").size());
        EXPECT_TRUE(schemas.contains(name)) << name;
      }
      for (const auto& [k, v] : j.items()) check(v);
    } else if (j.is_array()) {
      for (const auto& v : j) check(v);
    }
  };
  check(doc);
}

TEST(WebRoutes, DiffViewTruncatesWithRawLink) {
  git::FileDiff f;
  f.filename = "big.txt";
  f.status = "modified";
  f.patch = "@@ -1,50 +1,50 @@\n";
  for (int i = 0; i < 50; ++i) f.patch += " x\n";
  Html h;
  DiffView v;
  v.max_lines_per_file = 10;
  v.raw_diff = "/o/r/rawdiff/a/b";
  render_diff(h, {f}, v);
  EXPECT_NE(h.str().find("Diff truncated."), std::string::npos);
  EXPECT_NE(h.str().find("href=\"/o/r/rawdiff/a/b\""), std::string::npos);
}

}  // namespace
}  // namespace guts::web
