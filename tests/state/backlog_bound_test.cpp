// The door's backlog bound (state/backlog_bound.h) and the mempool's use of it.
#include "state/backlog_bound.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/time.h"
#include "state/mempool.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;
using std::chrono::milliseconds;

namespace {

const BacklogBound::TimePoint kStart{std::chrono::hours(1)};

BacklogOptions options(int64_t max_wait_ms, size_t floor, int64_t window_ms = 5000) {
  return {milliseconds(max_wait_ms), floor, milliseconds(window_ms)};
}

}  // namespace

TEST(BacklogBound, AnIdleNetworkRefusesOnlyOverTheFloor) {
  BacklogBound b(options(2000, 100));
  EXPECT_EQ(b.rate(kStart), 0);
  EXPECT_EQ(b.limit(kStart), 100u);
  EXPECT_FALSE(b.refuse(kStart, 99));
  auto r = b.refuse(kStart, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, 100u);
  // Nothing finalized lately: come back after max_wait.
  EXPECT_EQ(r->retry_after_s, 2u);
}

TEST(BacklogBound, TheLimitIsWhatTheNetworkFinalizesInMaxWait) {
  BacklogBound b(options(2000, 100));
  // 100 transactions every 100 ms for 5 s: 1,000 per second.
  auto now = kStart;
  for (int i = 0; i < 50; ++i) {
    now += milliseconds(100);
    b.finalized(now, 100);
  }
  EXPECT_NEAR(b.rate(now), 1000, 1e-9);
  EXPECT_EQ(b.limit(now), 2000u);
  EXPECT_FALSE(b.refuse(now, 1999));
  auto r = b.refuse(now, 2500);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, 2000u);
  EXPECT_NEAR(r->rate, 1000, 1e-9);
  EXPECT_EQ(r->retry_after_s, 1u);  // 501 over the bound drain in about half a second
  // 5,000 over it at 1,000 per second: about 6 s.
  EXPECT_EQ(b.refuse(now, 7000)->retry_after_s, 6u);
  // The window slides: half of it later, the last 25 blocks are in it.
  EXPECT_NEAR(b.rate(now + milliseconds(2550)), 500, 1e-9);
  // A network that stopped finalizing falls back to the floor, and to max_wait for retries.
  EXPECT_EQ(b.rate(now + milliseconds(5001)), 0);
  EXPECT_EQ(b.limit(now + milliseconds(5001)), 100u);
}

TEST(BacklogBound, RetriesAreAskedForAtMostThirtySecondsLater) {
  BacklogBound b(options(1000, 10));
  b.finalized(kStart, 10);  // 2 per second over the window
  auto r = b.refuse(kStart, 100000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retry_after_s, 30u);
}

TEST(BacklogBound, OffWithoutAMaxWait) {
  BacklogBound b(options(0, 1));
  EXPECT_FALSE(b.options().enabled());
  EXPECT_FALSE(b.refuse(kStart, 1000000));
}

// The mempool refuses a client's transaction over the bound with kUnavailable and a message
// the HTTP layer turns into Retry-After; a peer's forwarded transaction is not refused; a
// finalized block raises the bound.
TEST(Mempool, BacklogBoundRefusesClientsNotPeers) {
  TempDb tmp("mempool-backlog");
  Chain chain(*tmp.db, test_genesis());
  auto now = kStart;
  Mempool pool(chain, 100000, [&] { return now; });
  pool.set_backlog_bound(options(2000, 2));
  uint64_t ts = guts::unix_millis();
  auto none = [](const TxOutcome&) {};
  ASSERT_TRUE(pool.submit(own_tx(key(1), 1, RegisterUser{"u1"}, ts), none).ok());
  ASSERT_TRUE(pool.submit(own_tx(key(2), 1, RegisterUser{"u2"}, ts), none).ok());
  Status refused = pool.submit(own_tx(key(3), 1, RegisterUser{"u3"}, ts), none);
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("saturated"), std::string::npos) << refused.message();
  EXPECT_TRUE(refused.message().ends_with("retry after 2 s")) << refused.message();
  EXPECT_EQ(pool.size(), 2u);
  // Refused before its signature is checked: under overload a refusal costs a lock, not an
  // Ed25519 verification.
  auto forged = own_tx(key(7), 1, RegisterUser{"u7"}, ts);
  forged.signature[0] ^= 1;
  EXPECT_EQ(pool.submit(forged, none).code(), Code::kUnavailable);
  // The same transaction forwarded by a peer: accepted (its node already waits for it).
  EXPECT_TRUE(
      pool.submit(own_tx(key(3), 1, RegisterUser{"u3"}, ts), none, Mempool::Origin::kPeer).ok());
  EXPECT_EQ(pool.size(), 3u);
  // The node's own (a CI run a finalized push asks for): accepted too.
  EXPECT_TRUE(
      pool.submit(own_tx(key(8), 1, RegisterUser{"u8"}, ts), none, Mempool::Origin::kNode).ok());
  EXPECT_EQ(pool.size(), 4u);
  auto st = pool.stats();
  EXPECT_EQ(st.saturated, 2u);
  EXPECT_EQ(st.rejected, 2u);
  EXPECT_EQ(st.admitted, 4u);

  // A block of the four, finalized now: 4 in the 5 s window is 0.8 per second, still under the
  // floor's worth, so the floor holds; with the pool emptied, clients are let in again.
  auto r = chain.build(chain.head().id, pool.take(100), 1, ts, key(200).public_key());
  ASSERT_EQ(r.block.txs.size(), 4u);
  chain.commit(r.block);
  pool.finished(r.block, r.rejected);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_TRUE(pool.submit(own_tx(key(4), 1, RegisterUser{"u4"}, ts), none).ok());

  // Off: only the mempool's size bound remains.
  pool.set_backlog_bound(options(0, 1));
  EXPECT_TRUE(pool.submit(own_tx(key(5), 1, RegisterUser{"u5"}, ts), none).ok());
  EXPECT_TRUE(pool.submit(own_tx(key(6), 1, RegisterUser{"u6"}, ts), none).ok());
  pool.shutdown();
}
