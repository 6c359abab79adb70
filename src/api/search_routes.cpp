#include "api/search_routes.h"

#include <map>

#include "api/collab_common.h"
#include "api/errors.h"
#include "api/git_routes.h"
#include "api/github.h"
#include "core/status.h"

namespace guts::api {

namespace {

using json = nlohmann::json;

// The search a request asks for; nullopt after answering 422 (missing or invalid q, sort).
std::optional<search::Search> parse_request(SearchEnv& env, const Request& req, Response* error,
                                            std::initializer_list<const char*> sorts) {
  auto q = req.query_param("q");
  if (!q || q->empty()) {
    *error = (validation_failed("Search", "q", "missing", "the q parameter is required"));
    return std::nullopt;
  }
  search::Search s;
  try {
    s = search_for(env.svc, req, *q);
  } catch (const Error& e) {
    *error = (validation_failed("Search", "q", "invalid", e.what()));
    return std::nullopt;
  }
  if (auto sort = req.query_param("sort")) {
    bool known = false;
    for (const char* name : sorts) known |= *sort == name;
    if (!known) {
      *error = (validation_failed("Search", "sort", "invalid", "unknown sort: " + *sort));
      return std::nullopt;
    }
    s.sort = *sort;
  }
  s.ascending = req.query_param("order") == "asc";
  return s;
}

template <class T>
Response results_response(SearchEnv& env, const Request& req, const search::Search& s,
                          const search::Results<T>& r, json items) {
  json body{{"total_count", r.total_count},
            {"incomplete_results", r.incomplete},
            {"items", std::move(items)}};
  Response resp = collab::get_response(req, body);
  add_link_header(resp, req, env.svc.public_url(), Page{s.page, s.per_page},
                  static_cast<size_t>(r.total_count));
  return resp;
}

Response search_repositories(SearchEnv& env, Request& req) {
  Response error;
  auto s = parse_request(env, req, &error, {"updated", "created"});
  if (!s) return error;
  auto r = env.index.search_repos(*s);
  auto view = env.svc.chain().view();
  json items = json::array();
  for (const auto& doc : r.items) {
    auto repo = view.repo(doc.id);
    if (!repo) continue;  // deleted since it was indexed
    auto owner = view.account(repo->owner);
    if (!owner) continue;
    json j = repo_json(*repo, *owner, env.svc.public_url(), std::nullopt);
    j["score"] = 1.0;
    items.push_back(std::move(j));
  }
  return results_response(env, req, *s, r, std::move(items));
}

Response search_issues(SearchEnv& env, Request& req) {
  Response error;
  auto s = parse_request(env, req, &error, {"updated", "created", "comments"});
  if (!s) return error;
  auto r = env.index.search_issues(*s);
  auto view = env.svc.chain().view();
  std::map<uint64_t, std::unique_ptr<collab::Shapes>> shapes;  // per repository
  json items = json::array();
  for (const auto& doc : r.items) {
    auto it = shapes.find(doc.repo_id);
    if (it == shapes.end()) {
      auto repo = view.repo(doc.repo_id);
      auto owner = repo ? view.account(repo->owner) : std::nullopt;
      it = shapes
               .emplace(doc.repo_id, repo && owner
                                         ? std::make_unique<collab::Shapes>(env.svc, *repo, *owner)
                                         : nullptr)
               .first;
    }
    if (!it->second) continue;
    auto x = it->second->view().issue(doc.repo_id, doc.number);
    if (!x) continue;
    json j = it->second->issue(*x);
    j["score"] = 1.0;
    items.push_back(std::move(j));
  }
  return results_response(env, req, *s, r, std::move(items));
}

Response search_code(SearchEnv& env, Request& req) {
  Response error;
  auto s = parse_request(env, req, &error, {"indexed"});
  if (!s) return error;
  search::Results<search::CodeHit> r;
  try {
    r = env.index.search_code(*s);
  } catch (const Error& e) {
    if (e.code() != Code::kInvalidArgument) throw;
    return validation_failed("Search", "q", "invalid", e.what());
  }
  bool text_matches = false;
  if (auto accept = req.headers.get("accept"))
    text_matches = accept->find("text-match") != std::string::npos;
  auto view = env.svc.chain().view();
  json items = json::array();
  for (const auto& hit : r.items) {
    auto repo = view.repo(hit.repo_id);
    auto owner = repo ? view.account(repo->owner) : std::nullopt;
    if (!repo || !owner) continue;
    auto urls = collab::urls_of(env.svc, *repo, *owner);
    auto slash = hit.path.rfind('/');
    json j{{"name", slash == std::string::npos ? hit.path : hit.path.substr(slash + 1)},
           {"path", hit.path},
           {"sha", hit.sha},
           {"url", urls.api + "/contents/" + hit.path + "?ref=" + repo->default_branch},
           {"git_url", urls.api + "/git/blobs/" + hit.sha},
           {"html_url", urls.html + "/blob/" + repo->default_branch + "/" + hit.path},
           {"repository", repo_json(*repo, *owner, env.svc.public_url(), std::nullopt)},
           {"score", 1.0}};
    if (text_matches) {
      json matches = json::array();
      for (const auto& f : hit.fragments)
        matches.push_back({{"object_url", j["url"]},
                           {"object_type", "FileContent"},
                           {"property", "content"},
                           {"fragment", f},
                           {"matches", json::array()}});
      j["text_matches"] = std::move(matches);
    }
    items.push_back(std::move(j));
  }
  return results_response(env, req, *s, r, std::move(items));
}

void search_status(SearchEnv& env, Request& req, Responder respond) {
  auto stats = env.indexer.stats();
  json body{{"indexed_height", env.index.height()},
            {"height", env.svc.chain().head().height},
            {"rebuilds", stats.rebuilds},
            {"failures", stats.failures}};
  respond(collab::get_response(req, body));
}

void search_rebuild(SearchEnv& env, Request&, Responder respond) {
  env.indexer.request_rebuild();
  respond(Response::json(
      202, json{{"status", "rebuilding"}, {"height", env.svc.chain().head().height}}.dump()));
}

const RouteSpec<SearchEnv> kSearchV3Routes[] = {
    {"GET", "/repositories", "public", nullptr, &collab::worker<SearchEnv, &search_repositories>},
    {"GET", "/issues", "public", nullptr, &collab::worker<SearchEnv, &search_issues>},
    {"GET", "/code", "public", nullptr, &collab::worker<SearchEnv, &search_code>},
};

const RouteSpec<SearchEnv> kSearchGutsRoutes[] = {
    {"GET", "", "public", &search_status},
    {"POST", "/rebuild", "admin", &search_rebuild},
};

}  // namespace

search::Search search_for(Services& svc, const Request& req, std::string_view q) {
  search::Search s;
  s.query = search::parse_query(q);
  auto page = page_of(req);
  s.page = page.page;
  s.per_page = page.per_page;
  auto view = svc.chain().view();
  if (s.query.repo) {
    auto slash = s.query.repo->find('/');
    auto owner = view.account_by_username(s.query.repo->substr(0, slash));
    auto repo =
        owner ? view.repo_by_name(owner->key, s.query.repo->substr(slash + 1)) : std::nullopt;
    // An unknown repository matches nothing (GitHub answers 422 there; an empty result reveals
    // no more and keeps the query usable for private repositories one cannot see).
    s.repo_id = repo ? repo->id : UINT64_MAX;
  }
  auto who = collab::caller(req);
  auto allowed = req.principal.repo_ids;  // a token limited to some repositories
  auto* services = &svc;
  s.can_read = [services, who, allowed](uint64_t repo_id) {
    if (!who) return false;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), repo_id) == allowed.end())
      return false;
    auto v = services->chain().view();
    auto repo = v.repo(repo_id);
    return repo && v.permission(*repo, who) >= state::Permission::kRead;
  };
  return s;
}

void add_search_routes(Router& router, std::shared_ptr<SearchEnv> env) {
  add_routes(router, env, "/api/v3/search", kSearchV3Routes);
  add_routes(router, env, "/api/guts/search", kSearchGutsRoutes);
}

}  // namespace guts::api
