// GET /health/live, GET /health/ready, GET /metrics and the request hook (docs/metrics.md).
#include "api/metrics_routes.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/errors.h"

namespace guts::api {

Readiness evaluate_readiness(const ReadinessInput& in) {
  Readiness r;
  if (!in.consensus_running) r.reasons.push_back("consensus is not running");
  if (in.network_height > in.height + in.max_lag)
    r.reasons.push_back("behind the network by " + std::to_string(in.network_height - in.height) +
                        " blocks (ready within " + std::to_string(in.max_lag) + ")");
  if (in.needs_peers && in.peers == 0) r.reasons.push_back("no p2p peer connected");
  r.ready = r.reasons.empty();
  return r;
}

namespace {

// GET /health/live: the process serves HTTP.
void live(ObservabilitySource&, Request&, Responder respond) {
  auto r = Response::json(200, R"({"status":"live"})");
  r.headers.set("Cache-Control", "no-store");
  respond(std::move(r));
}

// GET /health/ready: 200 when caught up and connected, else 503 with the reasons.
void ready(ObservabilitySource& src, Request&, Responder respond) {
  ReadinessInput in;
  Readiness rd;
  if (src.readiness) {
    in = src.readiness();
    rd = evaluate_readiness(in);
  } else {
    rd.ready = true;
  }
  nlohmann::json j{{"status", rd.ready ? "ready" : "not ready"},
                   {"reasons", rd.reasons},
                   {"height", in.height},
                   {"network_height", in.network_height},
                   {"max_lag", in.max_lag},
                   {"peers", in.peers},
                   {"needs_peers", in.needs_peers},
                   {"consensus_running", in.consensus_running}};
  auto r = Response::json(rd.ready ? 200 : 503, j.dump());
  r.headers.set("Cache-Control", "no-store");
  respond(std::move(r));
}

// GET /metrics: the Prometheus text exposition format 0.0.4.
void metrics_text(ObservabilitySource& src, Request&, Responder respond) {
  if (!src.registry) return respond(error_response(404, "Not Found"));  // metrics = false
  auto r = Response::text(200, src.registry->render());
  r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.headers.set("Cache-Control", "no-store");
  respond(std::move(r));
}

const RouteSpec<ObservabilitySource> kMetricsRoutes[] = {
    {"GET", "/health/live", "public", &live},
    {"GET", "/health/ready", "public", &ready},
    {"GET", "/metrics", "public", &metrics_text},
};

std::string status_class(int status) {
  if (status < 100 || status > 599) return "error";  // 0: the connection broke
  return std::to_string(status / 100) + "xx";
}

std::string bounded_method(const std::string& m) {
  static const char* const kKnown[] = {"GET",   "HEAD",   "POST",    "PUT",
                                       "PATCH", "DELETE", "OPTIONS", "PROPFIND"};
  for (const char* k : kKnown)
    if (m == k) return m;
  return "other";
}

// Control characters and quotes (a decoded path may hold them) percent-encoded again; at most
// 512 bytes.
std::string log_safe(const std::string& s) {
  std::string out;
  out.reserve(std::min<size_t>(s.size(), 512));
  for (char c : s) {
    if (out.size() >= 512) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u == '"') {
      out += fmt::format("%{:02X}", u);  // percent-encoded again
    } else {
      out += c;
    }
  }
  return out;
}

bool probe_route(const std::string& route) {
  return route == "/health/live" || route == "/health/ready" || route == "/metrics";
}

}  // namespace

void add_metrics_routes(Router& router, ObservabilitySource source) {
  add_routes(router, std::make_shared<ObservabilitySource>(std::move(source)), "", kMetricsRoutes);
}

std::string access_log_line(const RequestRecord& r) {
  double ms = std::chrono::duration<double, std::milli>(r.duration).count();
  return fmt::format("access {} \"{} {}\" {} route={} {:.1f}ms in={} out={} id={}",
                     r.remote_address.empty() ? "-" : r.remote_address, log_safe(r.method),
                     log_safe(r.path), r.status, r.route, ms, r.bytes_in, r.bytes_out,
                     r.request_id);
}

std::function<void(const RequestRecord&)> request_hook(std::shared_ptr<metrics::Registry> registry,
                                                       bool access_log) {
  struct Families {
    metrics::Family<metrics::Counter>* requests;
    metrics::Family<metrics::Histogram>* duration;
    metrics::Counter* bytes_in;
    metrics::Counter* bytes_out;
  };
  Families f{};
  if (registry) {
    auto& r = *registry;
    f.requests = &r.counter("guts_http_requests_total",
                            "HTTP requests completed, by method, route pattern and status class",
                            {"method", "route", "status"});
    f.duration = &r.histogram("guts_http_request_duration_seconds",
                              "HTTP request latency (header read to response sent), by route",
                              {"route"}, metrics::latency_buckets());
    f.bytes_in = &r.counter("guts_http_received_bytes_total", "HTTP request body bytes read").get();
    f.bytes_out = &r.counter("guts_http_sent_bytes_total", "HTTP response body bytes sent").get();
  }
  return [registry, f, access_log](const RequestRecord& rec) {
    if (registry) {
      f.requests->labels({bounded_method(rec.method), rec.route, status_class(rec.status)}).inc();
      f.duration->labels({rec.route}).observe(std::chrono::duration<double>(rec.duration).count());
      f.bytes_in->inc(rec.bytes_in);
      f.bytes_out->inc(rec.bytes_out);
    }
    if (access_log) {
      if (probe_route(rec.route))
        spdlog::debug("{}", access_log_line(rec));
      else
        spdlog::info("{}", access_log_line(rec));
    }
  };
}

}  // namespace guts::api
