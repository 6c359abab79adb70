// The HTTP contract between the server (Beast, in http_server.cpp) and everything that handles
// requests. Handlers never see Beast or Asio: they get a Request and answer through a Responder,
// which may be called later from any thread (e.g. once a transaction's block is applied).
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guts::api {

// Header names compare case-insensitively; order and repeats are preserved.
class Headers {
 public:
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  void set(std::string name, std::string value);                // replaces all of that name
  std::optional<std::string> get(std::string_view name) const;  // first match
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Who is calling, as established by the authentication middleware (api/auth.h).
struct Principal {
  bool authenticated = false;
  std::string did;                  // did:key of the user
  std::string username;             // registered username, may be empty
  std::string token_id;             // hex id of the token used (never the token itself)
  bool login_token = false;         // a login token (every scope), not a personal one
  std::vector<std::string> scopes;  // what the token grants (api/scopes.h)
  std::vector<uint64_t> repo_ids;   // non-empty: the only repositories the token reaches
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: path + "?" + query
  std::string path;    // percent-decoded path, no query
  std::string query;   // raw query string without '?'
  Headers headers;
  std::string body;  // complete body (bounded by the server's limit) for buffered routes
  std::string remote_address;
  // X-Request-Id: the client's (api/request_id.h) or one the server made; echoed in the
  // response and written in the access log.
  std::string request_id;
  std::map<std::string, std::string> params;  // path parameters filled by the router
  Principal principal;                        // filled by the auth middleware
  // The access the matched route requires, as declared when it was registered: "public",
  // "user" (authenticated), "repo:read", "repo:write", "repo:admin". The authorization
  // middleware (one place, never per endpoint) enforces it using `params` owner/repo.
  std::string access;
  std::string route;    // the matched route's pattern ("/api/v3/repos/{owner}/{repo}")
  std::any route_data;  // optional data attached by middleware
  // Headers every response to this request carries (set by middleware: X-OAuth-Scopes,
  // X-RateLimit-*); a header the handler set itself wins.
  Headers response_headers;

  // Percent-decoded value of the first `name` query parameter.
  std::optional<std::string> query_param(std::string_view name) const;
  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
};

// Called exactly once per request, from any thread.
using Responder = std::function<void(Response)>;

// A buffered handler: the whole request body is available in Request::body.
using Handler = std::function<void(Request&, Responder)>;

// A streaming exchange, for git's smart HTTP: the request body is pulled in chunks and the
// response is written as it is produced (chunked transfer encoding). Runs on a worker thread,
// so blocking calls are fine. Content-Encoding: gzip request bodies are decoded by the server.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // Reads up to n body bytes; returns 0 at end of body. Throws on I/O error or timeout.
  virtual size_t read_body(uint8_t* buf, size_t n) = 0;
  // Starts the response. Without a Content-Length header, the body is sent chunked.
  virtual void begin_response(int status, const Headers& headers) = 0;
  virtual void write(std::string_view data) = 0;  // throws if the client went away
  virtual void finish() = 0;
};
using StreamingHandler = std::function<void(Request&, Exchange&)>;

// Middleware sees every request before its handler. It may answer (returning true), e.g. 401,
// or fill Request::principal and return false to pass the request on.
using Middleware = std::function<bool(Request&, const Responder&)>;

}  // namespace guts::api
