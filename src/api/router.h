// Request routing: method + path pattern -> handler. Patterns are '/'-separated segments:
// static text, `{name}` (one non-empty segment), or a final `{name...}` catch-all matching the
// rest of the path (zero or more segments, slashes included). Among the routes that match a
// path, the most specific wins, compared segment by segment: static beats `{param}` beats
// catch-all, and an exact-length match beats a catch-all matching nothing.
//
// The router is filled at startup and then shared read-only (std::shared_ptr<const Router>);
// match() is thread-safe as long as nothing is added concurrently.
#pragma once

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

 private:
  struct Route;
  void add_route(std::unique_ptr<Route> route);
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace guts::api
