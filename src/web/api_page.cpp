// The API description (docs/web.md "API page"): GET /api/openapi.json is an OpenAPI 3 document of
// /api/v3 and /api/guts generated from the router's registered routes (the RouteSpec tables:
// method, pattern, access), and GET /api renders it as HTML (no JavaScript). Summaries are
// derived from the method and the path; each operation carries its access as x-guts-access and
// requires the token security scheme unless it is public. Built once, on first use (every route
// is registered before the server starts).
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/router.h"
#include "core/version.h"
#include "web/pages.h"

namespace guts::web {

namespace {

// "/api/v3/repos/{owner}/{repo}/pulls/{number}" → the group ("pulls"): the first static
// segment after the repository, or after /api/v3 or /api/guts.
std::string tag_of(std::string_view pattern) {
  std::vector<std::string_view> segs;
  size_t pos = 1;
  while (pos <= pattern.size()) {
    size_t next = pattern.find('/', pos);
    if (next == std::string_view::npos) next = pattern.size();
    segs.push_back(pattern.substr(pos, next - pos));
    pos = next + 1;
  }
  // segs: api, v3|guts, ...
  size_t i = 2;
  if (segs.size() > 4 && segs[2] == "repos" && segs[3] == "{owner}" && segs[4] == "{repo}") i = 5;
  for (; i < segs.size(); ++i)
    if (!segs[i].empty() && segs[i][0] != '{') return std::string(segs[i]);
  return segs.size() > 2 && !segs[2].empty() && segs[2][0] != '{' ? std::string(segs[2])
                                                                  : std::string(segs[1]);
}

std::string summary_of(std::string_view method, std::string_view pattern) {
  bool item = !pattern.empty() && pattern.back() == '}';
  std::string what = tag_of(pattern);
  if (method == "GET") return (item ? "Get " : "List ") + what;
  if (method == "POST") return "Create in " + what;
  if (method == "PUT") return "Set " + what;
  if (method == "PATCH") return "Update " + what;
  if (method == "DELETE") return "Delete " + what;
  return std::string(method) + " " + what;
}

}  // namespace

nlohmann::json openapi_document(const std::vector<api::Router::RouteInfo>& routes,
                                std::string_view server_url) {
  using nlohmann::json;
  json paths = json::object();
  std::map<std::string, size_t> tags;
  for (const auto& r : routes) {
    std::string_view p = r.pattern;
    if (p.rfind("/api/v3", 0) != 0 && p.rfind("/api/guts", 0) != 0) continue;
    // OpenAPI has no catch-all: "{ref...}" is the parameter "ref" (it may hold slashes).
    std::string path;
    json params = json::array();
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] != '{') {
        path += p[i];
        continue;
      }
      size_t close = p.find('}', i);
      if (close == std::string_view::npos) break;
      std::string name(p.substr(i + 1, close - i - 1));
      bool rest = name.size() > 3 && name.compare(name.size() - 3, 3, "...") == 0;
      if (rest) name.resize(name.size() - 3);
      path += "{" + name + "}";
      json param = {
          {"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
      if (rest) param["description"] = "may contain '/'";
      params.push_back(std::move(param));
      i = close;
    }
    std::string method = r.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string tag = tag_of(r.pattern);
    ++tags[tag];
    std::string op_id = method;
    for (char c : path) op_id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    json op = {{"summary", summary_of(r.method, r.pattern)},
               {"operationId", op_id},
               {"tags", json::array({tag})},
               {"x-guts-access", r.access},
               {"responses",
                {{"default",
                  {{"description",
                    "GitHub's shape where GitHub has one; errors as in docs/errors.md"}}}}}};
    if (!params.empty()) op["parameters"] = std::move(params);
    op["security"] = r.access == "public" ? json::array({json::object()})
                                          : json::array({json{{"token", json::array()}}});
    paths[path][method] = std::move(op);
  }
  json tag_list = json::array();
  for (const auto& [name, n] : tags) tag_list.push_back({{"name", name}});
  json doc = {{"openapi", "3.0.3"},
              {"info",
               {{"title", "Guts API"},
                {"version", std::string(version::software())},
                {"description",
                 "GitHub's REST API v3 (/api/v3) and Guts' own (/api/guts), generated from the "
                 "node's route tables. x-guts-access is what a route requires: public, user, "
                 "repo:read, repo:write, repo:admin."}}},
              {"servers", json::array({{{"url", std::string(server_url)}}})},
              {"components",
               {{"securitySchemes",
                 {{"token",
                   {{"type", "http"},
                    {"scheme", "bearer"},
                    {"description", "A token: `Authorization: token <t>` or `Bearer <t>`"}}}}}}},
              {"tags", std::move(tag_list)},
              {"paths", std::move(paths)}};
  add_openapi_schemas(doc);  // openapi_schemas.cpp
  return doc;
}

namespace {

const nlohmann::json& document(WebEnv& env) {
  static std::once_flag once;
  static nlohmann::json doc;
  std::call_once(once, [&] {
    doc =
        openapi_document(env.router ? env.router->routes() : std::vector<api::Router::RouteInfo>{},
                         env.svc.public_url());
  });
  return doc;
}

}  // namespace

void openapi_file(WebEnv& env, api::Request&, api::Responder respond) {
  api::Response r;
  r.body = document(env).dump(1);
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  security_headers(r.headers, kRawCsp);
  respond(std::move(r));
}

api::Response api_page(WebEnv& env, api::Request&) {
  const auto& doc = document(env);
  // Operations grouped by tag, in path order.
  std::map<std::string, std::vector<std::tuple<std::string, std::string, std::string, std::string>>>
      groups;
  for (const auto& [path, ops] : doc["paths"].items())
    for (const auto& [method, op] : ops.items())
      groups[op["tags"][0].get<std::string>()].emplace_back(
          method, path, op["x-guts-access"].get<std::string>(), op["summary"].get<std::string>());
  Html h;
  h.raw(
      "<h1>API</h1><p>This node serves GitHub's REST API under <code>/api/v3</code> and its own "
      "under <code>/api/guts</code>. The OpenAPI 3 document: <a id=\"openapi-link\" "
      "href=\"/api/openapi.json\"><code>/api/openapi.json</code></a> (")
      << static_cast<uint64_t>(doc["paths"].size());
  h.raw(" paths). Authenticate with <code>Authorization: token &lt;token&gt;</code>.</p>");
  h.raw("<nav class=\"pager api-groups\">");
  for (const auto& [tag, ops] : groups)
    h.raw("<a href=\"#tag-") << url_query(tag) << Safe{"\">"} << tag << Safe{"</a>"};
  h.raw("</nav>");
  for (const auto& [tag, ops] : groups) {
    h.raw("<div class=\"box api-group\" id=\"tag-") << url_query(tag);
    h.raw("\"><div class=\"head\"><strong>") << tag << Safe{"</strong></div>"};
    h.raw(
        "<table class=\"sessions api\"><tr><th>Method</th><th>Path</th><th>Access</th>"
        "<th>Summary</th></tr>");
    for (const auto& [method, path, access, summary] : ops) {
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      h.raw("<tr><td><code>") << upper << Safe{"</code></td><td><code>"} << path;
      h.raw("</code></td><td>") << access << Safe{"</td><td>"} << summary << Safe{"</td></tr>"};
    }
    h.raw("</table></div>");
  }
  return page(env, 200, "API", h);
}

}  // namespace guts::web
