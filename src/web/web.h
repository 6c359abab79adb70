// The web interface (docs/web.md): server-rendered HTML pages served by guts-node itself,
// readable without JavaScript. The node registers the routes after the API's and installs the
// error hook, so that browsers get HTML error pages while API and git clients keep theirs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "api/auth.h"
#include "api/http.h"
#include "api/peers_routes.h"
#include "api/router.h"
#include "api/services.h"
#include "storage/db.h"

namespace guts::git {
class RepoStore;
}
namespace guts::search {
class Index;
}
namespace guts::api {
class Notifications;
}

namespace guts::web {

struct WebEnv;

// Browser sign-in (docs/web.md "Sign-in and sessions"): where sessions are kept (the node's
// `local` family; no db: sign-in is disabled), how long they live, and whether cookies are
// Secure (the node serves HTTPS).
struct WebOptions {
  storage::Db* db = nullptr;
  storage::Cf local{};
  uint64_t session_lifetime_ms = 14ull * 24 * 3600 * 1000;
  bool secure_cookies = false;
};

// Makes the pages' environment (services and store must outlive it).
// `hosts` tells whether this node hosts a repository's git data (empty: all).
std::shared_ptr<WebEnv> make_web_env(api::Services& services, git::RepoStore& repos,
                                     api::PeersSource peers,
                                     std::function<bool(uint64_t repo_id)> hosts = {},
                                     WebOptions options = {});

// The search page's index (docs/search.md); without one, /search says search is off.
void set_search_index(WebEnv& env, search::Index* index);

// The notification inbox (api/notifications.h): the header's unread count and /notifications.
void set_notifications(WebEnv& env, api::Notifications* notifications);

// Resolves session cookies for the auth middleware (api::make_auth_middlewares).
api::BrowserSessions browser_sessions(std::shared_ptr<WebEnv> env);

// GET /, /network, /search, /-/static/..., /-/signin..., /-/sessions, /{user},
// /{owner}/{repo}[/tree|blob|raw|commits|commit| branches|tags...]. Call after the API and git
// routes (their static segments win anyway).
void add_web_routes(api::Router& router, std::shared_ptr<WebEnv> env);

// For api::ServerOptions::error_page (see web/page.h).
std::function<void(std::string_view path, std::string_view accept, api::Response&)> web_error_pages(
    std::shared_ptr<WebEnv> env);

}  // namespace guts::web
