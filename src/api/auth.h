// Authentication and authorization, in one place for every route (never per endpoint).
//
// authenticate: "Authorization: token T" / "Bearer T" / Basic with T as the password → the
//   principal, valid only while the identity's delegation to this node is active.
// authorize: enforces the access each route declared (Request::access):
//   public     anyone;
//   user       an authenticated caller (401 otherwise);
//   user:login an authenticated caller using a login token, not a personal access token (403);
//   admin      the node's local operator: header X-Guts-Admin-Token equal to `admin_token`
//              (<data>/admin.token, node/backup.h), from a loopback address; 403 otherwise
//              (and always when admin_token is empty);
//   operator   an authenticated caller listed in the node's `operators` option (401, else 403);
//   repo:read / repo:write / repo:admin
//              resolves {owner}/{repo} (a ".git" suffix is ignored) and the caller's permission;
//              a repository the caller may not read is 404, as if it did not exist — except
//              for anonymous git clients, which get 401 with WWW-Authenticate: Basic so that
//              git asks its credential helper (also without revealing existence). The
//              permission is state::effective_permission (state/permission.h).
//   org:read / org:member / org:admin
//              resolves {org} (404 when it names no organization) and the caller's membership:
//              anyone / an active member / an active owner (401 anonymous, 403 otherwise).
//   runner / runner:job
//              a CI runner (docs/ci.md "Runner authentication"): the header
//              X-Guts-Runner: <did> <timestamp_ms> <signature hex>, an Ed25519 signature by the
//              runner's key (domain kRunnerRequestDomain) over runner_request_payload (chain,
//              this node, the key, the time within ±5 min, method and path). runner: any such
//              key; runner:job also resolves {job} and needs the key to hold it (or to have
//              held it to its conclusion). 401 otherwise. RunnerContext in route_data.
//   team:read / team:admin
//              also resolves {team_slug} (404); team:admin needs an organization owner or a
//              maintainer of the team.
// Then, for an authenticated caller, the token's scopes (api/scopes.h): a token holding none of
// the scopes the request accepts is refused with 403; every authenticated response carries
// X-OAuth-Scopes, and checked ones X-Accepted-OAuth-Scopes. A token limited to some
// repositories (api/tokens.h) reaches the others as an anonymous caller would.
//
// Browser sessions (docs/web.md "Sign-in and sessions"; the store is web/session.h): on web
// paths only (not /api, not git or LFS paths under a ".git" segment) and only when the request
// has no Authorization header, the cookie `guts_session` authenticates like a token would (the
// session's scopes, the same delegation check). Every unsafe request (POST, PUT, PATCH, DELETE)
// on a web path must carry the CSRF token bound to its session cookie (or, before sign-in, to
// the `guts_pre` cookie) as the form field `csrf` or the header X-CSRF-Token: otherwise 403 and
// the handler never runs. So a cookie never authorizes an /api/v3 write, and no cross-site form
// can act with one.
#pragma once

#include <functional>
#include <vector>

#include "api/http.h"
#include "api/services.h"
#include "state/ci.h"
#include "state/records.h"
#include "state/token_request.h"  // runner_request_payload
#include "state/view.h"

namespace guts::api {

// Attached to Request::route_data by `authorize` for repo:* routes.
struct RepoContext {
  state::Repo repo;
  state::Account owner;
  state::Permission permission = state::Permission::kNone;
};
const RepoContext& repo_context(const Request& req);

// Attached to Request::route_data by `authorize` for org:* and team:* routes.
struct OrgContext {
  state::Org org;
  state::Account account;                          // the organization's account record
  std::optional<state::OrgMembership> membership;  // the caller's (active or pending)
  std::optional<state::Team> team;                 // team:* routes
  bool owner() const {
    return membership && membership->state == state::kMembershipActive &&
           membership->role == state::kOrgOwner;
  }
  bool member() const { return membership && membership->state == state::kMembershipActive; }
};
const OrgContext& org_context(const Request& req);

// Attached to Request::route_data by `authorize` for runner and runner:job routes.
struct RunnerContext {
  crypto::PublicKey key{};
  std::optional<state::Job> job;  // runner:job
};
const RunnerContext& runner_context(const Request& req);

// The token in an Authorization header, if any.
std::optional<std::string> bearer_token(const Request& req);

// ---- browser sessions (see above) ----
inline constexpr std::string_view kSessionCookie = "guts_session";
inline constexpr std::string_view kPreSessionCookie = "guts_pre";
// The live session a session cookie names, as the web layer resolves it (web/session.h).
struct BrowserSession {
  crypto::PublicKey owner{};
  std::string id;                   // the session's public id (hex)
  std::vector<std::string> scopes;  // what it grants (every scope for a device-code session)
  std::vector<uint64_t> repo_ids;   // non-empty: the only repositories it reaches
};
using BrowserSessions =
    std::function<std::optional<BrowserSession>(std::string_view cookie, uint64_t now_ms)>;
// The value of cookie `name` in the request's Cookie headers.
std::optional<std::string> cookie(const Request& req, std::string_view name);
// The CSRF token bound to a cookie value: HMAC-SHA256 keyed by the cookie's value, hex.
std::string csrf_token(std::string_view cookie_value);
// True for paths where browser sessions and the CSRF rule apply (not /api, not git).
bool is_web_path(std::string_view path);
// The principal's session id when a browser session authenticated the request, else empty.
std::string session_id(const Principal& p);

// Returns {authenticate, authorize}, in that order: a middleware that needs the principal but
// must run before authorization goes between them (node.cpp: the REST rate limit).
// `sessions` resolves session cookies (empty: cookies authenticate nobody).
std::vector<Middleware> make_auth_middlewares(Services& services, std::string admin_token = {},
                                              BrowserSessions sessions = {});

}  // namespace guts::api
