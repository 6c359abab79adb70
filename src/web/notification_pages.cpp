// The notification inbox (docs/web.md "Notifications"): GET /notifications lists the signed-in
// user's notifications (unread, or ?all=1), with a Mark-read button each and Mark all as read;
// both are CSRF-checked POSTs (the middleware) that change only this node's inbox.
//
//   GET  /notifications                 the inbox
//   POST /notifications/read            mark all read
//   POST /notifications/{id}/read       mark one thread read
//   GET  /notifications/count           {"unread": N}: the header's count, fetched by the
//                                       live-update script on each block (not the whole page)
//   POST /{owner}/{repo}/subscription   the Watch button: state=watching|ignoring|none
#include "api/auth.h"
#include "api/errors.h"
#include "api/notifications.h"
#include "core/time.h"
#include "crypto/did.h"
#include "web/pages.h"
#include "web/repo_view.h"
#include "web/web.h"

namespace guts::web {

namespace {

std::optional<crypto::PublicKey> me(const api::Request& req) {
  if (!req.principal.authenticated) return std::nullopt;
  return crypto::parse_did(req.principal.did);
}

api::Response inbox_page(WebEnv& env, api::Request& req) {
  auto who = me(req);
  if (!who) return redirect("/-/signin");
  if (!env.notifications) throw Error(Code::kNotFound, "Notifications are off on this node");
  bool all = req.query_param("all") == "1";
  api::NotificationQuery q;
  q.all = all;
  q.limit = 100;
  auto list = env.notifications->list(*who, q);
  auto view = env.svc.chain().view();
  uint64_t now = unix_millis();
  Html h;
  h.raw("<div id=\"inbox\" data-live=\"notifications\"><h1>Notifications</h1>");
  h.raw("<div class=\"tabs\"><a href=\"/notifications\"");
  if (!all) h.raw(" class=\"on\"");
  h.raw(">Unread</a><a href=\"/notifications?all=1\"");
  if (all) h.raw(" class=\"on\"");
  h.raw(">All</a></div>");
  if (!list.empty()) post_button(h, req, "/notifications/read", "Mark all as read");
  h.raw("<div class=\"box\"><ul class=\"list notifications\">");
  size_t shown = 0;
  for (const auto& n : list) {
    auto repo = view.repo(n.repo_id);
    auto owner = repo ? view.account(repo->owner) : std::nullopt;
    if (!repo || !owner) continue;
    ++shown;
    std::string full = owner->username + "/" + repo->name;
    std::string url = "/" + url_path(owner->username) + "/" + url_path(repo->name) +
                      (n.pull ? "/pull/" : "/issues/") + std::to_string(n.number);
    h.raw("<li class=\"notification") << (n.unread ? " unread" : "");
    h.raw("\" data-thread=\"") << n.thread_id;
    h.raw("\"><span class=\"muted\">") << full << Safe{"</span> "};
    h.raw("<a href=\"") << url;
    h.raw("\">") << n.title << Safe{"</a> <span class=\"muted\">#"} << n.number;
    h.raw(" · ") << (n.pull ? "pull request" : "issue") << " · " << n.reason << " · "
                 << age(n.updated_ms, now);
    h.raw("</span> ");
    if (n.unread)
      post_button(h, req, "/notifications/" + std::to_string(n.thread_id) + "/read", "Mark read");
    h.raw("</li>");
  }
  if (shown == 0)
    h.raw("<li class=\"muted\">") << (all ? "No notifications." : "All caught up.")
                                  << Safe{"</li>"};
  h.raw("</ul></div></div>");
  return page(env, 200, "Notifications", h);
}

void mark_all_form(WebEnv& env, api::Request& req, api::Responder respond) {
  auto who = me(req);
  if (!who) return respond(api::error_response(401, "Sign in to do this"));
  if (env.notifications) env.notifications->mark_all_read(*who, unix_millis(), unix_millis());
  respond(see_other("/notifications"));
}

void mark_one_form(WebEnv& env, api::Request& req, api::Responder respond) {
  auto who = me(req);
  if (!who) return respond(api::error_response(401, "Sign in to do this"));
  auto id = decimal(req.param("id"));
  if (!id || !env.notifications || !env.notifications->mark_read(*who, *id, unix_millis()))
    return respond(api::error_response(404, "Not Found"));
  respond(see_other("/notifications"));
}

// GET /notifications/count: the caller's unread count, JSON, never cached. Anonymous: 401.
void count_endpoint(WebEnv& env, api::Request& req, api::Responder respond) {
  auto who = me(req);
  if (!who) return respond(api::error_response(401, "Requires authentication"));
  api::Response r;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.headers.set("Cache-Control", "no-store");
  security_headers(r.headers);
  size_t n = env.notifications ? env.notifications->unread_count(*who) : 0;
  r.body = "{\"unread\":" + std::to_string(n) + "}";
  respond(std::move(r));
}

const api::RouteSpec<WebEnv> kNotificationPages[] = {
    {"GET", "/notifications", "public", nullptr, &serve<&inbox_page>},
    {"GET", "/notifications/count", "public", &count_endpoint},
    {"POST", "/notifications/read", "public", &mark_all_form},
    {"POST", "/notifications/{id}/read", "public", &mark_one_form},
};

}  // namespace

void watch_box(WebEnv& env, const api::Request& req, Html& h, const std::string& base,
               uint64_t repo_id) {
  if (!env.notifications) return;
  uint64_t count = env.notifications->watcher_count(repo_id);
  auto who = me(req);
  std::string state = "none";
  if (who)
    if (auto s = env.notifications->repo_subscription(*who, repo_id))
      state = s->ignored ? "ignoring" : s->subscribed ? "watching" : "none";
  h.raw("<div class=\"watch\" id=\"watch\" data-state=\"") << state;
  h.raw("\"><span class=\"pill\">") << (state == "watching"   ? "Watching"
                                        : state == "ignoring" ? "Ignoring"
                                                              : "Not watching");
  h.raw("</span> <span class=\"muted\"><span id=\"watch-count\">") << count;
  h.raw(count == 1 ? "</span> watcher</span> " : "</span> watchers</span> ");
  if (!who) {
    h.raw("<a href=\"/-/signin\">Sign in to watch</a></div>");
    return;
  }
  const std::string action = base + "/subscription";
  if (state != "watching") post_button(h, req, action, "Watch", {{"state", "watching"}});
  if (state != "none")
    post_button(h, req, action, state == "watching" ? "Unwatch" : "Stop ignoring",
                {{"state", "none"}});
  if (state != "ignoring") post_button(h, req, action, "Ignore", {{"state", "ignoring"}});
  h.raw("</div>");
}

// POST /{owner}/{repo}/subscription: the same node-local setting as PUT|DELETE
// /repos/{o}/{r}/subscription (api/notifications_routes.cpp); 303 back to the repository.
void watch_form(WebEnv& env, api::Request& req, api::Responder respond) {
  auto who = me(req);
  if (!who) return respond(api::error_response(401, "Sign in to do this"));
  if (!env.notifications) return respond(api::error_response(404, "Notifications are off"));
  const auto& ctx = api::repo_context(req);
  std::string state = form_field(req, "state").value_or("");
  if (state == "watching")
    env.notifications->set_repo_subscription(*who, ctx.repo.id, true, false, unix_millis());
  else if (state == "ignoring")
    env.notifications->set_repo_subscription(*who, ctx.repo.id, false, true, unix_millis());
  else if (state == "none")
    env.notifications->delete_repo_subscription(*who, ctx.repo.id);
  else
    return respond(api::error_response(422, "state must be watching, ignoring or none"));
  respond(see_other(repo_base_url(ctx)));
}

void set_notifications(WebEnv& env, api::Notifications* notifications) {
  env.notifications = notifications;
}

void add_notification_pages(api::Router& router, std::shared_ptr<WebEnv> env) {
  api::add_routes(router, env, "", kNotificationPages);
}

}  // namespace guts::web
