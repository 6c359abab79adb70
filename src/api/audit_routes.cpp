// The audit log over HTTP (docs/audit.md): GET /api/guts/audit (the node's operators: every
// record) and GET /api/guts/repos/{owner}/{repo}/audit (whoever may read the repository: its
// records). Newest first, cursor pagination with a Link header.
#include <charconv>

#include "api/auth.h"
#include "api/github.h"
#include "api/routes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/audit.h"

namespace guts::api {

namespace {

constexpr size_t kDefaultPerPage = 30;
constexpr size_t kMaxPerPage = 100;

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

json record_json(const state::AuditRecord& r, const state::StateView& view) {
  auto actor = view.account(r.actor);
  const auto& t = r.target;
  return {{"height", r.height},
          {"index", r.index},
          {"local", r.local},
          {"created_at", iso8601(r.time_ms)},
          {"timestamp_ms", r.time_ms},
          {"kind", r.kind},
          {"actor", crypto::did_from_key(r.actor)},
          {"actor_username", actor ? json(actor->username) : json(nullptr)},
          {"signer", crypto::did_from_key(r.signer)},
          {"transaction", r.local ? json(nullptr) : json(hex_encode(r.tx_id))},
          {"outcome", r.outcome},
          {"repo", t.repo.empty() ? json(nullptr) : json(t.repo)},
          {"repo_id", t.repo_id ? json(t.repo_id) : json(nullptr)},
          {"number", t.number ? json(t.number) : json(nullptr)},
          {"refs", t.refs},
          {"detail", t.detail}};
}

// The query's filters from the request; a response when one is invalid.
std::optional<Response> read_query(Services& svc, const Request& req, state::AuditQuery& q) {
  auto view = svc.chain().view();
  if (auto a = req.query_param("actor"); a && !a->empty()) {
    if (auto key = crypto::parse_did(*a)) {
      q.actor = *key;
    } else if (auto acct = view.account_by_username(*a)) {
      q.actor = acct->key;
    } else {
      return validation_failed("Audit", "actor", "invalid", "not a did:key or a username");
    }
  }
  if (auto r = req.query_param("repo"); r && !r->empty() && !q.repo_id) {
    auto slash = r->find('/');
    std::optional<state::Account> owner;
    if (slash != std::string::npos) owner = view.account_by_username(r->substr(0, slash));
    auto repo = owner ? view.repo_by_name(owner->key, r->substr(slash + 1)) : std::nullopt;
    if (!repo)
      return validation_failed("Audit", "repo", "invalid", "not an existing <owner>/<name>");
    q.repo_id = repo->id;
  }
  if (auto k = req.query_param("kind")) q.kind = *k;
  for (auto [name, field] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}}) {
    auto v = req.query_param(name);
    if (!v) continue;
    auto n = parse_u64(*v);
    if (!n) return validation_failed("Audit", name, "invalid", "a block height is expected");
    *field = *n;
  }
  q.limit = kDefaultPerPage;
  if (auto p = req.query_param("per_page")) {
    auto n = parse_u64(*p);
    if (n && *n > 0) q.limit = std::min<uint64_t>(*n, kMaxPerPage);
  }
  if (auto c = req.query_param("cursor")) q.cursor = *c;
  return std::nullopt;
}

void respond_page(Services& svc, const Request& req, const state::AuditQuery& q,
                  Responder respond) {
  state::AuditPage page;
  try {
    page = svc.chain().audit().query(q);
  } catch (const Error& e) {
    return respond(validation_failed("Audit", "cursor", "invalid", e.what()));
  }
  auto view = svc.chain().view();
  json out = json::array();
  for (const auto& r : page.records) out.push_back(record_json(r, view));
  Response resp = json_response(200, out);
  if (!page.next_cursor.empty()) {
    // The other parameters stay; the cursor is replaced.
    std::string other;
    size_t pos = 0;
    const std::string& qs = req.query;
    while (!qs.empty() && pos <= qs.size()) {
      size_t amp = qs.find('&', pos);
      if (amp == std::string::npos) amp = qs.size();
      auto part = qs.substr(pos, amp - pos);
      if (!part.empty() && part.rfind("cursor=", 0) != 0) other += part + "&";
      pos = amp + 1;
    }
    resp.headers.set("Link", "<" + svc.public_url() + req.path + "?" + other +
                                 "cursor=" + page.next_cursor + ">; rel=\"next\"");
  }
  resp.headers.set("X-Audit-Complete-From", std::to_string(svc.chain().audit().complete_from()));
  respond(std::move(resp));
}

// GET /api/guts/audit
void list_audit(Services& svc, Request& req, Responder respond) {
  state::AuditQuery q;
  if (auto bad = read_query(svc, req, q)) return respond(std::move(*bad));
  respond_page(svc, req, q, std::move(respond));
}

// GET /api/guts/repos/{owner}/{repo}/audit
void list_repo_audit(Services& svc, Request& req, Responder respond) {
  state::AuditQuery q;
  q.repo_id = repo_context(req).repo.id;
  if (auto bad = read_query(svc, req, q)) return respond(std::move(*bad));
  respond_page(svc, req, q, std::move(respond));
}

const RouteSpec<Services> kAuditRoutes[] = {
    {"GET", "/audit", "operator", &list_audit},
    {"GET", "/repos/{owner}/{repo}/audit", "repo:read", &list_repo_audit},
};

}  // namespace

void add_audit_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kAuditRoutes);
}

}  // namespace guts::api
