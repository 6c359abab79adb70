// Request routing: method + path pattern -> handler. Patterns are '/'-separated segments:
// static text, `{name}` (one non-empty segment), or a final `{name...}` catch-all matching the
// rest of the path (zero or more segments, slashes included). Among the routes that match a
// path, the most specific wins, compared segment by segment: static beats `{param}` beats
// catch-all, and an exact-length match beats a catch-all matching nothing.
//
// The router is filled at startup and then shared read-only (std::shared_ptr<const Router>);
// match() is thread-safe as long as nothing is added concurrently.
//
// How routes are written: every handler is a named function in the file of its resource, and
// each file registers its routes from one table of RouteSpec rows (method, pattern, access,
// handler) with add_routes(). A handler takes the context of its file first, then the request:
//
//   void get_issue(Services& svc, Request& req, Responder respond);          // buffered
//   void info_refs(GitEnv& env, Request& req, Exchange& ex);                 // streaming
//   const RouteSpec<Services> kIssueRoutes[] = {
//       {"GET", "/issues/{number}", "repo:read", &get_issue},
//       {"GET", "/branches", "repo:read", nullptr, &branches}};              // streaming row
//   add_routes(router, svc, "/api/v3/repos/{owner}/{repo}", kIssueRoutes);
//
// The context is whatever the handlers of that file need: Services for most, a small struct
// of the file for the others (collab::CollabEnv, GitEnv, ...). add_routes() binds it, so a
// context passed by reference must outlive the router; one passed as a shared_ptr is kept
// alive by the routes.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"

namespace guts::api {

struct RouteMatch {
  enum class Result { kFound, kNotFound, kMethodNotAllowed };
  Result result = Result::kNotFound;

  // kFound: exactly one of these is non-null. They point into the Router, which must outlive
  // the use of the match and must not be modified meanwhile.
  const Handler* handler = nullptr;
  const StreamingHandler* streaming_handler = nullptr;
  std::map<std::string, std::string> params;  // percent-decoded values
  std::string access;                         // as declared at registration
  std::string pattern;                        // the route's pattern, e.g. for logs and metrics

  // kMethodNotAllowed: the methods the path accepts, sorted ("GET, HEAD, POST" in Allow).
  std::vector<std::string> allowed;

  bool found() const { return result == Result::kFound; }
  bool streaming() const { return streaming_handler != nullptr; }
  std::string allow_header() const;  // allowed joined with ", "
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers a buffered route. `method` is upper-case ("GET"); `access` is one of the access
  // strings of Request::access. Throws guts::Error(kInvalidArgument) on a malformed pattern (not
  // starting with '/', empty or unclosed `{}`, a catch-all not last, a repeated parameter name)
  // or when the same method is already registered for an equivalent pattern.
  void add(std::string method, std::string pattern, std::string access, Handler handler);
  // Registers a streaming route (see Exchange); same rules as add().
  void add_streaming(std::string method, std::string pattern, std::string access,
                     StreamingHandler handler);

  // Matches a request. `raw_path` is the path as sent (percent-encoded, without query): params
  // are decoded segment by segment, so "%2F" inside a `{param}` stays part of that param.
  // A single trailing '/' is ignored (except for "/"). HEAD falls back to a GET route.
  RouteMatch match(std::string_view method, std::string_view raw_path) const;

  size_t size() const;

  // What is registered, in registration order (the OpenAPI document, web/api_page.cpp).
  struct RouteInfo {
    std::string method, pattern, access;
    bool streaming = false;
  };
  std::vector<RouteInfo> routes() const;

 private:
  struct Route;
  void add_route(std::unique_ptr<Route> route);
  std::vector<std::unique_ptr<Route>> routes_;
};

// One row of a route table (see the top of this file). Exactly one of handler and streaming is
// set; `pattern` is appended to the prefix given to add_routes().
template <class Ctx>
struct RouteSpec {
  const char* method;
  const char* pattern;
  const char* access;
  void (*handler)(Ctx&, Request&, Responder) = nullptr;
  void (*streaming)(Ctx&, Request&, Exchange&) = nullptr;
};

namespace detail {
// Throws guts::Error(kInvalidArgument) unless exactly one handler is set.
void check_route_row(const char* method, const char* pattern, bool buffered, bool streaming);
}  // namespace detail

// Registers every row of `table` under `prefix`, each handler bound to `ctx`. Throws like
// Router::add (a malformed pattern, a route registered twice).
template <class Ctx, size_t N>
void add_routes(Router& router, std::shared_ptr<Ctx> ctx, std::string_view prefix,
                const RouteSpec<Ctx> (&table)[N]) {
  for (const RouteSpec<Ctx>& row : table) {
    detail::check_route_row(row.method, row.pattern, row.handler != nullptr,
                            row.streaming != nullptr);
    std::string pattern = std::string(prefix) + row.pattern;
    if (row.handler) {
      router.add(row.method, std::move(pattern), row.access,
                 [ctx, fn = row.handler](Request& req, Responder respond) {
                   fn(*ctx, req, std::move(respond));
                 });
    } else {
      router.add_streaming(
          row.method, std::move(pattern), row.access,
          [ctx, fn = row.streaming](Request& req, Exchange& ex) { fn(*ctx, req, ex); });
    }
  }
}
// The same with a context that outlives the router (not owned by the routes).
template <class Ctx, size_t N>
void add_routes(Router& router, Ctx& ctx, std::string_view prefix,
                const RouteSpec<Ctx> (&table)[N]) {
  add_routes(router, std::shared_ptr<Ctx>(std::shared_ptr<Ctx>(), &ctx), prefix, table);
}

}  // namespace guts::api
