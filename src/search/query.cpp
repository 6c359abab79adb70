#include "search/query.h"

#include <algorithm>

#include "core/status.h"

namespace guts::search {

namespace {

[[noreturn]] void bad(const std::string& why) {
  throw Error(Code::kInvalidArgument, "invalid search query: " + why);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Reads one token starting at `i`: a run of non-space characters in which "..." sections may
// contain spaces. Returns the token with the quotes removed and whether any part was quoted.
std::string read_token(std::string_view q, size_t& i, bool* quoted) {
  std::string out;
  *quoted = false;
  while (i < q.size() && !is_space(q[i])) {
    if (q[i] == '"') {
      *quoted = true;
      size_t end = q.find('"', i + 1);
      if (end == std::string_view::npos) bad("unterminated quote");
      out.append(q.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      out += q[i++];
    }
  }
  return out;
}

}  // namespace

Query parse_query(std::string_view q) {
  if (q.size() > kMaxQueryBytes)
    bad("longer than " + std::to_string(kMaxQueryBytes) + " characters");
  Query out;
  size_t tokens = 0;
  size_t i = 0;
  while (i < q.size()) {
    if (is_space(q[i])) {
      ++i;
      continue;
    }
    if (++tokens > kMaxTokens) bad("more than " + std::to_string(kMaxTokens) + " terms");
    bool quoted = false;
    size_t start = i;
    std::string token = read_token(q, i, &quoted);
    size_t colon = token.find(':');
    // A qualifier is `name:value` with the name unquoted: the raw text has the colon before
    // any quote.
    std::string_view raw = q.substr(start, i - start);
    size_t raw_colon = raw.find(':');
    bool qualifier = colon != std::string::npos && colon > 0 && raw_colon != std::string::npos &&
                     raw.substr(0, raw_colon).find('"') == std::string_view::npos;
    if (!qualifier) {
      if (!token.empty()) out.terms.push_back(token);
      continue;
    }
    std::string name = lower(token.substr(0, colon));
    std::string value = token.substr(colon + 1);
    if (value.empty()) bad("qualifier " + name + ": has no value");
    std::string v = lower(value);
    if (name == "repo") {
      if (value.find('/') == std::string::npos) bad("repo: needs owner/name");
      out.repo = value;
    } else if (name == "user" || name == "org" || name == "owner") {
      out.owner = value;
    } else if (name == "is" || name == "type" || name == "state") {
      if ((name != "state") && (v == "issue" || v == "issues")) {
        out.is_pull = false;
      } else if (name != "state" && (v == "pr" || v == "pull-request" || v == "pull")) {
        out.is_pull = true;
      } else if (name != "type" && v == "open") {
        out.open = true;
      } else if (name != "type" && v == "closed") {
        out.open = false;
      } else if (name == "is" && v == "merged") {
        out.merged = true;
        out.is_pull = true;
      } else if (name == "is" && v == "public") {
        out.is_private = false;
      } else if (name == "is" && v == "private") {
        out.is_private = true;
      } else {
        bad(name + ":" + value + " is not a known value");
      }
    } else if (name == "author") {
      out.author = value;
    } else if (name == "label") {
      out.labels.push_back(value);
    } else if (name == "in") {
      size_t p = 0;
      while (p <= v.size()) {
        size_t comma = v.find(',', p);
        std::string field = v.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
        static const char* const kFields[] = {"title",       "body", "comments", "name",
                                              "description", "file", "path"};
        if (std::find(std::begin(kFields), std::end(kFields), field) == std::end(kFields))
          bad("in:" + field + " is not a known field");
        if (std::find(out.in.begin(), out.in.end(), field) == out.in.end()) out.in.push_back(field);
        if (comma == std::string::npos) break;
        p = comma + 1;
      }
    } else if (name == "path") {
      out.path = value;
    } else if (name == "extension" || name == "ext") {
      out.extension = value[0] == '.' ? value.substr(1) : value;
      if (out.extension->empty()) bad("extension: has no value");
    } else {
      out.terms.push_back(token);  // GitHub searches unknown qualifiers as text
    }
  }
  return out;
}

std::string fts_match(const std::vector<std::string>& terms,
                      const std::vector<std::string>& columns, bool prefix) {
  std::string expr;
  for (const auto& term : terms) {
    std::string quoted = "\"";
    for (char c : term) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    quoted += '"';
    if (prefix) quoted += '*';
    if (!expr.empty()) expr += " AND ";
    expr += quoted;
  }
  if (expr.empty() || columns.empty()) return expr;
  std::string cols = "{";
  for (size_t i = 0; i < columns.size(); ++i) cols += (i ? " " : "") + columns[i];
  return cols + "} : (" + expr + ")";
}

}  // namespace guts::search
