#include "state/codeowners.h"

#include <algorithm>

namespace guts::state {

namespace {

constexpr size_t kMaxOwner = 255;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool owner_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// "" when `o` is a well-formed owner, else why not.
std::string owner_error(std::string_view o) {
  if (o.size() > kMaxOwner) return "owner is longer than 255 bytes";
  if (o.starts_with('@')) {
    std::string_view name = o.substr(1);
    size_t slash = name.find('/');
    std::string_view a = name.substr(0, slash);
    std::string_view b =
        slash == std::string_view::npos ? std::string_view{} : name.substr(slash + 1);
    if (a.empty() || (slash != std::string_view::npos && b.empty()))
      return "owner " + std::string(o) + " is not @user or @org/team";
    for (char c : a)
      if (!owner_char(c)) return "owner " + std::string(o) + " is not @user or @org/team";
    for (char c : b)
      if (!owner_char(c)) return "owner " + std::string(o) + " is not @user or @org/team";
    return "";
  }
  size_t at = o.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= o.size())
    return "owner " + std::string(o) + " is not @user, @org/team or an email address";
  return "";
}

// "" and the compiled rule, or why the pattern is not supported.
std::string compile(std::string_view pattern, CodeownersRule& r) {
  if (pattern.starts_with('!')) return "negation (!) is not supported";
  if (pattern.find_first_of("[]\\") != std::string_view::npos)
    return "character classes and escapes are not supported";
  std::string_view p = pattern;
  if (p.ends_with('/')) {
    r.dir_only = true;
    p.remove_suffix(1);
  }
  bool anchored = false;
  if (p.starts_with('/')) {
    anchored = true;
    p.remove_prefix(1);
  }
  if (p.empty()) return "empty pattern";
  if (p.find('/') != std::string_view::npos) anchored = true;
  if (!anchored) r.segments.emplace_back("**");
  size_t i = 0;
  while (true) {
    size_t slash = p.find('/', i);
    std::string_view seg = p.substr(i, slash == std::string_view::npos ? p.size() - i : slash - i);
    if (seg.empty()) return "empty path segment";
    if (seg.find("**") != std::string_view::npos && seg != "**")
      return "** must be a whole path segment";
    r.segments.emplace_back(seg);
    if (r.segments.size() > kMaxCodeownersSegments) return "too many path segments";
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  const std::string& last = r.segments.back();
  r.prefix_ok = last == "**" || last.find_first_of("*?") == std::string::npos;
  return "";
}

// One path segment against one pattern segment (`*`, `?`; no '/' on either side): the classic
// greedy wildcard match, O(|p|·|s|) at worst.
bool segment_matches(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi, ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

Codeowners parse_codeowners(std::string_view text) {
  Codeowners out;
  if (text.size() > kMaxCodeownersBytes) {
    out.errors.push_back("file is larger than " + std::to_string(kMaxCodeownersBytes) +
                         " bytes: ignored");
    return out;
  }
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    auto err = [&](const std::string& why) {
      out.errors.push_back("line " + std::to_string(line_no) + ": " + why);
    };
    if (line.size() > kMaxCodeownersLine) {
      err("line is longer than " + std::to_string(kMaxCodeownersLine) + " bytes");
      continue;
    }
    auto toks = tokens(line);
    if (toks.empty() || toks[0].starts_with('#')) continue;
    CodeownersRule r;
    r.pattern = std::string(toks[0]);
    r.line = line_no;
    if (auto e = compile(toks[0], r); !e.empty()) {
      err(e);
      continue;
    }
    std::string bad;
    for (size_t i = 1; i < toks.size() && bad.empty(); ++i) {
      if (toks[i].starts_with('#')) break;  // a trailing comment
      if (r.owners.size() >= kMaxCodeownersOwners) {
        bad = "more than " + std::to_string(kMaxCodeownersOwners) + " owners";
        break;
      }
      bad = owner_error(toks[i]);
      if (bad.empty()) r.owners.emplace_back(toks[i]);
    }
    if (!bad.empty()) {
      err(bad);
      continue;
    }
    out.rules.push_back(std::move(r));
  }
  return out;
}

bool codeowners_rule_matches(const CodeownersRule& rule, std::string_view path) {
  std::vector<std::string_view> s;
  for (size_t i = 0; i <= path.size();) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) s.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  if (s.empty()) return false;
  const auto& p = rule.segments;
  const size_t P = p.size(), n = s.size();
  // m[i][j]: pattern segments i.. match path segments j.. (to the end, or a directory prefix).
  std::vector<char> m((P + 1) * (n + 1), 0);
  auto at = [&](size_t i, size_t j) -> char& { return m[i * (n + 1) + j]; };
  for (size_t j = 0; j <= n; ++j)
    at(P, j) = j == n ? !rule.dir_only : (rule.prefix_ok || rule.dir_only);
  for (size_t i = P; i-- > 0;) {
    for (size_t j = n + 1; j-- > 0;) {
      if (p[i] == "**")
        at(i, j) = at(i + 1, j) || (j < n && at(i, j + 1));
      else
        at(i, j) = j < n && segment_matches(p[i], s[j]) && at(i + 1, j + 1);
    }
  }
  return at(0, 0);
}

const CodeownersRule* codeowners_for(const Codeowners& file, std::string_view path) {
  for (auto it = file.rules.rbegin(); it != file.rules.rend(); ++it)
    if (codeowners_rule_matches(*it, path)) return &*it;
  return nullptr;
}

}  // namespace guts::state
