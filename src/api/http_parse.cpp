#include "api/http_parse.h"

namespace guts::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_dot_segment(std::string_view s) {
  return s == "." || s == "..";
}

// True if any '/'-separated segment of `path` is "." or "..".
bool has_dot_segment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (is_dot_segment(path.substr(start, end - start))) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<std::string> percent_decode_path(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string percent_decode_query(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<ParsedTarget> parse_target(std::string_view target) {
  if (target.empty()) return std::nullopt;
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return std::nullopt;
  }
  std::string rooted;
  if (target.front() != '/') {
    // absolute-form: scheme "://" authority path-abempty
    size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
    for (size_t i = 0; i < scheme_end; ++i) {
      char c = target[i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
      if (!ok) return std::nullopt;
    }
    size_t path_start = target.find_first_of("/?#", scheme_end + 3);
    if (path_start == std::string_view::npos) {
      target = "/";
    } else if (target[path_start] == '/') {
      target = target.substr(path_start);
    } else {
      // "http://host?x" -> "/?x"
      rooted = "/";
      rooted.append(target.substr(path_start));
      target = rooted;
    }
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);

  ParsedTarget out;
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  if (has_dot_segment(raw_path)) return std::nullopt;
  auto decoded = percent_decode_path(raw_path);
  if (!decoded) return std::nullopt;
  if (has_dot_segment(*decoded)) return std::nullopt;
  out.raw_path = std::string(raw_path);
  out.path = std::move(*decoded);
  return out;
}

std::optional<std::string> find_query_param(std::string_view query, std::string_view name) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string_view key = pair.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      if (percent_decode_query(key) == name) return percent_decode_query(value);
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace guts::api
