// Nostr key bindings (kind 75, state/nostr_binding.h; docs/nostr.md "Binding a key"):
//
//   GET /api/guts/users/{user}/nostr   public → binding (404 when the user binds no key)
//   GET /api/guts/nostr/{key}          public → binding of the Nostr key (npub or 64 hex)
//
// A binding: {user, did, pubkey (hex), npub, statement, sig, bound_at}. `statement` is the text
// the Nostr key signed and `sig` its BIP-340 signature of the statement's SHA-256, so a client
// can re-check the binding without trusting this node. Binding itself is the identity's own
// transaction (kind 75 refuses delegated signers): `guts nostr bind` signs it locally and posts it
// to /api/guts/transactions.
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/routes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "nostr/nip19.h"
#include "state/nostr_binding_state.h"

namespace guts::api {

namespace {

json binding_json(Services& svc, const state::StateView& view, const crypto::PublicKey& user,
                  const state::NostrBinding& b) {
  json who = nullptr;
  if (auto acct = view.account(user)) who = user_json(*acct, svc.public_url());
  return json{
      {"user", who},
      {"did", crypto::did_from_key(user)},
      {"pubkey", hex_encode(b.pubkey)},
      {"npub", nostr::npub_encode(b.pubkey)},
      {"statement", state::nostr_binding_statement(svc.chain().genesis().chain_id, user, b.pubkey)},
      {"sig", hex_encode(b.sig)},
      {"bound_at", iso8601(b.bound_at_ms)}};
}

// GET /api/guts/users/{user}/nostr
void get_user_binding(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto user = collab::user_key(view, std::string(req.param("user")));
  if (!user) return respond(error_response(404, "Not Found"));
  auto b = state::nostr_binding_of(view, *user);
  if (!b) return respond(error_response(404, "this user binds no Nostr key"));
  respond(json_response(200, binding_json(svc, view, *user, *b)));
}

// GET /api/guts/nostr/{key}: npub1... or 64 hex characters.
void get_key_binding(Services& svc, Request& req, Responder respond) {
  const std::string text(req.param("key"));
  crypto::XOnlyPublicKey pk{};
  if (text.starts_with("npub1")) {
    try {
      pk = nostr::npub_decode(text);
    } catch (const Error& e) {
      return respond(error_response(422, std::string("key: ") + e.what()));
    }
  } else if (auto hex = hex_decode_fixed<32>(text)) {
    pk = *hex;
  } else {
    return respond(error_response(422, "key: expected an npub or 64 hex characters"));
  }
  auto view = svc.chain().view();
  auto owner = state::nostr_key_owner(view, pk);
  if (!owner) return respond(error_response(404, "this Nostr key is bound to no identity"));
  auto b = state::nostr_binding_of(view, *owner);
  if (!b) return respond(error_response(404, "this Nostr key is bound to no identity"));
  respond(json_response(200, binding_json(svc, view, *owner, *b)));
}

const RouteSpec<Services> kNostrRoutes[] = {
    {"GET", "/users/{user}/nostr", "public", &get_user_binding},
    {"GET", "/nostr/{key}", "public", &get_key_binding},
};

}  // namespace

void add_nostr_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kNostrRoutes);
}

}  // namespace guts::api
