// /repos/{owner}/{repo}/hooks and /orgs/{org}/hooks (api/hooks_routes.h; docs/webhooks.md).
// The middleware resolved the target and checked admin (repo:admin / org:admin).
#include "api/hooks_routes.h"

#include <arpa/inet.h>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/webhook_payloads.h"
#include "crypto/did.h"
#include "state/view.h"

namespace guts::api {

using collab::read_body;
using collab::submit;

namespace {

struct HooksEnv {
  Services& svc;
  WebhookDeliveries deliveries;
};

Response not_found() {
  return error_response(404, "Not Found");
}
Response bad(std::string_view field, std::string_view message) {
  return validation_failed("Hook", field, "invalid", message);
}

bool org_route(const Request& req) {
  return req.access.rfind("org:", 0) == 0;
}

// The hook of the path's {hook_id}, if it belongs to the path's repository/organization.
std::optional<state::Hook> path_hook(Services& svc, const Request& req) {
  uint64_t id = 0;
  try {
    size_t used = 0;
    auto s = req.param("hook_id");
    id = std::stoull(s, &used);
    if (used != s.size()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto h = state::hooks::get(svc.chain().schema(), svc.chain().view().kv(), id);
  if (!h) return std::nullopt;
  if (org_route(req)) {
    if (h->scope != state::kHookOrg || h->org != org_context(req).org.key) return std::nullopt;
  } else if (h->scope != state::kHookRepo || h->repo_id != repo_context(req).repo.id) {
    return std::nullopt;
  }
  return h;
}

// A literal IP host in a loopback/private range, or "localhost": refused unless the operator
// allows it (the delivering node checks resolved addresses again before each send).
bool private_host(const std::string& url) {
  auto start = url.find("://");
  if (start == std::string::npos) return false;
  start += 3;
  auto end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    uint32_t a = ntohl(v4.s_addr);
    auto in = [&](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0xa9fe0000, 16) ||
           in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10) || a >= 0xe0000000;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    const auto* b = v6.s6_addr;
    bool zero15 = true;
    for (int i = 0; i < 15; ++i) zero15 = zero15 && b[i] == 0;
    return (zero15 && b[15] <= 1) || (b[0] & 0xfe) == 0xfc ||
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[10] == 0xff && b[11] == 0xff);
  }
  return false;
}

// The hook fields of a create/update body. `create`: url is required.
struct HookInput {
  std::optional<std::string> url, secret;
  std::optional<uint8_t> content_type;
  std::optional<bool> insecure_ssl, active;
  std::optional<std::vector<std::string>> events;
};

std::optional<Response> parse_input(const json& body, bool create, bool allow_private,
                                    HookInput* in) {
  if (body.contains("name") && !body["name"].is_null() &&
      (!body["name"].is_string() || body["name"] != "web"))
    return bad("name", "must be \"web\"");
  in->active = bool_field(body, "active");
  if (body.contains("events") && !body["events"].is_null()) {
    std::vector<std::string> ev;
    for (const auto& e : body["events"]) {
      if (!e.is_string()) return bad("events", "must be an array of strings");
      ev.push_back(e.get<std::string>());
    }
    if (auto e = state::hook_events_error(ev)) return bad("events", *e);
    in->events = std::move(ev);
  }
  json config = json::object();
  if (body.contains("config") && !body["config"].is_null()) {
    if (!body["config"].is_object()) return bad("config", "must be an object");
    config = body["config"];
  }
  // GitHub's PATCH also accepts the config keys at the top level.
  for (const char* k : {"url", "content_type", "secret", "insecure_ssl"})
    if (!config.contains(k) && body.contains(k)) config[k] = body[k];
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (!config.contains(k) || config[k].is_null()) return std::nullopt;
    if (config[k].is_string()) return config[k].get<std::string>();
    if (config[k].is_number()) return config[k].dump();
    return std::nullopt;
  };
  in->url = str("url");
  if (create && !in->url)
    return validation_failed("Hook", "url", "missing_field", "url is required");
  if (in->url) {
    if (auto e = state::hook_url_error(*in->url)) return bad("url", "url " + *e);
    if (!allow_private && private_host(*in->url))
      return bad("url", "url must not point to a loopback or private address");
  }
  if (auto ct = str("content_type")) {
    if (*ct == "json")
      in->content_type = state::kHookJson;
    else if (*ct == "form")
      in->content_type = state::kHookForm;
    else
      return bad("content_type", "content_type must be json or form");
  }
  in->secret = str("secret");
  if (in->secret && in->secret->size() > 256)
    return bad("secret", "secret is longer than 256 bytes");
  if (auto s = str("insecure_ssl")) in->insecure_ssl = *s == "1";
  return std::nullopt;
}

Response hook_after(Services& svc, uint64_t id, int status) {
  auto h = state::hooks::get(svc.chain().schema(), svc.chain().view().kv(), id);
  if (!h) return not_found();
  return json_response(status, hook_json(svc, *h));
}

// GET .../hooks
void list_hooks(HooksEnv& env, Request& req, Responder respond) {
  auto& svc = env.svc;
  auto view = svc.chain().view();
  auto list =
      org_route(req)
          ? state::hooks::of_org(svc.chain().schema(), view.kv(), org_context(req).org.key)
          : state::hooks::of_repo(svc.chain().schema(), view.kv(), repo_context(req).repo.id);
  json arr = json::array();
  for (const auto& h : list) arr.push_back(hook_json(svc, h));
  respond(collab::page_response(req, svc, arr));
}

// POST .../hooks {name: "web", config: {url, content_type, secret, insecure_ssl}, events, active}
void create_hook(HooksEnv& env, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Hook",
                        {{"name", BodyField::kString},
                         {"active", BodyField::kBoolean},
                         {"events", BodyField::kArray}});
  if (!body) return;
  HookInput in;
  if (auto err = parse_input(*body, true, env.deliveries.allow_private, &in)) return respond(*err);
  auto& svc = env.svc;
  state::CreateHook c;
  if (org_route(req)) {
    c.scope = state::kHookOrg;
    c.org = org_context(req).org.key;
  } else {
    c.scope = state::kHookRepo;
    c.repo_id = repo_context(req).repo.id;
  }
  c.url = *in.url;
  c.content_type = in.content_type.value_or(state::kHookJson);
  c.insecure_ssl = in.insecure_ssl.value_or(false);
  c.active = in.active.value_or(true);
  c.events = in.events.value_or(std::vector<std::string>{"push"});
  c.node = svc.node_key().public_key();  // this node delivers (docs/webhooks.md)
  if (in.secret && !in.secret->empty()) c.sealed_secret = seal_hook_secret(c.node, *in.secret);
  submit(svc, req, std::move(respond), c, "Hook", [&svc](const state::TxOutcome& o) {
    auto id = svc.chain().view().receipt(o.id);
    return id ? hook_after(svc, *id, 201) : not_found();
  });
}

// GET .../hooks/{hook_id}
void get_hook(HooksEnv& env, Request& req, Responder respond) {
  auto h = path_hook(env.svc, req);
  if (!h) return respond(not_found());
  respond(collab::get_response(req, hook_json(env.svc, *h)));
}

// PATCH .../hooks/{hook_id}: as POST; also add_events/remove_events. A secret given here is
// sealed to the node serving the request, which becomes the delivering node
// (docs/webhooks.md: moving a hook to another node).
void update_hook(HooksEnv& env, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Hook",
                        {{"name", BodyField::kString},
                         {"active", BodyField::kBoolean},
                         {"events", BodyField::kArray},
                         {"add_events", BodyField::kArray},
                         {"remove_events", BodyField::kArray}});
  if (!body) return;
  auto& svc = env.svc;
  auto h = path_hook(svc, req);
  if (!h) return respond(not_found());
  HookInput in;
  if (auto err = parse_input(*body, false, env.deliveries.allow_private, &in)) return respond(*err);
  state::UpdateHook u;
  u.hook_id = h->id;
  u.url = in.url;
  u.content_type = in.content_type;
  u.insecure_ssl = in.insecure_ssl;
  u.active = in.active;
  u.events = in.events;
  for (const char* k : {"add_events", "remove_events"}) {
    if (!body->contains(k)) continue;
    auto events = u.events.value_or(h->events);
    for (const auto& e : (*body)[k]) {
      if (!e.is_string()) return respond(bad(k, "must be an array of strings"));
      auto name = e.get<std::string>();
      auto it = std::find(events.begin(), events.end(), name);
      if (std::string_view(k) == "add_events" && it == events.end()) events.push_back(name);
      if (std::string_view(k) == "remove_events" && it != events.end()) events.erase(it);
    }
    if (auto e = state::hook_events_error(events)) return respond(bad(k, *e));
    u.events = std::move(events);
  }
  const auto& me = svc.node_key().public_key();
  if (in.secret) {
    u.node = me;
    u.sealed_secret = in.secret->empty() ? Bytes{} : seal_hook_secret(me, *in.secret);
  } else if (body->contains("take_over") && (*body)["take_over"] == true) {
    // Guts: move delivery to this node (the previous one is gone); needs the secret again
    // when the hook has one.
    u.node = me;
  }
  submit(svc, req, std::move(respond), u, "Hook",
         [&svc, id = h->id](const state::TxOutcome&) { return hook_after(svc, id, 200); });
}

// DELETE .../hooks/{hook_id}
void delete_hook(HooksEnv& env, Request& req, Responder respond) {
  auto h = path_hook(env.svc, req);
  if (!h) return respond(not_found());
  submit(env.svc, req, std::move(respond), state::DeleteHook{h->id}, "Hook", collab::no_content);
}

// Deliveries live on the delivering node only: others answer 409 naming it.
std::optional<Response> elsewhere(Services& svc, const state::Hook& h) {
  if (h.node == svc.node_key().public_key()) return std::nullopt;
  json body{{"message", "This hook is delivered by node " + crypto::did_from_key(h.node) +
                            "; ask that node for its deliveries (or PATCH the hook with "
                            "take_over through this node)."},
            {"delivering_node", crypto::did_from_key(h.node)},
            {"documentation_url", "docs/webhooks.md"}};
  return json_response(409, body);
}

// POST .../hooks/{hook_id}/pings (and /tests for repository hooks: a ping too)
void ping_hook(HooksEnv& env, Request& req, Responder respond) {
  auto h = path_hook(env.svc, req);
  if (!h) return respond(not_found());
  if (auto r = elsewhere(env.svc, *h)) return respond(*r);
  auto id = env.deliveries.ping(*h);
  if (!id.ok()) return respond(error_response(409, id.status().message()));
  respond(Response{204, {}, ""});
}

// GET .../hooks/{hook_id}/deliveries
void list_deliveries(HooksEnv& env, Request& req, Responder respond) {
  auto h = path_hook(env.svc, req);
  if (!h) return respond(not_found());
  if (auto r = elsewhere(env.svc, *h)) return respond(*r);
  size_t per_page = page_of(req).per_page;
  respond(json_response(200, env.deliveries.list(h->id, per_page)));
}

std::optional<uint64_t> delivery_id(const Request& req) {
  try {
    size_t used = 0;
    auto s = req.param("delivery_id");
    uint64_t v = std::stoull(s, &used);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// GET .../hooks/{hook_id}/deliveries/{delivery_id}
void get_delivery(HooksEnv& env, Request& req, Responder respond) {
  auto h = path_hook(env.svc, req);
  auto id = delivery_id(req);
  if (!h || !id) return respond(not_found());
  if (auto r = elsewhere(env.svc, *h)) return respond(*r);
  auto d = env.deliveries.get(h->id, *id);
  if (!d) return respond(not_found());
  respond(json_response(200, *d));
}

// POST .../hooks/{hook_id}/deliveries/{delivery_id}/attempts: 202 {} (GitHub's answer)
void redeliver(HooksEnv& env, Request& req, Responder respond) {
  auto h = path_hook(env.svc, req);
  auto id = delivery_id(req);
  if (!h || !id) return respond(not_found());
  if (auto r = elsewhere(env.svc, *h)) return respond(*r);
  auto r = env.deliveries.redeliver(h->id, *id);
  if (!r.ok()) return respond(not_found());
  respond(json_response(202, json{{"id", *r}}));
}

const RouteSpec<HooksEnv> kRepoHookRoutes[] = {
    {"GET", "/hooks", "repo:admin", &list_hooks},
    {"POST", "/hooks", "repo:admin", &create_hook},
    {"GET", "/hooks/{hook_id}", "repo:admin", &get_hook},
    {"PATCH", "/hooks/{hook_id}", "repo:admin", &update_hook},
    {"DELETE", "/hooks/{hook_id}", "repo:admin", &delete_hook},
    {"POST", "/hooks/{hook_id}/pings", "repo:admin", &ping_hook},
    {"GET", "/hooks/{hook_id}/deliveries", "repo:admin", &list_deliveries},
    {"GET", "/hooks/{hook_id}/deliveries/{delivery_id}", "repo:admin", &get_delivery},
    {"POST", "/hooks/{hook_id}/deliveries/{delivery_id}/attempts", "repo:admin", &redeliver},
    {"POST", "/hooks/{hook_id}/tests", "repo:admin", &ping_hook},
};
const RouteSpec<HooksEnv> kOrgHookRoutes[] = {
    {"GET", "/hooks", "org:admin", &list_hooks},
    {"POST", "/hooks", "org:admin", &create_hook},
    {"GET", "/hooks/{hook_id}", "org:admin", &get_hook},
    {"PATCH", "/hooks/{hook_id}", "org:admin", &update_hook},
    {"DELETE", "/hooks/{hook_id}", "org:admin", &delete_hook},
    {"POST", "/hooks/{hook_id}/pings", "org:admin", &ping_hook},
    {"GET", "/hooks/{hook_id}/deliveries", "org:admin", &list_deliveries},
    {"GET", "/hooks/{hook_id}/deliveries/{delivery_id}", "org:admin", &get_delivery},
    {"POST", "/hooks/{hook_id}/deliveries/{delivery_id}/attempts", "org:admin", &redeliver},
};

}  // namespace

void add_hook_routes(Router& router, Services& services, WebhookDeliveries deliveries) {
  auto env = std::make_shared<HooksEnv>(HooksEnv{services, std::move(deliveries)});
  add_routes(router, env, "/api/v3/repos/{owner}/{repo}", kRepoHookRoutes);
  add_routes(router, env, "/api/v3/orgs/{org}", kOrgHookRoutes);
}

}  // namespace guts::api
