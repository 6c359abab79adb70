// The live event stream (api/events_routes.h, docs/events.md).
#include "api/events_routes.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/errors.h"
#include "api/scopes.h"
#include "crypto/did.h"
#include "state/chain.h"
#include "state/permission.h"

namespace guts::api {

namespace {

constexpr uint64_t kPollBlocks = 100;        // blocks per polling answer
constexpr uint64_t kMaxResumeBlocks = 1000;  // further behind: "reset"
constexpr std::string_view kApiPath = "/api/guts/events";
constexpr std::string_view kWebPath = "/-/events";

struct EventsEnv {
  Services& svc;
  std::shared_ptr<LiveHub> hub;
};

// What a subscription asks for: ?since=H&repo=owner/name.
struct Query {
  std::optional<uint64_t> since;
  uint64_t repo_id = 0;  // 0: every repository
};

std::optional<uint64_t> parse_height(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Parses the query; an error response when it is invalid or names a repository the caller may
// not read (404, as the middleware does).
std::variant<Query, Response> parse_query(Services& svc, const Request& req) {
  Query q;
  if (auto s = req.query_param("since")) {
    q.since = parse_height(*s);
    if (!q.since)
      return validation_failed("Event", "since", "invalid", "since must be a block height");
  }
  if (auto r = req.query_param("repo")) {
    auto slash = r->find('/');
    if (slash == std::string::npos || r->size() > 256)
      return validation_failed("Event", "repo", "invalid", "repo must be owner/name");
    auto view = svc.chain().view();
    auto owner = view.account_by_username(r->substr(0, slash));
    auto repo = owner ? view.repo_by_name(owner->key, r->substr(slash + 1)) : std::nullopt;
    if (!repo || !event_visible(view, req.principal, repo->id))
      return error_response(404, "Not Found");
    q.repo_id = repo->id;
  }
  return q;
}

LiveHub::Filter filter_for(Services& svc, Principal who, uint64_t repo_id) {
  return [&svc, who = std::move(who), repo_id](const LiveEvent& e) {
    if (e.repo_id == 0) return true;
    if (repo_id != 0 && e.repo_id != repo_id) return false;
    return event_visible(svc.chain().view(), who, e.repo_id);
  };
}

// GET /api/guts/events without the upgrade: one page of events after `since` (default: the
// head, i.e. none), {"height", "next", "events"}. Poll again with since=next.
void poll_events(EventsEnv& env, Request& req, Responder respond) {
  auto parsed = parse_query(env.svc, req);
  if (auto* r = std::get_if<Response>(&parsed)) return respond(std::move(*r));
  const Query& q = std::get<Query>(parsed);
  uint64_t head = env.svc.chain().head().height;
  uint64_t since = std::min(q.since.value_or(head), head);
  nlohmann::json events = nlohmann::json::array();
  uint64_t next = since;
  if (head - since > kMaxResumeBlocks) {
    events.push_back(nlohmann::json{{"type", "reset"}, {"height", head}, {"since", since}});
    next = head;
  } else {
    auto filter = filter_for(env.svc, req.principal, q.repo_id);
    auto source = stored_block_events(env.svc.chain());
    for (uint64_t h = since + 1; h <= head && h <= since + kPollBlocks; ++h) {
      auto list = source(h);
      if (!list) break;
      for (const auto& e : *list)
        if (filter(e)) events.push_back(nlohmann::json::parse(e.json));
      next = h;
    }
  }
  Response r = Response::json(
      200, nlohmann::json{{"height", head}, {"next", next}, {"events", std::move(events)}}.dump(
               -1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.set("Cache-Control", "no-cache");
  respond(std::move(r));
}

const RouteSpec<EventsEnv> kEventsRoutes[] = {
    {"GET", "/api/guts/events", "public", &poll_events},
    {"GET", "/-/events", "public", &poll_events},
};

// One WebSocket subscriber.
class EventsChannel : public WsChannel {
 public:
  EventsChannel(std::shared_ptr<LiveHub> hub, std::optional<uint64_t> since, LiveHub::Filter f)
      : hub_(std::move(hub)), since_(since), filter_(std::move(f)) {}
  void start(std::shared_ptr<WsWaker> waker) override {
    sub_ = hub_->subscribe(since_, std::move(filter_), [waker] { waker->wake(); });
  }
  Pull pull() override {
    if (!sub_) return {};
    auto p = sub_->pull();
    return {std::move(p.events), std::move(p.close_reason)};
  }
  void closed() override { sub_.reset(); }

 private:
  std::shared_ptr<LiveHub> hub_;
  std::optional<uint64_t> since_;
  LiveHub::Filter filter_;
  std::shared_ptr<LiveHub::Subscription> sub_;
};

// "http://host:port" or "https://host:port" equal to the request's Host.
bool same_origin(const Request& req) {
  auto origin = req.headers.get("Origin");
  auto host = req.headers.get("Host");
  if (!origin || !host) return !origin.has_value();  // no Origin: not a browser
  return *origin == "http://" + *host || *origin == "https://" + *host;
}

}  // namespace

bool event_visible(const state::StateView& view, const Principal& who, uint64_t repo_id) {
  if (repo_id == 0) return true;
  auto repo = view.repo(repo_id);
  if (!repo) return false;
  std::optional<crypto::PublicKey> key;
  if (who.authenticated) key = crypto::parse_did(who.did);
  bool outside = !who.repo_ids.empty() &&
                 std::find(who.repo_ids.begin(), who.repo_ids.end(), repo_id) == who.repo_ids.end();
  if (outside) key.reset();
  if (state::effective_permission(view, *repo, key) < state::Permission::kRead) return false;
  if (repo->is_private && key) {
    auto accepted =
        accepted_scopes({"repo:read", "GET", "/api/v3/repos/{owner}/{repo}/events", true});
    if (!accepted.empty() && !holds_any(who.scopes, accepted)) return false;
  }
  return true;
}

LiveHub::BlockEvents stored_block_events(state::Chain& chain) {
  return [&chain](uint64_t height) -> std::optional<std::vector<LiveEvent>> {
    auto block = chain.block_at(height);
    if (!block) return std::nullopt;
    return live_events(*block, chain.view());
  };
}

void add_events_routes(Router& router, Services& svc, std::shared_ptr<LiveHub> hub) {
  add_routes(router, std::make_shared<EventsEnv>(EventsEnv{svc, std::move(hub)}), "",
             kEventsRoutes);
}

WebSocketHook events_websocket(Services& svc, std::shared_ptr<LiveHub> hub) {
  return [&svc, hub](Request& req) -> std::optional<WsResult> {
    if (req.path != kApiPath && req.path != kWebPath) return std::nullopt;
    // A browser session's cookie goes with any page's WebSocket: only this site's pages may
    // open one with it (cross-site WebSocket hijacking).
    if (!session_id(req.principal).empty() && !same_origin(req))
      return WsResult(error_response(403, "Cross-origin WebSocket refused"));
    auto parsed = parse_query(svc, req);
    if (auto* r = std::get_if<Response>(&parsed)) return WsResult(std::move(*r));
    const Query& q = std::get<Query>(parsed);
    return WsResult(
        std::make_shared<EventsChannel>(hub, q.since, filter_for(svc, req.principal, q.repo_id)));
  };
}

}  // namespace guts::api
