// GitHub's notifications REST API (api/notifications_routes.h).
#include "api/notifications_routes.h"

#include <charconv>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "core/time.h"
#include "crypto/did.h"

namespace guts::api {

namespace {

struct NotifEnv {
  Services& svc;
  Notifications& inbox;
};

crypto::PublicKey me(const Request& req) {
  auto k = crypto::parse_did(req.principal.did);
  if (!k) throw Error(Code::kUnauthenticated, "Requires authentication");
  return *k;
}

std::optional<uint64_t> thread_param(const Request& req) {
  std::string s = req.param("thread_id");
  uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// An ISO 8601 time ("2026-12-04T21:15:00Z"; fractional seconds, as JavaScript's toISOString()
// writes them, are dropped).
std::optional<uint64_t> parse_time(std::string s) {
  if (s.size() > 64) return std::nullopt;
  if (auto dot = s.find('.'); dot != std::string::npos && dot > 10) {
    size_t end = dot + 1;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end - dot > 10) return std::nullopt;
    s.erase(dot, end - dot);
  }
  return parse_iso8601(s);
}

// A time query parameter; 0 when absent, nullopt when invalid.
std::optional<uint64_t> time_of(const std::optional<std::string>& s) {
  if (!s || s->empty()) return uint64_t{0};
  return parse_time(*s);
}

bool flag(const Request& req, std::string_view name) {
  auto v = req.query_param(name);
  return v && (*v == "true" || *v == "1");
}

std::string base(Services& svc) {
  return svc.public_url() + "/api/v3";
}

json subscription_json(Services& svc, const Subscription& s, const std::string& url,
                       const std::string& parent_key, const std::string& parent_url) {
  return {{"subscribed", s.subscribed},
          {"ignored", s.ignored},
          {"reason", s.reason.empty() ? json(nullptr) : json(s.reason)},
          {"created_at", iso8601(s.created_ms)},
          {"url", url},
          {parent_key, parent_url}};
  (void)svc;
}

void list_notifications(NotifEnv& env, Request& req, Responder respond) {
  NotificationQuery q;
  q.all = flag(req, "all");
  q.participating = flag(req, "participating");
  auto since = time_of(req.query_param("since"));
  auto before = time_of(req.query_param("before"));
  if (!since || !before)
    return respond(validation_failed("Notification", since ? "before" : "since", "invalid",
                                     "must be an ISO 8601 time"));
  q.since_ms = *since;
  q.before_ms = *before;
  q.limit = SIZE_MAX;
  json items = json::array();
  for (const auto& n : env.inbox.list(me(req), q)) {
    auto j = notification_json(env.svc, n);
    if (!j.is_null()) items.push_back(std::move(j));
  }
  respond(collab::page_response(req, env.svc, items));
}

void mark_all(NotifEnv& env, Request& req, Responder respond, std::optional<uint64_t> repo) {
  uint64_t now = unix_millis();
  uint64_t last = now;
  if (!req.body.empty()) {
    auto body =
        collab::read_body(req, respond, "Notification",
                          {{"last_read_at", BodyField::kString}, {"read", BodyField::kBoolean}});
    if (!body) return;
    if (body->contains("last_read_at") && (*body)["last_read_at"].is_string()) {
      auto t = parse_time((*body)["last_read_at"].get<std::string>());
      if (!t)
        return respond(validation_failed("Notification", "last_read_at", "invalid",
                                         "must be an ISO 8601 time"));
      last = *t;
    }
  }
  env.inbox.mark_all_read(me(req), last, now, repo);
  Response r = json_response(205, json::object());
  r.body.clear();
  respond(std::move(r));
}

void mark_all_read(NotifEnv& env, Request& req, Responder respond) {
  mark_all(env, req, std::move(respond), std::nullopt);
}

void mark_repo_read(NotifEnv& env, Request& req, Responder respond) {
  mark_all(env, req, std::move(respond), repo_context(req).repo.id);
}

// The user's notification of the path's thread, or 404.
std::optional<Notification> path_thread(NotifEnv& env, const Request& req,
                                        const Responder& respond) {
  auto id = thread_param(req);
  auto n = id ? env.inbox.thread(me(req), *id) : std::nullopt;
  if (!n) respond(error_response(404, "Not Found"));
  return n;
}

void get_thread(NotifEnv& env, Request& req, Responder respond) {
  auto n = path_thread(env, req, respond);
  if (!n) return;
  auto j = notification_json(env.svc, *n);
  if (j.is_null()) return respond(error_response(404, "Not Found"));
  respond(json_response(200, j));
}

void read_thread(NotifEnv& env, Request& req, Responder respond) {
  auto n = path_thread(env, req, respond);
  if (!n) return;
  env.inbox.mark_read(me(req), n->thread_id, unix_millis());
  Response r = json_response(205, json::object());
  r.body.clear();
  respond(std::move(r));
}

void done_thread(NotifEnv& env, Request& req, Responder respond) {
  auto n = path_thread(env, req, respond);
  if (!n) return;
  env.inbox.mark_read(me(req), n->thread_id, unix_millis());
  respond(json_response(204, nullptr));
}

std::string thread_url(Services& svc, uint64_t id) {
  return base(svc) + "/notifications/threads/" + std::to_string(id);
}

void get_thread_subscription(NotifEnv& env, Request& req, Responder respond) {
  auto id = thread_param(req);
  auto s = id ? env.inbox.thread_subscription(me(req), *id) : std::nullopt;
  if (!s) return respond(error_response(404, "Not Found"));
  std::string url = thread_url(env.svc, *id);
  respond(
      json_response(200, subscription_json(env.svc, *s, url + "/subscription", "thread_url", url)));
}

void put_thread_subscription(NotifEnv& env, Request& req, Responder respond) {
  auto id = thread_param(req);
  if (!id) return respond(error_response(404, "Not Found"));
  bool ignored = false;
  if (!req.body.empty()) {
    auto body = collab::read_body(req, respond, "Subscription", {{"ignored", BodyField::kBoolean}});
    if (!body) return;
    ignored = body->value("ignored", false);
  }
  env.inbox.set_thread_subscription(me(req), *id, ignored, unix_millis());
  auto s = env.inbox.thread_subscription(me(req), *id);
  std::string url = thread_url(env.svc, *id);
  respond(
      json_response(200, subscription_json(env.svc, *s, url + "/subscription", "thread_url", url)));
}

void delete_thread_subscription(NotifEnv& env, Request& req, Responder respond) {
  auto id = thread_param(req);
  if (!id) return respond(error_response(404, "Not Found"));
  env.inbox.delete_thread_subscription(me(req), *id);
  respond(json_response(204, nullptr));
}

std::string repo_url(Services& svc, const RepoContext& rc) {
  return base(svc) + "/repos/" + rc.owner.username + "/" + rc.repo.name;
}

void get_repo_subscription(NotifEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto s = env.inbox.repo_subscription(me(req), rc.repo.id);
  if (!s) return respond(error_response(404, "Not Found"));
  std::string url = repo_url(env.svc, rc);
  respond(json_response(
      200, subscription_json(env.svc, *s, url + "/subscription", "repository_url", url)));
}

void put_repo_subscription(NotifEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  bool subscribed = true, ignored = false;
  if (!req.body.empty()) {
    auto body =
        collab::read_body(req, respond, "Subscription",
                          {{"subscribed", BodyField::kBoolean}, {"ignored", BodyField::kBoolean}});
    if (!body) return;
    subscribed = body->value("subscribed", true);
    ignored = body->value("ignored", false);
  }
  env.inbox.set_repo_subscription(me(req), rc.repo.id, subscribed, ignored, unix_millis());
  auto s = env.inbox.repo_subscription(me(req), rc.repo.id);
  std::string url = repo_url(env.svc, rc);
  respond(json_response(
      200, subscription_json(env.svc, *s, url + "/subscription", "repository_url", url)));
}

void delete_repo_subscription(NotifEnv& env, Request& req, Responder respond) {
  env.inbox.delete_repo_subscription(me(req), repo_context(req).repo.id);
  respond(json_response(204, nullptr));
}

// GET /repos/{o}/{r}/subscribers: the repository's watchers on this node (GitHub's
// activity.listWatchersForRepo), paged.
void list_watchers(NotifEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto view = env.svc.chain().view();
  json arr = json::array();
  for (const auto& k : env.inbox.watchers(rc.repo.id, 0, 10000))
    if (auto a = view.account(k)) arr.push_back(user_json(*a, base(env.svc)));
  respond(collab::page_response(req, env.svc, arr));
}

const RouteSpec<NotifEnv> kNotificationRoutes[] = {
    {"GET", "/notifications", "user", &list_notifications},
    {"PUT", "/notifications", "user", &mark_all_read},
    {"PATCH", "/notifications", "user", &mark_all_read},
    {"GET", "/notifications/threads/{thread_id}", "user", &get_thread},
    {"PATCH", "/notifications/threads/{thread_id}", "user", &read_thread},
    {"DELETE", "/notifications/threads/{thread_id}", "user", &done_thread},
    {"GET", "/notifications/threads/{thread_id}/subscription", "user", &get_thread_subscription},
    {"PUT", "/notifications/threads/{thread_id}/subscription", "user", &put_thread_subscription},
    {"DELETE", "/notifications/threads/{thread_id}/subscription", "user",
     &delete_thread_subscription},
};

const RouteSpec<NotifEnv> kRepoNotificationRoutes[] = {
    {"GET", "/subscription", "repo:read", &get_repo_subscription},
    {"PUT", "/subscription", "repo:read", &put_repo_subscription},
    {"DELETE", "/subscription", "repo:read", &delete_repo_subscription},
    {"PUT", "/notifications", "repo:read", &mark_repo_read},
    {"GET", "/subscribers", "repo:read", &list_watchers},
};

}  // namespace

json notification_json(Services& svc, const Notification& n) {
  auto view = svc.chain().view();
  auto repo = view.repo(n.repo_id);
  auto owner = repo ? view.account(repo->owner) : std::nullopt;
  if (!repo || !owner) return nullptr;
  std::string repo_api = base(svc) + "/repos/" + owner->username + "/" + repo->name;
  std::string subject_url = repo_api + (n.pull ? "/pulls/" : "/issues/") + std::to_string(n.number);
  std::string url = thread_url(svc, n.thread_id);
  return {{"id", std::to_string(n.thread_id)},
          {"repository", repo_json(*repo, *owner, svc.public_url(), std::nullopt)},
          {"subject",
           {{"title", n.title},
            {"url", subject_url},
            {"latest_comment_url", subject_url},
            {"type", n.pull ? "PullRequest" : "Issue"}}},
          {"reason", n.reason},
          {"unread", n.unread},
          {"updated_at", iso8601(n.updated_ms)},
          {"last_read_at", n.last_read_ms ? json(iso8601(n.last_read_ms)) : json(nullptr)},
          {"url", url},
          {"subscription_url", url + "/subscription"}};
}

void add_notifications_routes(Router& router, Services& svc, Notifications& notifications) {
  auto env = std::make_shared<NotifEnv>(NotifEnv{svc, notifications});
  add_routes(router, env, "/api/v3", kNotificationRoutes);
  add_routes(router, env, "/api/v3/repos/{owner}/{repo}", kRepoNotificationRoutes);
}

}  // namespace guts::api
