// Placeholder identities of migrated items and their claims (state/placeholder.h;
// docs/migrate.md "Authors: placeholder identities"):
//
//   GET    /api/guts/placeholders/{host}/{login}          public → {placeholder, claims}
//   POST   /api/guts/placeholders/claims {host, login, proof_url}
//                                                         user   → 201 claim (kind 65)
//   DELETE /api/guts/placeholders/{host}/{login}/claim    user   → 204 (kind 65, withdraw)
//   GET    /api/guts/repos/{owner}/{repo}/placeholders    repo:read  → [confirmation]
//   PUT    /api/guts/repos/{owner}/{repo}/placeholders/{host}/{login} {claimant, migrator?}
//                                                         repo:admin → confirmation (kind 66)
//   DELETE /api/guts/repos/{owner}/{repo}/placeholders/{host}/{login}
//                                                         repo:admin → 204 (kind 66)
//
// `claimant` and `migrator` are user names or did:key ids; `migrator` defaults to the caller
// (who usually ran `guts migrate`). The rules (names, proof URL, registered users, admin
// permission, an existing claim) are the state machine's.
#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/routes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/placeholder_state.h"

namespace guts::api {

using collab::read_body;
using collab::submit;

namespace {

json who(const Services& svc, const state::StateView& view, const crypto::PublicKey& key) {
  auto acct = view.account(key);
  if (acct) return user_json(*acct, svc.public_url());
  return json{{"login", nullptr}, {"did", crypto::did_from_key(key)}};
}

json claims_json(const Services& svc, const state::StateView& view, const std::string& host,
                 const std::string& login) {
  json claims = json::array();
  for (const auto& [key, c] : state::placeholder_claims(view, host, login))
    claims.push_back(json{{"claimant", who(svc, view, key)},
                          {"did", crypto::did_from_key(key)},
                          {"proof_url", c.proof_url},
                          {"created_at", iso8601(c.created_ms)}});
  return json{{"placeholder", state::placeholder_name(host, login)},
              {"host", host},
              {"login", login},
              {"claims", std::move(claims)}};
}

json confirmation_json(const Services& svc, const state::StateView& view, const std::string& host,
                       const std::string& login, const state::PlaceholderConfirmation& c) {
  return json{{"placeholder", state::placeholder_name(host, login)},
              {"host", host},
              {"login", login},
              {"claimant", who(svc, view, c.claimant)},
              {"migrator", who(svc, view, c.migrator)},
              {"confirmed_by", who(svc, view, c.confirmed_by)},
              {"confirmed_at", iso8601(c.confirmed_ms)}};
}

// A user name or a did:key.
std::optional<crypto::PublicKey> user_key(const state::StateView& view, const std::string& s) {
  if (s.starts_with("did:")) return crypto::parse_did(s);
  return collab::user_key(view, s);
}

// GET /api/guts/placeholders/{host}/{login}
void get_placeholder(Services& svc, Request& req, Responder respond) {
  const std::string host(req.param("host")), login(req.param("login"));
  if (state::placeholder_host_error(host) || state::placeholder_login_error(login))
    return respond(error_response(404, "Not Found"));
  respond(json_response(200, claims_json(svc, svc.chain().view(), host, login)));
}

// POST /api/guts/placeholders/claims {"host", "login", "proof_url"}
void claim_placeholder(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "PlaceholderClaim",
                        {{"host", BodyField::kString, true},
                         {"login", BodyField::kString, true},
                         {"proof_url", BodyField::kString, true}});
  if (!body) return;
  state::ClaimPlaceholder tx{(*body)["host"].get<std::string>(),
                             (*body)["login"].get<std::string>(),
                             (*body)["proof_url"].get<std::string>(), false};
  if (auto e = state::placeholder_host_error(tx.host))
    return respond(validation_failed("PlaceholderClaim", "host", "invalid", *e));
  if (auto e = state::placeholder_login_error(tx.login))
    return respond(validation_failed("PlaceholderClaim", "login", "invalid", *e));
  if (auto e = state::proof_url_error(tx.proof_url))
    return respond(validation_failed("PlaceholderClaim", "proof_url", "invalid", *e));
  submit(svc, req, std::move(respond), tx, "PlaceholderClaim",
         [&svc, host = tx.host, login = tx.login](const state::TxOutcome&) {
           return json_response(201, claims_json(svc, svc.chain().view(), host, login));
         });
}

// DELETE /api/guts/placeholders/{host}/{login}/claim
void withdraw_claim(Services& svc, Request& req, Responder respond) {
  state::ClaimPlaceholder tx{std::string(req.param("host")), std::string(req.param("login")), "",
                             true};
  submit(svc, req, std::move(respond), tx, "PlaceholderClaim", collab::no_content);
}

// GET /api/guts/repos/{owner}/{repo}/placeholders
void list_confirmations(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  json out = json::array();
  for (const auto& c : state::placeholder_confirmations(view, repo_context(req).repo.id))
    out.push_back(confirmation_json(svc, view, c.host, c.login, c.confirmation));
  respond(json_response(200, out));
}

// PUT /api/guts/repos/{owner}/{repo}/placeholders/{host}/{login} {"claimant", "migrator"?}
void confirm_placeholder(Services& svc, Request& req, Responder respond) {
  auto body =
      read_body(req, respond, "PlaceholderConfirmation",
                {{"claimant", BodyField::kString, true}, {"migrator", BodyField::kString, false}});
  if (!body) return;
  auto view = svc.chain().view();
  auto claimant = user_key(view, (*body)["claimant"].get<std::string>());
  if (!claimant)
    return respond(validation_failed("PlaceholderConfirmation", "claimant", "invalid",
                                     "claimant: no such user"));
  std::optional<crypto::PublicKey> migrator =
      body->contains("migrator") ? user_key(view, (*body)["migrator"].get<std::string>())
                                 : collab::caller(req);
  if (!migrator)
    return respond(validation_failed("PlaceholderConfirmation", "migrator", "invalid",
                                     "migrator: no such user"));
  state::ConfirmPlaceholder tx{repo_context(req).repo.id,
                               std::string(req.param("host")),
                               std::string(req.param("login")),
                               *claimant,
                               *migrator,
                               true};
  submit(svc, req, std::move(respond), tx, "PlaceholderConfirmation",
         [&svc, tx](const state::TxOutcome&) {
           auto v = svc.chain().view();
           auto c = state::placeholder_confirmation(v, tx.repo_id, tx.host, tx.login);
           if (!c) return error_response(500, "confirmation not found after it was made");
           return json_response(200, confirmation_json(svc, v, tx.host, tx.login, *c));
         });
}

// DELETE /api/guts/repos/{owner}/{repo}/placeholders/{host}/{login}
void remove_confirmation(Services& svc, Request& req, Responder respond) {
  state::ConfirmPlaceholder tx{repo_context(req).repo.id,
                               std::string(req.param("host")),
                               std::string(req.param("login")),
                               {},
                               {},
                               false};
  submit(svc, req, std::move(respond), tx, "PlaceholderConfirmation", collab::no_content);
}

const RouteSpec<Services> kPlaceholderRoutes[] = {
    {"GET", "/placeholders/{host}/{login}", "public", &get_placeholder},
    {"POST", "/placeholders/claims", "user", &claim_placeholder},
    {"DELETE", "/placeholders/{host}/{login}/claim", "user", &withdraw_claim},
    {"GET", "/repos/{owner}/{repo}/placeholders", "repo:read", &list_confirmations},
    {"PUT", "/repos/{owner}/{repo}/placeholders/{host}/{login}", "repo:admin",
     &confirm_placeholder},
    {"DELETE", "/repos/{owner}/{repo}/placeholders/{host}/{login}", "repo:admin",
     &remove_confirmation},
};

}  // namespace

void add_placeholder_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kPlaceholderRoutes);
}

}  // namespace guts::api
