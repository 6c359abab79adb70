#include "api/scopes.h"

#include <algorithm>

namespace guts::api {

namespace {

// (scope, the broader scope that covers it). Coverage is transitive.
constexpr std::pair<std::string_view, std::string_view> kParents[] = {
    {"public_repo", "repo"},
    {"repo:status", "repo"},
    {"repo_deployment", "repo"},
    {"repo:invite", "repo"},
    {"read:org", "write:org"},
    {"write:org", "admin:org"},
    {"read:repo_hook", "write:repo_hook"},
    {"write:repo_hook", "admin:repo_hook"},
    {"read:user", "user"},
    {"user:email", "user"},
    {"user:follow", "user"},
    {"read:public_key", "write:public_key"},
    {"write:public_key", "admin:public_key"},
};

std::string_view parent_of(std::string_view s) {
  for (const auto& [child, parent] : kParents)
    if (child == s) return parent;
  return {};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

}  // namespace

const std::vector<std::string>& known_scopes() {
  static const std::vector<std::string> kScopes = {
      "repo",           "public_repo",      "repo:status",      "repo_deployment",
      "repo:invite",    "delete_repo",      "admin:org",        "write:org",
      "read:org",       "admin:repo_hook",  "write:repo_hook",  "read:repo_hook",
      "admin:org_hook", "admin:public_key", "write:public_key", "read:public_key",
      "user",           "read:user",        "user:email",       "user:follow",
      "workflow",       "write:packages",   "read:packages",    "delete:packages"};
  return kScopes;
}

bool is_known_scope(std::string_view scope) {
  const auto& all = known_scopes();
  return std::find(all.begin(), all.end(), scope) != all.end();
}

bool scope_covers(std::string_view held, std::string_view needed) {
  for (std::string_view s = needed; !s.empty(); s = parent_of(s))
    if (s == held) return true;
  return false;
}

bool holds_any(const std::vector<std::string>& held, const std::vector<std::string>& accepted) {
  if (accepted.empty()) return true;
  for (const auto& a : accepted)
    for (const auto& h : held)
      if (scope_covers(h, a)) return true;
  return false;
}

std::vector<std::string> accepted_scopes(const ScopeQuery& q) {
  using List = std::vector<std::string>;
  const bool read = q.method == "GET" || q.method == "HEAD";
  const auto& a = q.access;
  const auto& r = q.route;
  if (a.rfind("repo:", 0) == 0) {
    // Git's smart HTTP: a fetch is a read (its POST to git-upload-pack too), a push a write.
    bool reading = read || ends_with(r, "/git-upload-pack");
    if (contains(r, "/hooks")) return {reading ? "read:repo_hook" : "write:repo_hook"};
    if (q.method == "DELETE" && ends_with(r, "/repos/{owner}/{repo}")) return {"delete_repo"};
    if (reading) return q.repo_private ? List{"repo"} : List{};
    if (contains(r, "/statuses/")) return {"repo:status"};
    return {q.repo_private ? "repo" : "public_repo"};
  }
  if (a.rfind("org:", 0) == 0 || a.rfind("team:", 0) == 0) {
    if (contains(r, "/hooks")) return {"admin:org_hook"};
    if (read) return a == "org:read" ? List{} : List{"read:org"};
    if (ends_with(r, "/orgs/{org}/repos")) return {"public_repo"};  // creates a repository
    return {a == "org:admin" ? "admin:org" : "write:org"};
  }
  if (a == "user" && !read) {
    if (ends_with(r, "/user/repos")) return {"public_repo"};
    if (contains(r, "/orgs") || contains(r, "/organizations")) return {"write:org"};
    if (contains(r, "/keys")) return {"write:public_key"};
    if (contains(r, "/tokens")) return {};  // the token in use; minting is for login tokens
    // GraphQL: each field is checked as the REST request it makes (api/graphql).
    if (ends_with(r, "/api/graphql")) return {};
    return {"user"};
  }
  return {};  // public routes, reads of "user" routes, operator and admin (not token scopes)
}

std::string scope_header(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::optional<std::vector<std::string>> normalize_scopes(const std::vector<std::string>& in,
                                                         std::string* bad) {
  for (const auto& s : in)
    if (!is_known_scope(s)) {
      if (bad) *bad = s;
      return std::nullopt;
    }
  std::vector<std::string> out;
  for (const auto& k : known_scopes())
    if (std::find(in.begin(), in.end(), k) != in.end()) out.push_back(k);
  return out;
}

}  // namespace guts::api
