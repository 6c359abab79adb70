// REST rate limits (docs/api.md "Rate limits"), GitHub's primary limit: each client gets a
// budget of requests per hour — per token for authenticated calls, per IP address for
// anonymous ones — in a window that starts with its first request and resets an hour later.
// Every counted response carries X-RateLimit-Limit/-Remaining/-Used/-Reset/-Resource; past the
// budget the request is refused with 429, Retry-After and the same headers, and nothing runs.
//
// Counted: the GitHub-compatible REST API (/api/v3/...), except GET /api/v3/rate_limit. Not
// counted: git's smart HTTP (as on GitHub), /api/guts (node protocol, status; transaction
// submission has its own door limits), health, metrics and web pages.
//
// The limiter is node-local policy (nodes do not share counters): a client spreading requests
// over N nodes gets N budgets. Memory is bounded: at most `max_clients` windows are kept.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "api/http.h"
#include "core/thread_annotations.h"

namespace guts::api {

struct RateLimitOptions {
  uint64_t authenticated_per_hour = 5000;  // 0: unlimited
  uint64_t anonymous_per_hour = 60;        // 0: unlimited
  size_t max_clients = 100000;
  uint64_t window_ms = 3600 * 1000;
};

struct RateDecision {
  bool allowed = true;
  uint64_t limit = 0;  // 0: unlimited (no headers)
  uint64_t used = 0;
  uint64_t remaining = 0;
  uint64_t reset_unix_s = 0;   // when the window resets
  uint64_t retry_after_s = 0;  // refused: seconds until the reset (at least 1)
};

// Fixed-window counters per client key. Thread-safe. The clock is passed in (tests).
class RateLimiter {
 public:
  explicit RateLimiter(RateLimitOptions options) : options_(options) {}
  // Counts one request by `client` (e.g. "token:<id>", "ip:<address>") at `now_ms` (Unix ms)
  // against `limit` per window; a refused request is not counted.
  RateDecision take(const std::string& client, uint64_t limit, uint64_t now_ms);
  // The state without counting (GET /rate_limit).
  RateDecision peek(const std::string& client, uint64_t limit, uint64_t now_ms) const;
  const RateLimitOptions& options() const { return options_; }
  size_t clients() const;

 private:
  struct Window {
    uint64_t start_ms = 0;
    uint64_t used = 0;
  };
  RateDecision decide(const Window* w, uint64_t limit, uint64_t now_ms) const;
  void evict(uint64_t now_ms) GUTS_REQUIRES(mu_);

  const RateLimitOptions options_;
  mutable Mutex mu_;
  std::map<std::string, Window> windows_ GUTS_GUARDED_BY(mu_);
};

// The client key and budget of a request (after authentication).
std::pair<std::string, uint64_t> rate_client(const RateLimiter& limiter, const Request& req);
// Whether a request counts against the REST budget (see above).
bool rate_limited_path(const Request& req);
// Sets the X-RateLimit-* headers of `d` on `h` (none when unlimited).
void set_rate_headers(Headers& h, const RateDecision& d);

// The middleware: runs after authentication, before authorization.
Middleware make_rate_limit_middleware(std::shared_ptr<RateLimiter> limiter);

}  // namespace guts::api
