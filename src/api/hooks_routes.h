// Repository and organization webhooks (docs/webhooks.md): GitHub's /hooks routes. The hook is
// replicated state (state/hooks.h); its deliveries are node-local and answered only by the
// node that delivers the hook (node/webhooks.h supplies them through WebhookDeliveries).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "api/router.h"
#include "api/services.h"
#include "core/status.h"
#include "state/hooks.h"

namespace guts::api {

struct WebhookDeliveries {
  std::function<nlohmann::ordered_json(uint64_t hook_id, size_t limit)>
      list;  // array, newest first
  std::function<std::optional<nlohmann::ordered_json>(uint64_t hook_id, uint64_t id)> get;
  std::function<Result<uint64_t>(uint64_t hook_id, uint64_t id)> redeliver;
  std::function<Result<uint64_t>(const state::Hook& hook)> ping;
  // Loopback/private URLs accepted (operator option webhook-allow-private).
  bool allow_private = false;
};

void add_hook_routes(Router& router, Services& services, WebhookDeliveries deliveries);

}  // namespace guts::api
