#include "api/auth.h"

#include <sodium.h>
#include <strings.h>

#include <algorithm>

#include "api/ci_trigger.h"
#include "api/github.h"
#include "api/http_parse.h"
#include "api/lfs_batch.h"
#include "api/scopes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/permission.h"
#include "state/token_request.h"

namespace guts::api {

namespace {

bool is_git_path(const std::string& path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends("/info/refs") || ends("/git-upload-pack") || ends("/git-receive-pack") ||
         path.find("/info/lfs/") != std::string::npos;  // git-lfs asks git's credential helper
}

Response unauthorized(const Request& req, std::string_view message) {
  Response r = error_response(401, message);
  if (is_git_path(req.path)) r.headers.set("WWW-Authenticate", "Basic realm=\"Guts\"");
  return r;
}

std::optional<std::string> basic_password(std::string_view b64) {
  std::string raw(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  raw.resize(len);
  auto colon = raw.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return raw.substr(colon + 1);
}

state::Permission needed_for(std::string_view access) {
  if (access == "repo:admin") return state::Permission::kAdmin;
  if (access == "repo:write") return state::Permission::kWrite;
  return state::Permission::kRead;
}

// The token scope check (api/scopes.h): answers 403 and returns true when the caller's token
// holds none of the scopes the request accepts. Anonymous callers have no token to check.
bool lacks_scope(Request& req, const Responder& respond, bool repo_private = false) {
  auto accepted = accepted_scopes({req.access, req.method, req.route, repo_private});
  if (accepted.empty()) return false;
  req.response_headers.set("X-Accepted-OAuth-Scopes", scope_header(accepted));
  if (!req.principal.authenticated || holds_any(req.principal.scopes, accepted)) return false;
  respond(error_response(403, "This token lacks the scope this request needs (one of: " +
                                  scope_header(accepted) + ")"));
  return true;
}

// org:* and team:* (see auth.h).
bool authorize_org(Services& services, Request& req, const Responder& respond) {
  const std::string& access = req.access;
  auto view = services.chain().view();
  auto org = view.org_by_login(req.param("org"));
  if (!org) {
    respond(error_response(404, "Not Found"));
    return true;
  }
  OrgContext ctx;
  ctx.account = *view.account(org->key);
  ctx.org = std::move(*org);
  std::optional<crypto::PublicKey> who;
  if (req.principal.authenticated) who = crypto::parse_did(req.principal.did);
  if (who) ctx.membership = view.org_membership(ctx.org.key, *who);
  if (access.rfind("team:", 0) == 0) {
    ctx.team = view.team_by_slug(ctx.org.key, req.param("team_slug"));
    if (!ctx.team) {
      respond(error_response(404, "Not Found"));
      return true;
    }
  }
  bool allowed = true;
  std::string message;
  if (access == "org:member") {
    allowed = ctx.member();
    message = "You must be a member of " + ctx.org.login + ".";
  } else if (access == "org:admin") {
    allowed = ctx.owner();
    message = "Must have admin rights to Organization.";
  } else if (access == "team:admin") {
    auto m = who ? view.team_member(ctx.team->id, *who) : std::nullopt;
    allowed = ctx.owner() || (ctx.member() && m && m->role == state::kTeamMaintainer);
    message = "Must have admin rights to Team.";
  } else if (access != "org:read" && access != "team:read") {
    respond(error_response(500, "Internal Server Error"));
    return true;
  }
  if (!allowed) {
    if (!req.principal.authenticated)
      respond(unauthorized(req, "Requires authentication"));
    else
      respond(error_response(403, message));
    return true;
  }
  if (lacks_scope(req, respond)) return true;
  req.route_data = std::move(ctx);
  return false;
}

// runner and runner:job (see auth.h).
bool authorize_runner(Services& services, Request& req, const Responder& respond) {
  auto refuse = [&](std::string why) {
    respond(error_response(401, "Runner authentication failed: " + why));
    return true;
  };
  auto h = req.headers.get("X-Guts-Runner");
  if (!h) return refuse("the X-Guts-Runner header is missing");
  std::string v(*h);
  auto sp1 = v.find(' '), sp2 = sp1 == std::string::npos ? sp1 : v.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return refuse("X-Guts-Runner: <did> <timestamp_ms> <signature>");
  auto key = crypto::parse_did(v.substr(0, sp1));
  auto ts_text = v.substr(sp1 + 1, sp2 - sp1 - 1);
  auto sig = hex_decode_fixed<64>(v.substr(sp2 + 1));
  if (!key || !sig || ts_text.empty() || ts_text.size() > 19 ||
      ts_text.find_first_not_of("0123456789") != std::string::npos)
    return refuse("malformed X-Guts-Runner header");
  uint64_t ts = std::stoull(ts_text), now = unix_millis();
  if (ts + 5 * 60 * 1000 < now || ts > now + 5 * 60 * 1000)
    return refuse("the request's timestamp is outside the allowed window");
  auto payload =
      runner_request_payload(services.chain().genesis().chain_id, services.node_key().public_key(),
                             *key, ts, req.method, req.path);
  if (!crypto::verify(*key, kRunnerRequestDomain, payload, *sig))
    return refuse("the signature does not verify");
  RunnerContext ctx{*key, std::nullopt};
  if (req.access == "runner:job") {
    auto id_text = req.param("job");
    if (id_text.empty() || id_text.size() > 19 ||
        id_text.find_first_not_of("0123456789") != std::string::npos) {
      respond(error_response(404, "Not Found"));
      return true;
    }
    auto view = services.chain().view();
    auto job = state::runs::job(view.schema(), view.kv(), std::stoull(id_text));
    if (!job) {
      respond(error_response(404, "Not Found"));
      return true;
    }
    if ((job->status == state::kRunQueued || job->runner != *key) &&
        !state::runs::reported(*job, *key)) {  // agreeing runners: a reporter stores its log
      respond(error_response(403, "This runner does not hold job " + id_text));
      return true;
    }
    ctx.job = std::move(*job);
  } else if (req.access != "runner") {
    respond(error_response(500, "Internal Server Error"));
    return true;
  }
  req.route_data = std::move(ctx);
  return false;
}

// A runner's checkout of the repository of a job it holds (docs/ci.md "Private
// repositories"): header `X-Guts-Runner-Job: <did> <job> <timestamp_ms> <signature hex>`, the
// runner's signature (kRunnerRequestDomain) over runner_request_payload(..., "GIT",
// "/jobs/<job>"), within ±5 minutes; read access to that job's repository while the job is in
// progress and held by that runner. Git read paths only (never receive-pack).
bool runner_job_reads(Services& services, const Request& req, uint64_t repo_id) {
  auto h = req.headers.get("X-Guts-Runner-Job");
  if (!h || !is_git_path(req.path) || req.path.ends_with("/git-receive-pack") ||
      req.query_param("service") == "git-receive-pack" ||
      req.path.find("/info/lfs/") != std::string::npos)
    return false;
  std::string v(*h);
  std::vector<std::string> parts;
  for (size_t start = 0; parts.size() < 5;) {
    auto sp = v.find(' ', start);
    parts.push_back(v.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  auto digits = [](const std::string& t) {
    return !t.empty() && t.size() <= 19 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  if (parts.size() != 4 || !digits(parts[1]) || !digits(parts[2])) return false;
  auto key = crypto::parse_did(parts[0]);
  auto sig = hex_decode_fixed<64>(parts[3]);
  uint64_t ts = std::stoull(parts[2]), now = unix_millis();
  if (!key || !sig || ts + 5 * 60 * 1000 < now || ts > now + 5 * 60 * 1000) return false;
  auto payload =
      runner_request_payload(services.chain().genesis().chain_id, services.node_key().public_key(),
                             *key, ts, "GIT", "/jobs/" + parts[1]);
  if (!crypto::verify(*key, kRunnerRequestDomain, payload, *sig)) return false;
  auto view = services.chain().view();
  auto job = state::runs::job(view.schema(), view.kv(), std::stoull(parts[1]));
  if (!job || job->status != state::kRunInProgress || job->runner != *key) return false;
  if (job->repo_id == repo_id) return true;
  auto run = state::runs::run(view.schema(), view.kv(), job->run_id);  // a fork's pull request
  return run && checkout_repo(view, *run) == repo_id;
}

}  // namespace

const RunnerContext& runner_context(const Request& req) {
  return std::any_cast<const RunnerContext&>(req.route_data);
}

const OrgContext& org_context(const Request& req) {
  return std::any_cast<const OrgContext&>(req.route_data);
}

const RepoContext& repo_context(const Request& req) {
  return std::any_cast<const RepoContext&>(req.route_data);
}

std::optional<std::string> bearer_token(const Request& req) {
  auto h = req.headers.get("Authorization");
  if (!h) return std::nullopt;
  std::string_view v = *h;
  auto scheme_end = v.find(' ');
  if (scheme_end == std::string_view::npos) return std::string();  // present but malformed
  auto scheme = v.substr(0, scheme_end);
  auto rest = v.substr(scheme_end + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  auto lower = [](std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  auto sch = lower(scheme);
  if (sch == "token" || sch == "bearer") return std::string(rest);
  if (sch == "basic") return basic_password(rest).value_or(std::string());
  return std::string();
}

std::optional<std::string> cookie(const Request& req, std::string_view name) {
  for (const auto& [header, value] : req.headers.items()) {
    if (header.size() != 6 || strncasecmp(header.c_str(), "cookie", 6) != 0) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
      auto v = pair.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return std::string(v);
    }
  }
  return std::nullopt;
}

std::string csrf_token(std::string_view cookie_value) {
  static constexpr std::string_view kMessage = "guts/csrf";
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(cookie_value.data()),
                              cookie_value.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(kMessage.data()),
                                kMessage.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return hex_encode(ByteView(mac, sizeof mac));
}

bool is_web_path(std::string_view path) {
  if (path == "/api" || path.rfind("/api/", 0) == 0) return false;
  if (is_git_path(std::string(path))) return false;
  // LFS (git-lfs's own authentication, never cookies), with or without the .git suffix.
  if (path.find("/info/lfs/") != std::string_view::npos) return false;
  // Git and LFS live under /{owner}/{repo}.git/...
  for (size_t at = path.find(".git"); at != std::string_view::npos; at = path.find(".git", at + 1))
    if (at + 4 == path.size() || path[at + 4] == '/') return false;
  return true;
}

std::string session_id(const Principal& p) {
  return p.token_id.rfind("web:", 0) == 0 ? p.token_id.substr(4) : std::string();
}

namespace {
bool is_loopback(std::string_view addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}
}  // namespace

namespace {

bool unsafe_method(std::string_view m) {
  return m != "GET" && m != "HEAD" && m != "OPTIONS";
}

// The CSRF rule (auth.h): true when the request may go on.
bool csrf_ok(const Request& req) {
  auto binding = cookie(req, kSessionCookie);
  if (!binding || binding->empty()) binding = cookie(req, kPreSessionCookie);
  if (!binding || binding->empty()) return false;
  std::optional<std::string> given = req.headers.get("X-CSRF-Token");
  auto type = req.headers.get("Content-Type").value_or("");
  if (!given && type.rfind("application/x-www-form-urlencoded", 0) == 0)
    given = find_query_param(req.body, "csrf");
  std::string want = csrf_token(*binding);
  return given && given->size() == want.size() &&
         sodium_memcmp(given->data(), want.data(), want.size()) == 0;
}

// A session cookie on a web path: the principal of its live session, if any (a stale cookie
// leaves the request anonymous).
void authenticate_cookie(Services& services, const BrowserSessions& sessions, Request& req) {
  auto c = cookie(req, kSessionCookie);
  if (!c || c->empty()) return;
  uint64_t now = unix_millis();
  auto s = sessions(*c, now);
  if (!s) return;
  auto view = services.chain().view();
  auto d = view.delegation(s->owner, services.node_key().public_key());
  if (!d || d->expires_ms <= now) return;
  req.principal.authenticated = true;
  req.principal.did = crypto::did_from_key(s->owner);
  req.principal.token_id = "web:" + s->id;
  req.principal.scopes = s->scopes;
  req.principal.repo_ids = s->repo_ids;
  if (auto acct = view.account(s->owner)) req.principal.username = acct->username;
}

}  // namespace

std::vector<Middleware> make_auth_middlewares(Services& services, std::string admin_token,
                                              BrowserSessions sessions) {
  Middleware authenticate = [&services, sessions = std::move(sessions)](Request& req,
                                                                        const Responder& respond) {
    bool web = is_web_path(req.path);
    if (web && unsafe_method(req.method) && !csrf_ok(req)) {
      respond(error_response(403,
                             "The form's CSRF token is missing or invalid: reload the page and "
                             "try again"));
      return true;
    }
    auto token = bearer_token(req);
    if (!token) {
      if (web && sessions) authenticate_cookie(services, sessions, req);
      return false;  // anonymous, or a browser session
    }
    auto info = services.tokens().lookup(*token);
    if (!info) {
      respond(unauthorized(req, "Bad credentials"));
      return true;
    }
    uint64_t now = unix_millis();
    if (info->expired(now)) {
      respond(unauthorized(req, "Bad credentials (the token expired)"));
      return true;
    }
    auto view = services.chain().view();
    auto d = view.delegation(info->owner, services.node_key().public_key());
    if (!d || d->expires_ms <= now) {
      respond(unauthorized(
          req, "Bad credentials (the delegation to this node was revoked or has expired)"));
      return true;
    }
    req.principal.authenticated = true;
    req.principal.did = crypto::did_from_key(info->owner);
    req.principal.token_id = info->id;
    req.principal.login_token = info->kind == TokenKind::kLogin;
    req.principal.scopes = info->granted_scopes();
    req.principal.repo_ids = info->repo_ids;
    req.response_headers.set("X-OAuth-Scopes", scope_header(req.principal.scopes));
    if (auto acct = view.account(info->owner)) req.principal.username = acct->username;
    return false;
  };

  Middleware authorize = [&services, admin_token = std::move(admin_token)](
                             Request& req, const Responder& respond) {
    const std::string& access = req.access;
    if (access.empty() || access == "public") return false;
    if (access == "admin") {
      auto given = req.headers.get("X-Guts-Admin-Token");
      bool ok = !admin_token.empty() && given && given->size() == admin_token.size() &&
                sodium_memcmp(given->data(), admin_token.data(), admin_token.size()) == 0 &&
                is_loopback(req.remote_address);
      if (!ok) respond(error_response(403, "Requires the node operator's admin token"));
      return !ok;
    }
    if (access == "user" || access == "user:login") {
      if (!req.principal.authenticated) {
        respond(unauthorized(req, "Requires authentication"));
        return true;
      }
      if (access == "user:login" && !req.principal.login_token) {
        respond(error_response(403,
                               "Requires a login token (guts auth login): personal access "
                               "tokens cannot manage tokens"));
        return true;
      }
      return lacks_scope(req, respond);
    }
    if (access == "operator") {
      if (!req.principal.authenticated) {
        respond(unauthorized(req, "Requires authentication"));
        return true;
      }
      if (!services.is_operator(req.principal.did)) {
        respond(error_response(403, "Must be an operator of this node"));
        return true;
      }
      return false;
    }
    if (access.rfind("org:", 0) == 0 || access.rfind("team:", 0) == 0)
      return authorize_org(services, req, respond);
    if (access == "runner" || access == "runner:job")
      return authorize_runner(services, req, respond);
    if (access.rfind("repo:", 0) != 0) {
      respond(error_response(500, "Internal Server Error"));
      return true;
    }
    std::string owner_name = req.param("owner"), repo_name = req.param("repo");
    if (repo_name.size() > 4 && repo_name.compare(repo_name.size() - 4, 4, ".git") == 0)
      repo_name.resize(repo_name.size() - 4);
    auto view = services.chain().view();
    std::optional<crypto::PublicKey> who;
    if (req.principal.authenticated) who = crypto::parse_did(req.principal.did);
    auto hidden = [&] {
      if (!req.principal.authenticated && is_git_path(req.path))
        respond(unauthorized(req, "Authentication required"));
      else
        respond(error_response(404, "Not Found"));
      return true;
    };
    // "repo:proof" (api/proof_routes.cpp): as repo:read, but an unknown repository passes, so
    // that its absence can be proven.
    bool absent_ok = access == "repo:proof";
    auto owner = view.account_by_username(owner_name);
    if (!owner) return absent_ok ? false : hidden();
    auto repo = view.repo_by_name(owner->key, repo_name);
    if (!repo) return absent_ok ? false : hidden();
    // A token limited to some repositories reaches the others as an anonymous caller would.
    bool outside = !req.principal.repo_ids.empty() &&
                   std::find(req.principal.repo_ids.begin(), req.principal.repo_ids.end(),
                             repo->id) == req.principal.repo_ids.end();
    auto have = state::effective_permission(view, *repo, outside ? std::nullopt : who);
    // A runner's checkout of a private repository (runner_job_reads above).
    if (have == state::Permission::kNone && runner_job_reads(services, req, repo->id))
      have = state::Permission::kRead;
    if (have == state::Permission::kNone) return hidden();
    auto need = needed_for(access);
    // `git push` starts with the receive-pack advertisement: it needs what the push needs.
    if (need < state::Permission::kWrite && req.query_param("service") == "git-receive-pack" &&
        req.path.size() > 10 && req.path.compare(req.path.size() - 10, 10, "/info/refs") == 0)
      need = state::Permission::kWrite;
    // A Git LFS batch asks for upload actions: it needs what the upload needs (docs/lfs.md).
    if (need < state::Permission::kWrite && req.path.ends_with("/info/lfs/objects/batch") &&
        lfs_batch_operation(req.body) == "upload")
      need = state::Permission::kWrite;
    if (have < need) {
      if (!req.principal.authenticated)
        respond(unauthorized(req, "Requires authentication"));
      else
        respond(error_response(403, std::string("Must have ") + state::permission_name(need) +
                                        " rights to Repository."));
      return true;
    }
    if (lacks_scope(req, respond, repo->is_private)) return true;
    req.route_data = RepoContext{*repo, *owner, have};
    return false;
  };
  return {authenticate, authorize};
}

}  // namespace guts::api
