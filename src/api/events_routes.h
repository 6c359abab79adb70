// The live event stream (docs/events.md): GET /api/guts/events (and /-/events for browsers,
// where the session cookie authenticates) upgraded to a WebSocket streams the events of every
// finalized block the caller may read; without the upgrade it answers one page of them as JSON
// (polling). ?since=<height> resumes after that height, ?repo=owner/name keeps one repository.
#pragma once

#include <memory>

#include "api/http_server.h"
#include "api/live_hub.h"
#include "api/router.h"
#include "api/services.h"
#include "state/view.h"

namespace guts::api {

// Whether `who` may see events of repository `repo_id` (0: events about no repository, public):
// read permission as the authorization middleware computes it, the token's repository limit
// and, for a private repository, a token scope that reads private repositories.
bool event_visible(const state::StateView& view, const Principal& who, uint64_t repo_id);

// The hub's source of stored blocks' events (LiveHub::BlockEvents) over the chain.
LiveHub::BlockEvents stored_block_events(state::Chain& chain);

void add_events_routes(Router& router, Services& svc, std::shared_ptr<LiveHub> hub);
// For ServerOptions::websocket: accepts upgrades of the routes above.
WebSocketHook events_websocket(Services& svc, std::shared_ptr<LiveHub> hub);

}  // namespace guts::api
