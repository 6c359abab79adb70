#include "api/router.h"

#include <algorithm>
#include <set>

#include "api/http_parse.h"
#include "core/status.h"

namespace guts::api {

namespace {

enum class SegKind { kStatic = 0, kParam = 1, kCatchAll = 2 };

struct Segment {
  SegKind kind;
  std::string text;  // static text, or the parameter name
};

std::vector<std::string_view> split_path(std::string_view path) {
  // "/a/b" -> {"a","b"}; "/" -> {}; trailing slash ignored.
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<Segment> parse_pattern(const std::string& pattern) {
  auto fail = [&](const std::string& why) {
    throw Error(Code::kInvalidArgument, "invalid route pattern '" + pattern + "': " + why);
  };
  if (pattern.empty() || pattern.front() != '/') fail("must start with '/'");
  std::vector<Segment> out;
  std::set<std::string> names;
  auto parts = split_path(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.empty()) fail("empty segment");
    if (p.front() == '{') {
      if (p.back() != '}' || p.size() < 3) fail("malformed parameter");
      std::string_view name = p.substr(1, p.size() - 2);
      SegKind kind = SegKind::kParam;
      if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
        name.remove_suffix(3);
        kind = SegKind::kCatchAll;
        if (i + 1 != parts.size()) fail("catch-all must be the last segment");
      }
      if (name.empty() || name.find_first_of("{}/.") != std::string_view::npos) {
        fail("malformed parameter name");
      }
      if (!names.insert(std::string(name)).second) fail("repeated parameter name");
      out.push_back({kind, std::string(name)});
    } else {
      if (p.find_first_of("{}") != std::string_view::npos) fail("braces inside a static segment");
      out.push_back({SegKind::kStatic, std::string(p)});
    }
  }
  return out;
}

}  // namespace

struct Router::Route {
  std::string method;
  std::string pattern;
  std::string access;
  std::vector<Segment> segments;
  Handler handler;
  StreamingHandler streaming;

  // Matches and returns the specificity score (lower is better), filling params when asked.
  bool match(const std::vector<std::string_view>& parts, std::vector<int>* score,
             std::map<std::string, std::string>* params) const {
    score->clear();
    size_t i = 0;
    for (; i < segments.size(); ++i) {
      const Segment& seg = segments[i];
      if (seg.kind == SegKind::kCatchAll) {
        score->push_back(static_cast<int>(SegKind::kCatchAll));
        if (params) {
          // The rest of the raw path from segment i on, decoded as a whole.
          std::string rest;
          for (size_t j = i; j < parts.size(); ++j) {
            if (j > i) rest.push_back('/');
            rest.append(parts[j]);
          }
          auto decoded = percent_decode_path(rest);
          if (!decoded) return false;
          (*params)[seg.text] = std::move(*decoded);
        }
        return true;
      }
      if (i >= parts.size()) return false;
      if (seg.kind == SegKind::kStatic) {
        // Compare against the decoded segment (cheap path first).
        if (parts[i] != seg.text) {
          if (parts[i].find('%') == std::string_view::npos) return false;
          auto decoded = percent_decode_path(parts[i]);
          if (!decoded || *decoded != seg.text) return false;
        }
        score->push_back(static_cast<int>(SegKind::kStatic));
      } else {
        if (parts[i].empty()) return false;
        if (params) {
          auto decoded = percent_decode_path(parts[i]);
          if (!decoded || decoded->empty()) return false;
          (*params)[seg.text] = std::move(*decoded);
        }
        score->push_back(static_cast<int>(SegKind::kParam));
      }
    }
    return i == parts.size();
  }

  // Two patterns are equivalent if they have the same segment kinds and static texts.
  bool same_shape(const Route& o) const {
    if (segments.size() != o.segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].kind != o.segments[i].kind) return false;
      if (segments[i].kind == SegKind::kStatic && segments[i].text != o.segments[i].text) {
        return false;
      }
    }
    return true;
  }
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

size_t Router::size() const {
  return routes_.size();
}

std::vector<Router::RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_)
    out.push_back({r->method, r->pattern, r->access, static_cast<bool>(r->streaming)});
  return out;
}

void Router::add(std::string method, std::string pattern, std::string access, Handler handler) {
  if (!handler) throw Error(Code::kInvalidArgument, "route " + pattern + ": empty handler");
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->access = std::move(access);
  r->handler = std::move(handler);
  add_route(std::move(r));
}

void Router::add_streaming(std::string method, std::string pattern, std::string access,
                           StreamingHandler handler) {
  if (!handler) throw Error(Code::kInvalidArgument, "route " + pattern + ": empty handler");
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->access = std::move(access);
  r->streaming = std::move(handler);
  add_route(std::move(r));
}

void Router::add_route(std::unique_ptr<Route> route) {
  if (route->method.empty()) throw Error(Code::kInvalidArgument, "route: empty method");
  route->segments = parse_pattern(route->pattern);
  for (const auto& r : routes_) {
    if (r->method == route->method && r->same_shape(*route)) {
      throw Error(Code::kInvalidArgument, "route " + route->method + " " + route->pattern +
                                              " conflicts with " + r->pattern);
    }
  }
  routes_.push_back(std::move(route));
}

RouteMatch Router::match(std::string_view method, std::string_view raw_path) const {
  RouteMatch out;
  auto parts = split_path(raw_path);
  const Route* best = nullptr;
  std::vector<int> best_score;
  bool best_exact_method = false;
  std::vector<int> score;
  std::set<std::string> allowed;
  for (const auto& r : routes_) {
    if (!r->match(parts, &score, nullptr)) continue;
    allowed.insert(r->method);
    bool exact = r->method == method;
    bool head_fallback = !exact && method == "HEAD" && r->method == "GET";
    if (!exact && !head_fallback) continue;
    // An exact method beats the HEAD->GET fallback; then specificity decides.
    if (!best || (exact && !best_exact_method) ||
        (exact == best_exact_method && score < best_score)) {
      best = r.get();
      best_score = score;
      best_exact_method = exact;
    }
  }
  if (best) {
    std::vector<int> ignored;
    if (best->match(parts, &ignored, &out.params)) {
      out.result = RouteMatch::Result::kFound;
      out.handler = best->handler ? &best->handler : nullptr;
      out.streaming_handler = best->streaming ? &best->streaming : nullptr;
      out.access = best->access;
      out.pattern = best->pattern;
      return out;
    }
    return out;  // undecodable parameter: not found
  }
  if (!allowed.empty()) {
    if (allowed.count("GET")) allowed.insert("HEAD");
    out.result = RouteMatch::Result::kMethodNotAllowed;
    out.allowed.assign(allowed.begin(), allowed.end());
  }
  return out;
}

void detail::check_route_row(const char* method, const char* pattern, bool buffered,
                             bool streaming) {
  if (buffered == streaming)
    throw Error(Code::kInvalidArgument, std::string("route ") + (method ? method : "") + " " +
                                            (pattern ? pattern : "") +
                                            ": a table row needs exactly one handler");
}

std::string RouteMatch::allow_header() const {
  std::string s;
  for (const auto& m : allowed) {
    if (!s.empty()) s += ", ";
    s += m;
  }
  return s;
}

}  // namespace guts::api
