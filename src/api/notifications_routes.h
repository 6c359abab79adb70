// GitHub's notifications REST API over the node-local inbox (api/notifications.h, docs/api.md):
//   GET  /notifications                      ?all ?participating ?since ?before ?page ?per_page
//   PUT|PATCH /notifications                 mark read (last_read_at) → 205
//   GET|PATCH|DELETE /notifications/threads/{thread_id}
//   GET|PUT|DELETE /notifications/threads/{thread_id}/subscription
//   GET|PUT|DELETE /repos/{owner}/{repo}/subscription   (watching)
//   PUT  /repos/{owner}/{repo}/notifications (mark a repository's notifications read)
//   GET  /repos/{owner}/{repo}/subscribers   (watchers on this node)
#pragma once

#include <nlohmann/json.hpp>

#include "api/notifications.h"
#include "api/router.h"
#include "api/services.h"

namespace guts::api {

void add_notifications_routes(Router& router, Services& svc, Notifications& notifications);

// GitHub's notification object (also used by the web inbox).
nlohmann::ordered_json notification_json(Services& svc, const Notification& n);

}  // namespace guts::api
