#include "api/rate_limit.h"

#include <algorithm>

#include "api/errors.h"
#include "core/time.h"

namespace guts::api {

RateDecision RateLimiter::decide(const Window* w, uint64_t limit, uint64_t now_ms) const {
  RateDecision d;
  d.limit = limit;
  if (limit == 0) return d;
  bool live = w && now_ms < w->start_ms + options_.window_ms;
  uint64_t start = live ? w->start_ms : now_ms;
  d.used = live ? w->used : 0;
  d.remaining = d.used >= limit ? 0 : limit - d.used;
  uint64_t reset_ms = start + options_.window_ms;
  d.reset_unix_s = (reset_ms + 999) / 1000;
  d.allowed = d.remaining > 0;
  if (!d.allowed) d.retry_after_s = std::max<uint64_t>(1, (reset_ms - now_ms + 999) / 1000);
  return d;
}

RateDecision RateLimiter::take(const std::string& client, uint64_t limit, uint64_t now_ms) {
  if (limit == 0) return decide(nullptr, 0, now_ms);
  MutexLock lock(mu_);
  auto it = windows_.find(client);
  if (it == windows_.end()) {
    if (windows_.size() >= options_.max_clients) evict(now_ms);
    it = windows_.emplace(client, Window{now_ms, 0}).first;
  } else if (now_ms >= it->second.start_ms + options_.window_ms) {
    it->second = Window{now_ms, 0};  // a new window
  }
  RateDecision d = decide(&it->second, limit, now_ms);
  if (!d.allowed) return d;
  ++it->second.used;
  d.used = it->second.used;
  d.remaining = limit - d.used;
  return d;
}

RateDecision RateLimiter::peek(const std::string& client, uint64_t limit, uint64_t now_ms) const {
  MutexLock lock(mu_);
  auto it = windows_.find(client);
  return decide(it == windows_.end() ? nullptr : &it->second, limit, now_ms);
}

size_t RateLimiter::clients() const {
  MutexLock lock(mu_);
  return windows_.size();
}

void RateLimiter::evict(uint64_t now_ms) {
  // Expired windows first; if every window is live, the oldest goes (its client starts over:
  // the bound on memory wins over exactness for a table this full).
  std::erase_if(windows_,
                [&](const auto& kv) { return now_ms >= kv.second.start_ms + options_.window_ms; });
  if (windows_.size() < options_.max_clients) return;
  auto oldest = std::min_element(
      windows_.begin(), windows_.end(),
      [](const auto& a, const auto& b) { return a.second.start_ms < b.second.start_ms; });
  windows_.erase(oldest);
}

std::pair<std::string, uint64_t> rate_client(const RateLimiter& limiter, const Request& req) {
  if (req.principal.authenticated)
    return {"token:" + req.principal.token_id, limiter.options().authenticated_per_hour};
  return {"ip:" + req.remote_address, limiter.options().anonymous_per_hour};
}

bool rate_limited_path(const Request& req) {
  return req.path.rfind("/api/v3/", 0) == 0 && req.path != "/api/v3/rate_limit";
}

void set_rate_headers(Headers& h, const RateDecision& d) {
  if (d.limit == 0) return;
  h.set("X-RateLimit-Limit", std::to_string(d.limit));
  h.set("X-RateLimit-Remaining", std::to_string(d.remaining));
  h.set("X-RateLimit-Used", std::to_string(d.used));
  h.set("X-RateLimit-Reset", std::to_string(d.reset_unix_s));
  h.set("X-RateLimit-Resource", "core");
}

Middleware make_rate_limit_middleware(std::shared_ptr<RateLimiter> limiter) {
  return [limiter](Request& req, const Responder& respond) {
    if (!rate_limited_path(req)) return false;
    auto [client, limit] = rate_client(*limiter, req);
    RateDecision d = limiter->take(client, limit, unix_millis());
    set_rate_headers(req.response_headers, d);
    if (d.allowed) return false;
    std::string who = req.principal.authenticated ? "this token" : req.remote_address;
    Response r = error_response(429, "API rate limit exceeded for " + who +
                                         ". Try again after the reset (X-RateLimit-Reset).");
    r.headers.set("Retry-After", std::to_string(d.retry_after_s));
    respond(std::move(r));
    return true;
  };
}

}  // namespace guts::api
