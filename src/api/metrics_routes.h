// Health and metrics (docs/metrics.md): GET /health/live, GET /health/ready, GET /metrics, all
// public and cheap; and the HTTP server's completion hook, which counts every request in the
// registry (by route pattern, never by raw path) and writes the access log.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "api/router.h"
#include "core/metrics.h"

namespace guts::api {

// What readiness is decided from (read by the node at each request).
struct ReadinessInput {
  uint64_t height = 0;          // local finalized height
  uint64_t network_height = 0;  // highest finalized height this node knows of
  uint64_t max_lag = 0;         // blocks behind the network still counted as caught up
  bool needs_peers = false;     // more than one validator, or a full node
  uint64_t peers = 0;           // connected p2p peers
  bool consensus_running = false;
};

struct Readiness {
  bool ready = false;
  std::vector<std::string> reasons;  // why not, when !ready
};

// Ready = consensus running, within max_lag blocks of the highest finalized height this node
// knows of, and at least one peer when the network needs them (more than one validator, or a
// full node, which learns the network's height from its peers). An idle network finalizes no
// block (views without transactions are nullified), so height 0 can be ready.
Readiness evaluate_readiness(const ReadinessInput& in);

struct ObservabilitySource {
  std::shared_ptr<metrics::Registry> registry;  // rendered by GET /metrics; null: 404
  std::function<ReadinessInput()> readiness;    // GET /health/ready; empty: always ready
};

void add_metrics_routes(Router& router, ObservabilitySource source);

// ServerOptions::on_request_done: HTTP metrics into `registry` (guts_http_*) and, when
// `access_log`, one info line per request (health checks and scrapes at debug level). Never logs
// a query string or a header.
std::function<void(const RequestRecord&)> request_hook(std::shared_ptr<metrics::Registry> registry,
                                                       bool access_log);

// The access-log line of a request (without the logger's prefix).
std::string access_log_line(const RequestRecord& r);

}  // namespace guts::api
