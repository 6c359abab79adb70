// /api/guts/peers (docs/p2p.md §7).
#include "api/peers_routes.h"

#include <nlohmann/json.hpp>

namespace guts::api {

namespace {

// GET /api/guts/peers
void list_peers(PeersSource& src, Request&, Responder respond) {
  auto peers = src.peers ? src.peers() : std::vector<PeerRow>{};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : peers) {
    nlohmann::json j{{"did", p.did},
                     {"address", p.address},
                     {"direction", p.outbound ? "outbound" : "inbound"},
                     {"latency_ms", nullptr},
                     {"bytes_in", p.bytes_in},
                     {"bytes_out", p.bytes_out},
                     {"user_agent", p.user_agent}};
    if (p.latency_ms >= 0) j["latency_ms"] = p.latency_ms;
    list.push_back(std::move(j));
  }
  respond(Response::json(200, nlohmann::json{{"count", peers.size()},
                                             {"p2p", static_cast<bool>(src.peers)},
                                             {"peers", list}}
                                  .dump()));
}

const RouteSpec<PeersSource> kPeersRoutes[] = {
    {"GET", "/api/guts/peers", "public", &list_peers},
};

}  // namespace

void add_peers_routes(Router& router, PeersSource source) {
  add_routes(router, std::make_shared<PeersSource>(std::move(source)), "", kPeersRoutes);
}

}  // namespace guts::api
