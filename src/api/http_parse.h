// Pure parsing helpers for request targets and query strings, used by the HTTP server and router.
// No I/O and no Boost: safe to fuzz (fuzz/http_request_fuzz.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace guts::api {

struct ParsedTarget {
  std::string raw_path;  // path as sent, still percent-encoded (what the router matches)
  std::string path;      // percent-decoded path
  std::string query;     // raw query string without '?', may be empty
};

// Parses an origin-form request target ("/a/b%20c?x=1"), or an absolute-form one
// ("http://host/a?x=1", reduced to its path and query). Rejects (nullopt): an empty target, a
// path not starting with '/', an invalid percent escape in the path, a decoded NUL, control
// characters (< 0x20, 0x7f), and "." or ".." path segments (raw or decoded). A fragment is
// ignored.
std::optional<ParsedTarget> parse_target(std::string_view target);

// Strict percent-decoding: nullopt on a malformed escape or a decoded NUL. '+' stays '+'.
std::optional<std::string> percent_decode_path(std::string_view in);

// Lenient decoding for query components: '+' becomes ' ', malformed escapes are kept literally.
std::string percent_decode_query(std::string_view in);

// Percent-encodes everything outside RFC 3986 unreserved characters; '/' kept when keep_slash.
std::string percent_encode(std::string_view in, bool keep_slash = false);

// Value of the first query parameter `name` in a raw query string ("a=1&b=x%20y"), decoded.
// A parameter without '=' has the empty value.
std::optional<std::string> find_query_param(std::string_view query, std::string_view name);

}  // namespace guts::api
