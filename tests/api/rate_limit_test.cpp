// The REST rate limiter (api/rate_limit.h) with a fake clock: budget, reset, separation of
// clients, refused requests not counted, bounded memory.
#include "api/rate_limit.h"

#include <gtest/gtest.h>

namespace guts::api {
namespace {

constexpr uint64_t kT0 = 1'700'000'000'000;  // Unix ms
constexpr uint64_t kHour = 3600 * 1000;

TEST(RateLimiter, CountsDownThenRefusesUntilTheWindowResets) {
  RateLimiter l({});
  for (uint64_t i = 1; i <= 3; ++i) {
    auto d = l.take("ip:1.2.3.4", 3, kT0 + i);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.used, i);
    EXPECT_EQ(d.remaining, 3 - i);
    EXPECT_EQ(d.reset_unix_s, (kT0 + 1 + kHour) / 1000 + 1);  // window began with the first
  }
  auto refused = l.take("ip:1.2.3.4", 3, kT0 + 10 * 60 * 1000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_EQ(refused.used, 3u);                     // refused requests are not counted
  EXPECT_EQ(refused.retry_after_s, 50 * 60u + 1);  // rounded up: 3000.001 s
  EXPECT_FALSE(l.peek("ip:1.2.3.4", 3, kT0 + 10 * 60 * 1000).allowed);
  // An hour after the first request a new window starts.
  auto again = l.take("ip:1.2.3.4", 3, kT0 + 1 + kHour);
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.used, 1u);
}

TEST(RateLimiter, ClientsHaveSeparateBudgetsAndZeroIsUnlimited) {
  RateLimiter l({});
  EXPECT_TRUE(l.take("ip:a", 1, kT0).allowed);
  EXPECT_FALSE(l.take("ip:a", 1, kT0).allowed);
  EXPECT_TRUE(l.take("ip:b", 1, kT0).allowed);
  EXPECT_TRUE(l.take("token:x", 1, kT0).allowed);
  for (int i = 0; i < 100; ++i) {
    auto d = l.take("ip:c", 0, kT0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 0u);
  }
  Headers h;
  set_rate_headers(h, l.take("ip:c", 0, kT0));
  EXPECT_FALSE(h.get("X-RateLimit-Limit"));  // unlimited: no headers
  set_rate_headers(h, l.peek("ip:a", 1, kT0));
  EXPECT_EQ(h.get("X-RateLimit-Remaining"), "0");
  EXPECT_EQ(h.get("X-RateLimit-Resource"), "core");
}

TEST(RateLimiter, MemoryIsBoundedByMaxClients) {
  RateLimitOptions o;
  o.max_clients = 100;
  RateLimiter l(o);
  for (int i = 0; i < 1000; ++i) l.take("ip:" + std::to_string(i), 5, kT0 + i);
  EXPECT_LE(l.clients(), 100u);
  // When the table is full, expired windows are dropped first: two hours on, all of them.
  l.take("ip:late", 5, kT0 + 2 * kHour);
  EXPECT_EQ(l.clients(), 1u);
}

TEST(RateLimiter, OnlyTheGitHubRestApiIsCounted) {
  Request r;
  r.path = "/api/v3/repos/a/b";
  EXPECT_TRUE(rate_limited_path(r));
  r.path = "/api/v3/rate_limit";
  EXPECT_FALSE(rate_limited_path(r));
  r.path = "/api/guts/status";
  EXPECT_FALSE(rate_limited_path(r));
  r.path = "/alice/repo.git/info/refs";
  EXPECT_FALSE(rate_limited_path(r));
}

}  // namespace
}  // namespace guts::api
