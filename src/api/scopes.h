// Token scopes (GitHub's OAuth scope names, docs/api.md "Tokens and scopes"): what a token may
// do on its owner's behalf, on top of what the owner may do. The one place that says which
// scope a route needs: the authorization middleware (api/auth.cpp) asks `accepted_scopes`
// after it resolved the route's access, and refuses the request unless the token holds one of
// them (directly or through a broader scope: `repo` covers `public_repo` and `repo:status`,
// `admin:org` covers `write:org` covers `read:org`, ...).
//
// A login token (`guts auth login`) holds every scope; personal access tokens hold what they
// were created with. Reading public data needs no scope, as on GitHub.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guts::api {

// Every scope name a token may hold, in the order X-OAuth-Scopes lists them.
const std::vector<std::string>& known_scopes();
bool is_known_scope(std::string_view scope);

// Whether `held` grants `needed` (equal, or a broader scope that covers it).
bool scope_covers(std::string_view held, std::string_view needed);
bool holds_any(const std::vector<std::string>& held, const std::vector<std::string>& accepted);

// What a request needs. `access` is the route's declared access (api/auth.h); `repo_private`
// tells repo:* routes whether the repository is private. Empty: no scope needed.
struct ScopeQuery {
  std::string_view access;
  std::string_view method;  // "GET", "POST", ...
  std::string_view route;   // the matched route pattern, e.g. "/api/v3/repos/{owner}/{repo}"
  bool repo_private = false;
};
std::vector<std::string> accepted_scopes(const ScopeQuery& q);

// The comma-separated list for X-OAuth-Scopes / X-Accepted-OAuth-Scopes ("repo, read:org").
std::string scope_header(const std::vector<std::string>& scopes);

// Normalizes a requested scope list: known names only, sorted as known_scopes(), no
// duplicates. nullopt (with the bad name in *bad) when a name is unknown.
std::optional<std::vector<std::string>> normalize_scopes(const std::vector<std::string>& in,
                                                         std::string* bad = nullptr);

}  // namespace guts::api
