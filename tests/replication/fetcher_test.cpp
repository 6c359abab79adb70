// The replication client's state machine (replication/fetcher.h) with a fake clock and scripted
// peers: no threads, no network, no git. Each test plays the driver: it feeds events and checks
// the actions.
#include "replication/fetcher.h"

#include <gtest/gtest.h>

namespace guts::replication {
namespace {

crypto::PublicKey key(uint8_t b) {
  crypto::PublicKey k{};
  k.fill(b);
  return k;
}

const std::string kTipA(40, 'a');
const std::string kTipB(40, 'b');

wire::PackChunk chunk(RequestId r, uint64_t seq, bool last, size_t bytes = 10) {
  return wire::PackChunk{r, seq, last, Bytes(bytes, 0x42)};
}

class FetcherTest : public ::testing::Test {
 protected:
  FetcherOptions options() {
    FetcherOptions o;
    o.self = key(0);
    o.max_rounds = 2;
    o.attempt_idle_ms = 1000;
    o.retry_backoff_ms = 300;
    o.max_pack_bytes = 1000;
    o.max_buffered_bytes = 500;
    return o;
  }
  Fetcher f{options()};
  uint64_t now = 10'000;  // the fake clock, steady ms

  // A job for repository 7 whose objects are not here, in its first round: returns the
  // actions of the round check (the first attempt, if any candidate).
  FetcherActions start_round(WaiterId w, std::vector<crypto::PublicKey> hints, uint64_t deadline) {
    auto a = f.ensure(now, w, 7, {kTipA}, hints, deadline);
    EXPECT_EQ(a.checks.size(), 1u);
    EXPECT_TRUE(a.checks.at(0).first);
    a = f.closure_checked(now, a.checks.at(0).job, false);
    EXPECT_EQ(a.checks.size(), 1u);  // a round starts at once: a slot is free
    EXPECT_FALSE(a.checks.at(0).first);
    return f.closure_checked(now, a.checks.at(0).job, false);
  }
};

TEST_F(FetcherTest, MalformedOrTooManyTipsFailAndNoTipsSucceedAtOnce) {
  auto a = f.ensure(now, 1, 7, {"not-an-oid"}, {}, now + 5000);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_FALSE(a.completes[0].ok);
  EXPECT_TRUE(a.checks.empty());
  a = f.ensure(now, 2, 7, {std::string(40, 'A')}, {}, now + 5000);  // upper case: not canonical
  EXPECT_FALSE(a.completes.at(0).ok);
  a = f.ensure(now, 3, 7, {}, {}, now + 5000);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_TRUE(a.completes[0].ok);
  EXPECT_EQ(f.jobs(), 0u);
}

TEST_F(FetcherTest, ConcurrentEnsuresForTheSameTipsShareOneJob) {
  auto a1 = f.ensure(now, 1, 7, {kTipB, kTipA}, {key(1)}, now + 5000);
  auto a2 = f.ensure(now, 2, 7, {kTipA, kTipB, kTipA}, {key(2)}, now + 6000);
  auto a3 = f.ensure(now, 3, 7, {kTipA}, {}, now + 5000);         // other tips: another job
  auto a4 = f.ensure(now, 4, 8, {kTipA, kTipB}, {}, now + 5000);  // other repository
  ASSERT_EQ(a1.checks.size(), 1u);
  EXPECT_TRUE(a2.checks.empty());
  EXPECT_EQ(a3.checks.size(), 1u);
  EXPECT_EQ(a4.checks.size(), 1u);
  EXPECT_EQ(a1.checks[0].tips, (std::vector{kTipA, kTipB}));
  EXPECT_EQ(f.jobs(), 3u);
  // Present: both waiters of the shared job hear ok, nobody else.
  auto done = f.closure_checked(now, a1.checks[0].job, true);
  ASSERT_EQ(done.completes.size(), 2u);
  EXPECT_EQ(done.completes[0].waiter, 1u);
  EXPECT_EQ(done.completes[1].waiter, 2u);
  EXPECT_TRUE(done.completes[0].ok && done.completes[1].ok);
  EXPECT_EQ(f.jobs(), 2u);
  // After it finished, the same tips make a new job.
  EXPECT_EQ(f.ensure(now, 5, 7, {kTipA, kTipB}, {}, now + 5000).checks.size(), 1u);
}

TEST_F(FetcherTest, CandidatesAreHintsThenValidatorsThenHostsAndSkippedPeersGiveWay) {
  f.set_validators({key(2), key(0), key(3)});
  f.inventory(key(4), wire::Inventory{false, {7}});
  f.inventory(key(5), wire::Inventory{false, {8}});  // does not host 7
  f.inventory(key(3), wire::Inventory{true, {}});
  auto a = start_round(1, {key(1), key(0)}, now + 5000);
  std::vector<crypto::PublicKey> asked;
  while (!a.attempts.empty()) {
    ASSERT_EQ(a.attempts.size(), 1u);
    EXPECT_EQ(a.attempts[0].repo_id, 7u);
    EXPECT_EQ(a.attempts[0].tips, std::vector{kTipA});
    asked.push_back(a.attempts[0].peer);
    a = f.unsent(now, a.attempts[0].request);  // not connected: the next one at once
  }
  EXPECT_EQ(asked, (std::vector{key(1), key(2), key(3), key(4)}));  // never self, no repeats
  EXPECT_EQ(f.active_rounds(), 0u);  // the round is over; the job waits to retry
  EXPECT_EQ(a.wake, now + 300);
}

TEST_F(FetcherTest, ASilentCandidateGivesWayToTheNext) {
  f.set_validators({key(1), key(2)});
  auto a = start_round(1, {}, now + 10'000);
  ASSERT_EQ(a.attempts.size(), 1u);
  auto first = a.attempts[0];
  EXPECT_EQ(first.peer, key(1));
  // Silent: idle (1 s) comes before half the time left (5 s).
  EXPECT_EQ(a.wake, now + 1000);
  now += 999;
  EXPECT_TRUE(f.tick(now).aborts.empty());
  now += 1;
  a = f.tick(now);
  ASSERT_EQ(a.aborts.size(), 1u);
  EXPECT_EQ(a.aborts[0].request, first.request);
  EXPECT_TRUE(a.blocks.empty());  // silence is not punished
  // Nothing new until the verification reports back.
  EXPECT_TRUE(a.attempts.empty());
  a = f.verified(now, first.request, Verification::kFailed, "timed out");
  ASSERT_EQ(a.attempts.size(), 1u);
  EXPECT_EQ(a.attempts[0].peer, key(2));
  EXPECT_NE(a.attempts[0].request, first.request);
  // A late chunk of the first request is ignored; the second peer's answer is fed on.
  EXPECT_TRUE(f.chunk(now, key(1), chunk(first.request, 0, true)).feeds.empty());
  auto second = a.attempts[0].request;
  a = f.chunk(now + 10, key(2), chunk(second, 0, false));
  ASSERT_EQ(a.feeds.size(), 1u);
  EXPECT_EQ(a.feeds[0].data.size(), 10u);
  EXPECT_FALSE(a.feeds[0].last);
  // Answering: idle counts from the last chunk. Another peer's chunk for it is ignored.
  EXPECT_TRUE(f.chunk(now + 20, key(3), chunk(second, 1, false)).feeds.empty());
  EXPECT_EQ(f.tick(now + 1009).aborts.size(), 0u);
  a = f.chunk(now + 1009, key(2), chunk(second, 1, true, 0));
  ASSERT_EQ(a.feeds.size(), 1u);
  EXPECT_TRUE(a.feeds[0].last);
  // The whole pack is here: verifying may take its time, no idle bound.
  now += 5000;
  EXPECT_TRUE(f.tick(now).aborts.empty());
  a = f.verified(now, second, Verification::kOk);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_TRUE(a.completes[0].ok);
  EXPECT_EQ(f.jobs(), 0u);
  EXPECT_EQ(f.active_rounds(), 0u);
}

TEST_F(FetcherTest, NotFoundMovesOnWithoutBlame) {
  auto a = start_round(1, {key(1), key(2)}, now + 5000);
  auto r = a.attempts.at(0).request;
  EXPECT_TRUE(f.not_found(now, key(2), wire::NotFound{r, "busy"}).aborts.empty());  // not asked
  a = f.not_found(now, key(1), wire::NotFound{r, "repository not hosted here"});
  ASSERT_EQ(a.aborts.size(), 1u);
  EXPECT_TRUE(a.blocks.empty());
  a = f.verified(now, r, Verification::kFailed, "not found");
  EXPECT_EQ(a.attempts.at(0).peer, key(2));
}

TEST_F(FetcherTest, ABadPackBlocksThePeerAndTheNextCandidateServes) {
  auto a = start_round(1, {key(1), key(2)}, now + 5000);
  auto r = a.attempts.at(0).request;
  f.chunk(now, key(1), chunk(r, 0, true));
  a = f.verified(now, r, Verification::kBadPack, "object hash mismatch");
  ASSERT_EQ(a.blocks.size(), 1u);
  EXPECT_EQ(a.blocks[0].peer, key(1));
  EXPECT_NE(a.blocks[0].why.find("bad pack: object hash mismatch"), std::string::npos);
  ASSERT_EQ(a.attempts.size(), 1u);
  EXPECT_EQ(a.attempts[0].peer, key(2));
  a = f.verified(now, a.attempts[0].request, Verification::kOk);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_TRUE(a.completes[0].ok);
}

TEST_F(FetcherTest, ChunksOutOfOrderBlockThePeerAndOverflowDoesNot) {
  auto a = start_round(1, {key(1), key(2)}, now + 5000);
  auto r = a.attempts.at(0).request;
  a = f.chunk(now, key(1), chunk(r, 1, false));  // seq 0 expected
  ASSERT_EQ(a.blocks.size(), 1u);
  EXPECT_EQ(a.blocks[0].peer, key(1));
  ASSERT_EQ(a.aborts.size(), 1u);
  EXPECT_TRUE(f.chunk(now, key(1), chunk(r, 2, false)).blocks.empty());  // blocked once
  a = f.verified(now, r, Verification::kFailed);
  auto r2 = a.attempts.at(0).request;
  // Over the buffer bound (500) while index-pack has not consumed: the attempt fails, unpunished.
  EXPECT_EQ(f.chunk(now, key(2), chunk(r2, 0, false, 400)).feeds.size(), 1u);
  a = f.chunk(now, key(2), chunk(r2, 1, false, 200));
  EXPECT_EQ(a.aborts.size(), 1u);
  EXPECT_TRUE(a.blocks.empty());
}

TEST_F(FetcherTest, ConsumedBytesMakeRoomInTheBuffer) {
  auto a = start_round(1, {key(1)}, now + 5000);
  auto r = a.attempts.at(0).request;
  EXPECT_EQ(f.chunk(now, key(1), chunk(r, 0, false, 400)).feeds.size(), 1u);
  f.consumed(r, 400);
  a = f.chunk(now, key(1), chunk(r, 1, true, 400));
  EXPECT_EQ(a.feeds.size(), 1u);
  EXPECT_TRUE(a.aborts.empty());
}

TEST_F(FetcherTest, AllFailThenBackoffThenRetryThenTheDeadline) {
  f.set_validators({key(1)});
  auto a = start_round(1, {}, now + 2000);
  auto r = a.attempts.at(0).request;
  a = f.verified(now, r, Verification::kFailed);  // every candidate failed
  EXPECT_TRUE(a.attempts.empty());
  EXPECT_TRUE(a.checks.empty());
  EXPECT_EQ(a.wake, now + 300);
  // The pause is over: a new round (the closure is checked again first).
  now += 300;
  a = f.tick(now);
  ASSERT_EQ(a.checks.size(), 1u);
  EXPECT_FALSE(a.checks[0].first);
  a = f.closure_checked(now, a.checks[0].job, false);
  ASSERT_EQ(a.attempts.size(), 1u);
  EXPECT_EQ(a.attempts[0].peer, key(1));
  // First answer within half the time left (1700 / 2 = 850 ms), before the idle bound.
  EXPECT_EQ(a.wake, now + 850);
  a = f.unsent(now, a.attempts[0].request);
  // Rounds repeat every 300 ms until the deadline: then false, and the job is gone.
  int rounds = 0;
  while (f.jobs() > 0) {
    ASSERT_TRUE(a.wake.has_value());
    now = *a.wake;
    a = f.tick(now);
    for (auto c : std::vector<CheckClosure>(a.checks)) {
      ++rounds;
      a = f.closure_checked(now, c.job, false);
      a = f.unsent(now, a.attempts.at(0).request);
    }
  }
  EXPECT_EQ(now, 10'000u + 2000);
  EXPECT_GE(rounds, 4);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_FALSE(a.completes[0].ok);
  EXPECT_FALSE(a.wake.has_value());
}

TEST_F(FetcherTest, EachWaiterHasItsOwnDeadlineAndTheLastOneCancels) {
  auto a = start_round(1, {key(1)}, now + 800);
  auto r = a.attempts.at(0).request;
  f.ensure(now, 2, 7, {kTipA}, {}, now + 1500);  // joins the job in flight
  f.chunk(now, key(1), chunk(r, 0, false));
  a = f.tick(now + 800);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_EQ(a.completes[0].waiter, 1u);
  EXPECT_FALSE(a.completes[0].ok);
  EXPECT_TRUE(a.aborts.empty());  // someone still waits
  f.chunk(now + 800, key(1), chunk(r, 1, false));
  // The last waiter's deadline: it hears false and the attempt is aborted.
  a = f.tick(now + 1500);
  ASSERT_EQ(a.completes.size(), 1u);
  EXPECT_EQ(a.completes[0].waiter, 2u);
  ASSERT_EQ(a.aborts.size(), 1u);
  EXPECT_EQ(a.aborts[0].request, r);
  // A new ensure for the same tips does not join the cancelled job.
  EXPECT_EQ(f.ensure(now + 1500, 3, 7, {kTipA}, {}, now + 9000).checks.size(), 1u);
  // The cancelled job holds its slot until its verification reports back.
  EXPECT_EQ(f.active_rounds(), 1u);
  a = f.verified(now + 1500, r, Verification::kOk);
  EXPECT_TRUE(a.completes.empty());
  EXPECT_EQ(f.active_rounds(), 0u);
  EXPECT_EQ(f.jobs(), 1u);
}

TEST_F(FetcherTest, ADisconnectMidTransferMovesOn) {
  auto a = start_round(1, {key(1), key(2)}, now + 5000);
  auto r = a.attempts.at(0).request;
  EXPECT_EQ(f.chunk(now, key(1), chunk(r, 0, false)).feeds.size(), 1u);
  EXPECT_TRUE(f.peer(now, key(2), false).aborts.empty());  // another peer
  a = f.peer(now, key(1), false);
  ASSERT_EQ(a.aborts.size(), 1u);
  EXPECT_EQ(a.aborts[0].request, r);
  EXPECT_TRUE(a.blocks.empty());
  a = f.verified(now, r, Verification::kFailed);
  EXPECT_EQ(a.attempts.at(0).peer, key(2));
}

TEST_F(FetcherTest, ADisconnectAfterTheWholePackLetsItVerify) {
  auto a = start_round(1, {key(1)}, now + 5000);
  auto r = a.attempts.at(0).request;
  f.chunk(now, key(1), chunk(r, 0, true));
  EXPECT_TRUE(f.peer(now, key(1), false).aborts.empty());
  EXPECT_TRUE(f.verified(now, r, Verification::kOk).completes.at(0).ok);
}

TEST_F(FetcherTest, DisconnectForgetsTheInventory) {
  f.inventory(key(4), wire::Inventory{false, {7}});
  f.inventory(key(5), wire::Inventory{true, {}});
  EXPECT_EQ(f.hosting_peers(7), (std::vector{key(4), key(5)}));
  EXPECT_EQ(f.hosting_peers(9), std::vector{key(5)});
  f.peer(now, key(5), false);
  EXPECT_EQ(f.hosting_peers(9), std::vector<crypto::PublicKey>{});
}

TEST_F(FetcherTest, RoundsAreBoundedAndAJobWaitingToRetryHoldsNoSlot) {
  FetcherOptions o = options();
  o.max_rounds = 1;
  Fetcher one(o);
  auto first = one.ensure(now, 1, 7, {kTipA}, {key(1)}, now + 9000);
  auto second = one.ensure(now, 2, 8, {kTipA}, {key(1)}, now + 9000);
  auto a = one.closure_checked(now, first.checks.at(0).job, false);
  ASSERT_EQ(a.checks.size(), 1u);  // round of job 1
  auto round1 = a.checks[0];
  a = one.closure_checked(now, second.checks.at(0).job, false);
  EXPECT_TRUE(a.checks.empty());  // job 2 waits for the slot
  a = one.closure_checked(now, round1.job, false);
  a = one.unsent(now, a.attempts.at(0).request);  // job 1's round is over: job 2 starts
  ASSERT_EQ(a.checks.size(), 1u);
  EXPECT_EQ(a.checks[0].repo_id, 8u);
  EXPECT_EQ(one.active_rounds(), 1u);
  // Present after all: done, and job 1 (due in 300 ms) gets the slot then.
  a = one.closure_checked(now, a.checks[0].job, true);
  EXPECT_TRUE(a.completes.at(0).ok);
  EXPECT_TRUE(a.checks.empty());
  EXPECT_EQ(a.wake, now + 300);
  EXPECT_EQ(one.tick(now + 300).checks.at(0).repo_id, 7u);
}

TEST_F(FetcherTest, ShutdownFailsEveryWaiter) {
  f.ensure(now, 1, 7, {kTipA}, {}, now + 5000);
  f.ensure(now, 2, 7, {kTipA}, {}, now + 5000);
  f.ensure(now, 3, 8, {kTipA}, {}, now + 5000);
  auto a = f.shutdown();
  ASSERT_EQ(a.completes.size(), 3u);
  for (const auto& c : a.completes) EXPECT_FALSE(c.ok);
  EXPECT_EQ(f.jobs(), 0u);
}

}  // namespace
}  // namespace guts::replication
