// A small blocking HTTP client for the guts CLI and tests (libcurl underneath). One client per
// thread: it reuses one connection (keep-alive) between requests. https:// URLs are verified
// against the system's CA certificates, or the PEM file named by GUTS_CA_FILE (a private CA).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace guts::cli {

struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

struct HttpResult {
  int status = 0;
  std::string body;
  // Response header names in lower case; repeated headers are joined with ", ".
  std::map<std::string, std::string, CaseInsensitiveLess> headers;

  std::string header(std::string_view name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  // base_url: "http://127.0.0.1:8080" (a trailing '/' is dropped). Paths are appended as given.
  explicit HttpClient(std::string base_url);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  void set_token(std::string token);  // sends "Authorization: token <t>"; empty = none
  // CA certificates (PEM) that verify an https:// node instead of the system's; the default is
  // $GUTS_CA_FILE when set. Empty: the system's.
  void set_ca_file(std::string path);
  void set_timeout(std::chrono::milliseconds timeout);  // whole request; 0 = none (default 30 s)
  // Extra request header sent with every request (e.g. "Accept"); replaces a previous value.
  void set_header(std::string name, std::string value);
  // Largest response body accepted (0: no bound, the default); a larger one fails the request
  // with Error(kTooLarge). For untrusted servers (guts migrate's source).
  void set_max_response_bytes(size_t max);
  const std::string& base_url() const;

  // Throws guts::Error(kUnavailable, "cannot reach node at <url>: <curl error>") when the
  // request cannot be completed (connection refused, reset, timeout). HTTP error statuses are
  // returned, not thrown.
  HttpResult request(std::string_view method, std::string_view path_and_query,
                     std::string_view body = {},
                     std::string_view content_type = "application/json");
  HttpResult get(std::string_view path_and_query) { return request("GET", path_and_query); }
  HttpResult head(std::string_view path_and_query) { return request("HEAD", path_and_query); }
  HttpResult del(std::string_view path_and_query, std::string_view body = {}) {
    return request("DELETE", path_and_query, body);
  }
  HttpResult post(std::string_view path_and_query, std::string_view body,
                  std::string_view content_type = "application/json") {
    return request("POST", path_and_query, body, content_type);
  }
  HttpResult put(std::string_view path_and_query, std::string_view body,
                 std::string_view content_type = "application/json") {
    return request("PUT", path_and_query, body, content_type);
  }
  HttpResult patch(std::string_view path_and_query, std::string_view body,
                   std::string_view content_type = "application/json") {
    return request("PATCH", path_and_query, body, content_type);
  }

  // Connections opened by the last request (0 when an existing one was reused).
  long last_new_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything but ASCII letters, digits and "-_.~" (a path segment or a query
// value).
std::string percent_encode(std::string_view s);

}  // namespace guts::cli
