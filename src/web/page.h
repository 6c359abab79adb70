// What every page shares: the environment pages read from (read-only services of the node), the
// layout, the security headers, HTML error pages, and the adapter that runs a page function on
// the server's worker pool (pages read git through libgit2, which blocks).
//
// A page is a function from (environment, request) to a Response:
//   api::Response repo_home(WebEnv& env, api::Request& req);
// It throws guts::Error for failures (kNotFound → the HTML 404 page, ...), never writes HTML
// by string concatenation of user data (web/html.h escapes by construction).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/peers_routes.h"
#include "api/services.h"
#include "web/highlight.h"
#include "web/html.h"
#include "web/jobs.h"
#include "web/pending_review.h"
#include "web/session.h"

namespace guts::git {
class RepoStore;
}
namespace guts::search {
class Index;
}
namespace guts::api {
class PullGit;
class Router;
}  // namespace guts::api

namespace guts::api {
class Notifications;
}

namespace guts::web {

struct WebEnv {
  api::Services& svc;
  git::RepoStore& repos;
  api::PeersSource peers;  // empty function: no p2p
  // Whether this node hosts a repository's git data (seeding policy, node/git_projection.h);
  // empty: every repository.
  std::function<bool(uint64_t repo_id)> hosts;
  Highlighter highlighter;
  search::Index* search = nullptr;  // the node's search index (docs/search.md); null: off
  // Browser sessions (web/session.h); null when the node gave no store (sign-in disabled).
  std::unique_ptr<SessionStore> sessions;
  uint64_t session_lifetime_ms = 14ull * 24 * 3600 * 1000;
  bool secure_cookies = false;  // served over TLS: cookies carry Secure
  // Pull request git work (api/collab_git.h: mergeability, comparisons, merges), the same code
  // the REST routes use.
  std::shared_ptr<api::PullGit> pulls;
  // Pending review comments (web/pending_review.h); null without a store.
  std::unique_ptr<PendingReviews> pending;
  // The router the web routes were added to (the API page lists its routes); set by
  // add_web_routes.
  const api::Router* router = nullptr;
  // The thread of the blocking browser writes (merge, review). Last: destroyed first.
  std::unique_ptr<Jobs> jobs;
  // The node's notification inbox (api/notifications.h); null: no inbox (header count hidden).
  api::Notifications* notifications = nullptr;
};

// Content-Security-Policy of every HTML page: nothing inline, scripts and styles from this
// origin only, images also over https (README badges), no framing, forms post here only;
// fetch and WebSocket to this origin only (live updates).
inline constexpr const char* kPageCsp =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
// Raw user content: never scripted, even when a browser renders it (SVG).
inline constexpr const char* kRawCsp = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

// Sets the headers every web answer carries (CSP, nosniff, frame and referrer policies).
void security_headers(api::Headers& h, const char* csp = kPageCsp);

// A complete HTML page: `body` inside the layout (header with the node's chain, navigation,
// footer with the heights), with `title` in <title>.
api::Response page(WebEnv& env, int status, std::string_view title, const Html& body);

// The HTML error page for `status` (404 says the page does not exist or is not visible).
api::Response error_page(WebEnv& env, int status, std::string_view message = {});

// True when an Accept header asks for HTML (browsers); API and git clients do not.
bool wants_html(std::string_view accept);

// The server's error hook (api::ServerOptions::error_page): a JSON error answered to a browser
// on a non-API path becomes the HTML error page; everything else is left alone.
std::function<void(std::string_view path, std::string_view accept, api::Response&)> error_page_hook(
    std::shared_ptr<WebEnv> env);

// Writes a Response to a streaming exchange (Content-Length set).
void send(api::Exchange& ex, api::Response r);

using PageFn = api::Response (*)(WebEnv&, api::Request&);
// Runs `fn` and sends its page; a guts::Error or other exception becomes the HTML error page.
void run_page(WebEnv& env, api::Request& req, api::Exchange& ex, PageFn fn);

// A streaming route row's function for page Fn (see routes.cpp).
template <PageFn Fn>
void serve(WebEnv& env, api::Request& req, api::Exchange& ex) {
  run_page(env, req, ex, Fn);
}

// A 302 redirect to a local path.
api::Response redirect(std::string location);
// A 303 See Other (the answer to a form POST): the browser GETs `location`.
api::Response see_other(std::string location);

// The CSRF token of the request's forms (api/auth.h): bound to the session cookie, or before
// sign-in to the pre-session cookie; empty when the request has neither.
std::string form_csrf(const api::Request& req);
// <input type="hidden" name="csrf" value="..."> for a form of this request.
void csrf_field(Html& h, const api::Request& req);
// A button that POSTs to `action` (a local path) with the CSRF token and hidden fields.
void post_button(Html& h, const api::Request& req, std::string_view action, std::string_view label,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

// The ?page= of a paginated page: a positive number, 1 when absent or malformed.
size_t page_number(const api::Request& req);

}  // namespace guts::web
