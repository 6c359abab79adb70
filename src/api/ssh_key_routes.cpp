// SSH public keys, GitHub's shapes (state/ssh_keys.h; docs/api.md "SSH keys"):
//
//   GET    /api/v3/user/keys              user      → [key]
//   POST   /api/v3/user/keys {title,key}  user      → 201 key, after the block (kind 60)
//   GET    /api/v3/user/keys/{key_id}     user      → key (404: none, or another user's)
//   DELETE /api/v3/user/keys/{key_id}     user      → 204, after the block (kind 61)
//   GET    /api/v3/users/{username}/keys  public    → [{id, key}]
//
// Validity (parsing, one owner per key, bounds) is the state machine's: the route only checks
// the body's shape, and a parse here answers the common mistakes at once with 422.
#include <charconv>

#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/routes.h"
#include "core/time.h"
#include "state/ssh_keys_state.h"

namespace guts::api {

using collab::read_body;
using collab::submit;

namespace {

json key_json(const Services& svc, const state::SshKey& k) {
  return json{{"id", k.id},
              {"key", k.key},
              {"url", svc.public_url() + "/api/v3/user/keys/" + std::to_string(k.id)},
              {"title", k.title},
              {"created_at", iso8601(k.created_ms)},
              {"verified", true},
              {"read_only", false}};
}

std::optional<uint64_t> path_key_id(const Request& req) {
  auto s = req.param("key_id");
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

// GET /api/v3/user/keys
void list_my_keys(Services& svc, Request& req, Responder respond) {
  auto me = collab::caller(req);
  json out = json::array();
  if (me)
    for (const auto& k : state::ssh_keys_of(svc.chain().view(), *me))
      out.push_back(key_json(svc, k));
  respond(json_response(200, out));
}

// GET /api/v3/user/keys/{key_id}
void get_my_key(Services& svc, Request& req, Responder respond) {
  auto me = collab::caller(req);
  auto id = path_key_id(req);
  auto k = id ? state::ssh_key(svc.chain().view(), *id) : std::nullopt;
  if (!me || !k || k->user != *me) return respond(error_response(404, "Not Found"));
  respond(json_response(200, key_json(svc, *k)));
}

// POST /api/v3/user/keys {"title": "...", "key": "ssh-ed25519 AAAA... comment"}
void add_key(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "PublicKey",
                        {{"key", BodyField::kString, true}, {"title", BodyField::kString, false}});
  if (!body) return;
  std::string text = (*body)["key"].get<std::string>();
  std::string why;
  auto parsed = state::parse_ssh_public_key(text, &why);
  if (!parsed) return respond(validation_failed("PublicKey", "key", "custom", "key " + why));
  std::string title = body->contains("title") ? (*body)["title"].get<std::string>() : "";
  if (title.empty()) title = parsed->comment.empty() ? parsed->fingerprint() : parsed->comment;
  if (title.size() > state::kMaxSshKeyTitle)
    return respond(validation_failed("PublicKey", "title", "custom", "title is too long"));
  state::AddSshKey tx{title, text};
  submit(svc, req, std::move(respond), tx, "PublicKey",
         [&svc, blob = parsed->blob](const state::TxOutcome&) {
           auto view = svc.chain().view();
           auto v = view.kv().get(view.schema().governance, state::ssh_key_fingerprint_key(blob));
           std::optional<state::SshKey> k;
           if (v && v->size() == 8) {
             uint64_t id = 0;
             for (char c : *v) id = (id << 8) | static_cast<uint8_t>(c);
             k = state::ssh_key(view, id);
           }
           if (!k) return error_response(500, "key not found after it was added");
           return json_response(201, key_json(svc, *k));
         });
}

// DELETE /api/v3/user/keys/{key_id}
void delete_key(Services& svc, Request& req, Responder respond) {
  auto id = path_key_id(req);
  if (!id) return respond(error_response(404, "Not Found"));
  submit(svc, req, std::move(respond), state::DeleteSshKey{*id}, "PublicKey", collab::no_content);
}

// GET /api/v3/users/{username}/keys
void list_user_keys(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto acct = view.account_by_username(req.param("username"));
  if (!acct) return respond(error_response(404, "Not Found"));
  json out = json::array();
  for (const auto& k : state::ssh_keys_of(view, acct->key))
    out.push_back(json{{"id", k.id}, {"key", k.key}});
  respond(json_response(200, out));
}

const RouteSpec<Services> kSshKeyRoutes[] = {
    {"GET", "/user/keys", "user", &list_my_keys},
    {"POST", "/user/keys", "user", &add_key},
    {"GET", "/user/keys/{key_id}", "user", &get_my_key},
    {"DELETE", "/user/keys/{key_id}", "user", &delete_key},
    {"GET", "/users/{username}/keys", "public", &list_user_keys},
};

}  // namespace

void add_ssh_key_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/v3", kSshKeyRoutes);
}

}  // namespace guts::api
