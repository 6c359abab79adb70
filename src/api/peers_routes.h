// GET /api/guts/peers (connected p2p peers). The API does not depend on the p2p module: the node
// passes a function that reads its network. GET /metrics is in api/metrics_routes.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/router.h"

namespace guts::api {

struct PeerRow {
  std::string did;
  std::string address;  // remote socket "ip:port"
  bool outbound = false;
  double latency_ms = -1;  // last ping round trip; -1 before the first
  uint64_t bytes_in = 0, bytes_out = 0;
  std::string user_agent;  // from the peer's node announcement, if known
};

struct PeersSource {
  std::function<std::vector<PeerRow>()> peers;  // empty function: the node runs without p2p
};

void add_peers_routes(Router& router, PeersSource source);

}  // namespace guts::api
