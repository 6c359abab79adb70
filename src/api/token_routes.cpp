// Personal access tokens (docs/api.md "Tokens and scopes") and GET /rate_limit.
//
//   POST   /api/guts/tokens/personal  mint a token: note, scopes, expiry, repositories
//   GET    /api/guts/tokens           the caller's tokens (metadata only)
//   DELETE /api/guts/tokens/{id}      revoke one of them
//   GET    /api/v3/rate_limit         GitHub's shape; not counted against the budget
//
// Managing tokens needs a login token (access "user:login", enforced by the auth middleware).
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/rate_limit.h"
#include "api/routes.h"
#include "api/scopes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/permission.h"

namespace guts::api {

namespace {

using nlohmann::json;

constexpr uint64_t kDayMs = 24ull * 3600 * 1000;
constexpr uint64_t kMaxExpiryDays = 366;
constexpr size_t kMaxNoteChars = 200;

json token_json(const TokenInfo& t, const state::StateView& view) {
  json repos = json::array();
  for (uint64_t id : t.repo_ids) {
    auto r = view.repo(id);
    auto owner = r ? view.account(r->owner) : std::nullopt;
    repos.push_back(r && owner ? json(owner->username + "/" + r->name) : json(id));
  }
  return json{{"id", t.id},
              {"kind", t.kind == TokenKind::kLogin ? "login" : "personal"},
              {"note", t.note},
              {"scopes", t.granted_scopes()},
              {"created_at", iso8601(t.created_ms)},
              {"expires_at", t.expires_ms ? json(iso8601(t.expires_ms)) : json(nullptr)},
              {"repositories", repos}};
}

crypto::PublicKey caller_key(const Request& req) {
  return *crypto::parse_did(req.principal.did);  // authenticated: the middleware parsed it
}

// POST /api/guts/tokens/personal
void create_personal_token(Services& svc, Request& req, Responder respond) {
  auto body = collab::read_body(req, respond, "Token",
                                {{"note", BodyField::kString, true},
                                 {"scopes", BodyField::kArray},
                                 {"expires_in_days", BodyField::kUnsigned},
                                 {"repositories", BodyField::kArray}});
  if (!body) return;
  PersonalTokenSpec spec;
  spec.note = *string_field(*body, "note");
  if (spec.note.empty() || spec.note.size() > kMaxNoteChars)
    return respond(
        validation_failed("Token", "note", "invalid", "note must be 1 to 200 characters"));
  std::vector<std::string> requested;
  if (body->contains("scopes"))
    for (const auto& s : body->at("scopes")) {
      if (!s.is_string())
        return respond(validation_failed("Token", "scopes", "invalid", "scopes are strings"));
      requested.push_back(s.get<std::string>());
    }
  std::string bad;
  auto scopes = normalize_scopes(requested, &bad);
  if (!scopes)
    return respond(validation_failed("Token", "scopes", "invalid", "unknown scope: " + bad));
  spec.scopes = std::move(*scopes);
  uint64_t now = unix_millis();
  if (body->contains("expires_in_days") && !body->at("expires_in_days").is_null()) {
    uint64_t days = body->at("expires_in_days").get<uint64_t>();
    if (days == 0 || days > kMaxExpiryDays)
      return respond(validation_failed("Token", "expires_in_days", "invalid",
                                       "expires_in_days must be 1 to 366"));
    spec.expires_ms = now + days * kDayMs;
  }
  auto view = svc.chain().view();
  auto me = caller_key(req);
  if (body->contains("repositories"))
    for (const auto& r : body->at("repositories")) {
      std::string full = r.is_string() ? r.get<std::string>() : "";
      auto slash = full.find('/');
      auto owner = slash == std::string::npos ? std::nullopt
                                              : view.account_by_username(full.substr(0, slash));
      auto repo = owner ? view.repo_by_name(owner->key, full.substr(slash + 1)) : std::nullopt;
      if (!repo || state::effective_permission(view, *repo, me) == state::Permission::kNone)
        return respond(validation_failed("Token", "repositories", "invalid",
                                         "no repository " + full + " visible to you"));
      spec.repo_ids.push_back(repo->id);
    }
  TokenInfo info;
  auto token = svc.tokens().issue_personal(me, spec, now, &info);
  json j = token_json(info, view);
  j["token"] = token;
  respond(json_response(201, j));
}

// GET /api/guts/tokens
void list_tokens(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  json out = json::array();
  for (const auto& t : svc.tokens().list(caller_key(req))) {
    json j = token_json(t, view);
    j["current"] = t.id == req.principal.token_id;
    out.push_back(std::move(j));
  }
  respond(json_response(200, out));
}

// DELETE /api/guts/tokens/{id}
void revoke_token(Services& svc, Request& req, Responder respond) {
  if (!svc.tokens().revoke_id(caller_key(req), req.param("id")))
    return respond(error_response(404, "Not Found"));
  respond(Response{204, {}, ""});
}

const RouteSpec<Services> kTokenRoutes[] = {
    {"POST", "/tokens/personal", "user:login", &create_personal_token},
    {"GET", "/tokens", "user:login", &list_tokens},
    {"DELETE", "/tokens/{id}", "user:login", &revoke_token},
};

// GET /api/v3/rate_limit
void get_rate_limit(RateLimiter& limiter, Request& req, Responder respond) {
  auto [client, limit] = rate_client(limiter, req);
  RateDecision d = limiter.peek(client, limit, unix_millis());
  json core{{"limit", d.limit},
            {"used", d.used},
            {"remaining", d.remaining},
            {"reset", d.reset_unix_s},
            {"resource", "core"}};
  if (d.limit == 0) core["unlimited"] = true;
  Response r = json_response(200, json{{"resources", json{{"core", core}}}, {"rate", core}});
  set_rate_headers(r.headers, d);
  respond(std::move(r));
}

const RouteSpec<RateLimiter> kRateLimitRoutes[] = {
    {"GET", "/rate_limit", "public", &get_rate_limit},
};

}  // namespace

void add_token_routes(Router& router, Services& services) {
  add_routes(router, services, "/api/guts", kTokenRoutes);
}

void add_rate_limit_routes(Router& router, std::shared_ptr<RateLimiter> limiter) {
  add_routes(router, std::move(limiter), "/api/v3", kRateLimitRoutes);
}

}  // namespace guts::api
