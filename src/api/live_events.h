// Live events (docs/events.md): what happened in a finalized block, as small JSON objects that
// the WebSocket stream /api/guts/events sends to browsers and clients.
//
// live_events() is a pure function of a block and a state view: the same block gives the same
// events with the same ids ("<height>.<index>") on every node and every time, so a client that
// resumes from a height gets from stored blocks exactly what it would have got live.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "state/block.h"
#include "state/view.h"

namespace guts::api {

struct LiveEvent {
  uint64_t height = 0;
  uint32_t index = 0;    // position among the block's events; 0 is the "block" event
  uint64_t repo_id = 0;  // 0: not about a repository (readable by anyone)
  std::string type;      // "block", "push", "comment.created", ... (docs/events.md)
  std::string json;      // the whole event object, serialized
};

// The events of `block`, in transaction order after the "block" event. `view` resolves names,
// issue numbers and comment ids (receipts); it is the finalized state at or after the block.
// Transactions about a repository that no longer exists give no event.
std::vector<LiveEvent> live_events(const state::Block& block, const state::StateView& view);

}  // namespace guts::api
