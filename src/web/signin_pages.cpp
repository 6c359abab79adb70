// Sign-in without passwords, sessions and sign-out (docs/web.md "Sign-in and sessions"):
//
//   GET  /-/signin                 the sign-in page (sets the pre-session cookie its forms
//                                  are bound to)
//   POST /-/signin/device          starts a device-code sign-in (cookie guts_device)
//   GET  /-/signin/device          shows the code and waits (refreshes itself, no JavaScript);
//                                  once approved, opens the session and goes home
//   POST /-/signin/token           opens a session with a pasted token
//   POST /-/signout                ends this browser's session
//   GET  /-/sessions               the caller's sessions
//   POST /-/sessions/{id}/revoke   ends one of them
//   POST /api/guts/web/device      approves a code (JSON; signed by the identity key, sent
//                                  by `guts auth web CODE`; web/session_approval.h)
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/http_parse.h"
#include "api/scopes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "web/pages.h"
#include "web/session_approval.h"

namespace guts::web {

namespace {

constexpr std::string_view kDeviceCookie = "guts_device";
constexpr uint64_t kPreCookieSeconds = 24 * 3600;

SessionStore& store(WebEnv& env) {
  if (!env.sessions) throw Error(Code::kUnavailable, "Sign-in is not enabled on this node");
  return *env.sessions;
}

std::string form_field(const api::Request& req, std::string_view name) {
  return api::find_query_param(req.body, name).value_or("");
}

uint64_t max_age_s(uint64_t ms) {
  return ms / 1000;
}

// The session cookie for a new session, and home.
api::Response signed_in(WebEnv& env, const std::string& cookie) {
  api::Response r = see_other("/");
  r.headers.add("Set-Cookie", set_cookie(api::kSessionCookie, cookie,
                                         max_age_s(env.session_lifetime_ms), env.secure_cookies));
  return r;
}

api::Response html_error(WebEnv& env, int status, std::string_view message) {
  return error_page(env, status, message);
}

std::string user_agent(const api::Request& req) {
  return req.headers.get("User-Agent").value_or("");
}

bool delegated(WebEnv& env, const crypto::PublicKey& who, uint64_t now) {
  auto d = env.svc.chain().view().delegation(who, env.svc.node_key().public_key());
  return d && d->expires_ms > now;
}

}  // namespace

// GET /-/signin
api::Response signin_page(WebEnv& env, api::Request& req) {
  Html b;
  b.raw("<h1>Sign in</h1>");
  if (req.principal.authenticated) {
    b.raw("<p>You are signed in as <strong>") << req.principal.username;
    b.raw("</strong>. <a href=\"/-/sessions\">Your sessions</a></p>");
    return page(env, 200, "Sign in", b);
  }
  if (!env.sessions) {
    b.raw("<p class=\"muted\">Sign-in is not enabled on this node.</p>");
    return page(env, 200, "Sign in", b);
  }
  // The forms below are bound to the pre-session cookie (a login CSRF defence).
  std::optional<std::string> pre = api::cookie(req, api::kPreSessionCookie);
  std::string set;
  if (!pre || pre->size() != 64) {
    pre = hex_encode(crypto::random_array<32>());
    set = set_cookie(api::kPreSessionCookie, *pre, kPreCookieSeconds, env.secure_cookies);
  }
  std::string csrf = api::csrf_token(*pre);
  auto hidden = [&](Html& h) {
    h.raw("<input type=\"hidden\" name=\"csrf\" value=\"") << csrf << Safe{"\">"};
  };
  b.raw(
      "<p>Guts has no passwords: your identity is a key that only your <code>guts</code> "
      "command line holds.</p><div class=\"box signin\"><h2>With the guts CLI</h2><p>Get a "
      "code, then approve it with <code>guts auth web CODE</code> on a computer where you are "
      "logged in to this node (<code>guts auth login</code>).</p>"
      "<form method=\"post\" action=\"/-/signin/device\">");
  hidden(b);
  b.raw(
      "<button type=\"submit\" id=\"device-start\">Get a sign-in code</button></form></div>"
      "<div class=\"box signin\"><h2>With a token</h2><p>Paste a token of yours (a personal "
      "access token from <code>guts token create</code>, or your login token). The session "
      "has that token's scopes and ends with it.</p>"
      "<form method=\"post\" action=\"/-/signin/token\">");
  hidden(b);
  b.raw(
      "<label>Token <input type=\"password\" name=\"token\" autocomplete=\"off\" "
      "spellcheck=\"false\" size=\"72\"></label> <button type=\"submit\">Sign in</button>"
      "</form></div>");
  api::Response r = page(env, 200, "Sign in", b);
  if (!set.empty()) r.headers.add("Set-Cookie", set);
  // A stale session cookie (revoked, expired) would take precedence over the pre-session
  // cookie in the CSRF check: drop it.
  if (api::cookie(req, api::kSessionCookie))
    r.headers.add("Set-Cookie", set_cookie(api::kSessionCookie, "", 0, env.secure_cookies));
  r.headers.set("Cache-Control", "no-store");
  return r;
}

// POST /-/signin/device
void start_device(WebEnv& env, api::Request&, api::Responder respond) {
  std::string code;
  std::string secret = store(env).start_device(unix_millis(), &code);
  api::Response r = see_other("/-/signin/device");
  r.headers.add("Set-Cookie", set_cookie(kDeviceCookie, secret, kDeviceCodeLifetimeMs / 1000,
                                         env.secure_cookies));
  respond(std::move(r));
}

// GET /-/signin/device
api::Response device_page(WebEnv& env, api::Request& req) {
  auto secret = api::cookie(req, kDeviceCookie);
  uint64_t now = unix_millis();
  auto d = secret ? store(env).device(*secret, now) : std::nullopt;
  if (!d) {
    Html b;
    b.raw(
        "<h1>Sign in</h1><p>This sign-in code has expired or was already used. "
        "<a href=\"/-/signin\">Start again</a>.</p>");
    api::Response r = page(env, 200, "Sign in", b);
    r.headers.add("Set-Cookie", set_cookie(kDeviceCookie, "", 0, env.secure_cookies));
    return r;
  }
  if (d->approved_by) {
    store(env).finish_device(*secret);
    std::string cookie = store(env).open(*d->approved_by, SessionKind::kDevice, {}, user_agent(req),
                                         now, env.session_lifetime_ms);
    api::Response r = signed_in(env, cookie);
    r.headers.add("Set-Cookie", set_cookie(kDeviceCookie, "", 0, env.secure_cookies));
    return r;
  }
  Html b;
  b.raw(
      "<h1>Sign in</h1><p>Run this where your identity key is:</p><pre class=\"code\" id=\"cmd\">")
      << "guts --node " << env.svc.public_url() << " auth web " << d->code;
  b.raw("</pre><p>Your code: <strong class=\"user-code\" id=\"user-code\">") << d->code;
  b.raw(
      "</strong></p><p class=\"muted\">This page checks for the approval every 2 seconds; the "
      "code expires in ")
      << (d->expires_ms - now) / 60000 + 1;
  b.raw(
      " minutes. <a href=\"/-/signin/device\">Check now</a> · "
      "<a href=\"/-/signin\">Cancel</a></p>");
  api::Response r = page(env, 200, "Sign in", b);
  // The no-JavaScript way to wait: refresh (CSP does not govern <meta http-equiv>).
  r.body.replace(r.body.find("<title>"), 0, "<meta http-equiv=\"refresh\" content=\"2\">");
  r.headers.set("Cache-Control", "no-store");
  return r;
}

// POST /-/signin/token
void token_signin(WebEnv& env, api::Request& req, api::Responder respond) {
  std::string token = form_field(req, "token");
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r'))
    token.pop_back();
  while (!token.empty() && token.front() == ' ') token.erase(0, 1);
  uint64_t now = unix_millis();
  auto info = env.svc.tokens().lookup(token);
  if (!info || info->expired(now))
    return respond(html_error(env, 401, "Bad credentials: this token is unknown or expired"));
  if (!delegated(env, info->owner, now))
    return respond(html_error(
        env, 403, "The delegation of this identity to this node was revoked or has expired"));
  std::string cookie =
      store(env).open(info->owner, SessionKind::kToken, api::TokenStore::hash_of(token),
                      user_agent(req), now, env.session_lifetime_ms);
  respond(signed_in(env, cookie));
}

// POST /-/signout
void signout(WebEnv& env, api::Request& req, api::Responder respond) {
  if (auto c = api::cookie(req, api::kSessionCookie); c && env.sessions) env.sessions->close(*c);
  api::Response r = see_other("/");
  r.headers.add("Set-Cookie", set_cookie(api::kSessionCookie, "", 0, env.secure_cookies));
  respond(std::move(r));
}

// GET /-/sessions
api::Response sessions_page(WebEnv& env, api::Request& req) {
  auto me = crypto::parse_did(req.principal.did);
  if (!me) throw Error(Code::kUnauthenticated, "Sign in first");
  uint64_t now = unix_millis();
  std::string current = api::session_id(req.principal);
  Html b;
  b.raw("<h1>Your sessions</h1><p class=\"muted\">Browsers signed in as ")
      << req.principal.username;
  b.raw(
      ". Revoking a session signs that browser out at its next request.</p>"
      "<div class=\"box\"><table class=\"sessions\"><thead><tr><th>Session</th><th>Signed "
      "in with</th><th>Browser</th><th>Since</th><th>Expires</th><th></th></tr></thead>"
      "<tbody>");
  for (const auto& s : store(env).list(*me, now)) {
    b.raw("<tr><td><code>") << s.id << Safe{"</code>"};
    if (s.id == current) b.raw(" <span class=\"pill\">this browser</span>");
    b.raw("</td><td>") << (s.kind == SessionKind::kDevice ? "the CLI (device code)" : "a token");
    b.raw("</td><td class=\"muted\">") << s.agent.substr(0, 60);
    b.raw("</td><td>") << age(s.created_ms, now) << Safe{"</td><td>"} << iso8601(s.expires_ms);
    b.raw("</td><td>");
    post_button(b, req, "/-/sessions/" + s.id + "/revoke", "Revoke");
    b.raw("</td></tr>");
  }
  b.raw("</tbody></table></div>");
  return page(env, 200, "Sessions", b);
}

// POST /-/sessions/{id}/revoke
void revoke_session(WebEnv& env, api::Request& req, api::Responder respond) {
  auto me = crypto::parse_did(req.principal.did);
  std::string id = req.param("id");
  if (!me || !store(env).revoke_id(*me, id))
    return respond(html_error(env, 404, "No such session"));
  if (id == api::session_id(req.principal)) {
    api::Response r = see_other("/");
    r.headers.add("Set-Cookie", set_cookie(api::kSessionCookie, "", 0, env.secure_cookies));
    return respond(std::move(r));
  }
  respond(see_other("/-/sessions"));
}

// POST /api/guts/web/device
void approve_device(WebEnv& env, api::Request& req, api::Responder respond) {
  using api::BodyField;
  auto body = api::collab::read_body(req, respond, "DeviceApproval",
                                     {{"did", BodyField::kString, true},
                                      {"code", BodyField::kString, true},
                                      {"signature", BodyField::kString, true},
                                      {"timestamp_ms", BodyField::kUnsigned, true}});
  if (!body) return;
  auto did = api::string_field(*body, "did");
  auto user = crypto::parse_did(*did);
  auto sig = hex_decode_fixed<64>(*api::string_field(*body, "signature"));
  auto code = SessionStore::normalize_code(*api::string_field(*body, "code"));
  uint64_t ts = body->at("timestamp_ms").get<uint64_t>();
  if (!user)
    return respond(api::validation_failed("DeviceApproval", "did", "invalid", "not a did:key"));
  if (!sig)
    return respond(api::validation_failed("DeviceApproval", "signature", "invalid",
                                          "64-byte hex signature required"));
  if (!code)
    return respond(
        api::validation_failed("DeviceApproval", "code", "invalid", "a code looks like BCDF-GHJK"));
  uint64_t now = unix_millis();
  if (ts + 5 * 60 * 1000 < now || ts > now + 5 * 60 * 1000)
    return respond(api::error_response(401, "approval timestamp is outside the allowed window"));
  auto node = env.svc.node_key().public_key();
  auto payload =
      device_approval_payload(env.svc.chain().genesis().chain_id, node, *user, ts, *code);
  if (!crypto::verify(*user, kDeviceApprovalDomain, payload, *sig))
    return respond(api::error_response(401, "Bad credentials (signature does not verify)"));
  if (!delegated(env, *user, now))
    return respond(api::error_response(
        403, "no active delegation from this identity to this node: run 'guts auth login' first"));
  if (!env.sessions) return respond(api::error_response(503, "Sign-in is not enabled"));
  if (!env.sessions->approve(*code, *user, now))
    return respond(api::error_response(
        404, "No sign-in is waiting with this code (it expired or was already approved)"));
  auto acct = env.svc.chain().view().account(*user);
  respond(api::json_response(
      200, nlohmann::json{{"approved", true},
                          {"code", *code},
                          {"did", *did},
                          {"username", acct ? nlohmann::json(acct->username) : nullptr}}));
}

api::BrowserSessions browser_sessions(std::shared_ptr<WebEnv> env) {
  return [env](std::string_view cookie, uint64_t now) -> std::optional<api::BrowserSession> {
    if (!env->sessions) return std::nullopt;
    std::optional<SessionInfo> s;
    try {
      s = env->sessions->lookup(cookie, now);
    } catch (const std::exception&) {
      return std::nullopt;  // a damaged record authenticates nobody
    }
    if (!s) return std::nullopt;
    api::BrowserSession b{s->owner, s->id, api::known_scopes(), {}};
    if (s->kind == SessionKind::kToken) {
      auto t = env->svc.tokens().lookup_hash(s->token_hash);
      if (!t || t->expired(now) || t->owner != s->owner) return std::nullopt;
      b.scopes = t->granted_scopes();
      b.repo_ids = t->repo_ids;
    }
    return b;
  };
}

}  // namespace guts::web
