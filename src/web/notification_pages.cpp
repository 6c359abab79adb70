// The notification inbox (docs/web.md "Notifications"): GET /notifications lists the signed-in
// user's notifications (unread, or ?all=1), with a Mark-read button each and Mark all as read;
// both are CSRF-checked POSTs (the middleware) that change only this node's inbox.
//
//   GET  /notifications                 the inbox
//   POST /notifications/read            mark all read
//   POST /notifications/{id}/read       mark one thread read
#include "api/errors.h"
#include "api/notifications.h"
#include "core/time.h"
#include "crypto/did.h"
#include "web/pages.h"
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
  uint64_t id = 0;
  for (char c : req.param("id")) {
    if (c < '0' || c > '9' || id > (1ull << 50))
      return respond(api::error_response(404, "Not Found"));
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!env.notifications || !env.notifications->mark_read(*who, id, unix_millis()))
    return respond(api::error_response(404, "Not Found"));
  respond(see_other("/notifications"));
}

const api::RouteSpec<WebEnv> kNotificationPages[] = {
    {"GET", "/notifications", "public", nullptr, &serve<&inbox_page>},
    {"POST", "/notifications/read", "public", &mark_all_form},
    {"POST", "/notifications/{id}/read", "public", &mark_one_form},
};

}  // namespace

void set_notifications(WebEnv& env, api::Notifications* notifications) {
  env.notifications = notifications;
}

void add_notification_pages(api::Router& router, std::shared_ptr<WebEnv> env) {
  api::add_routes(router, env, "", kNotificationPages);
}

}  // namespace guts::web
