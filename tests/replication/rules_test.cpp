// The pure decisions of replication (replication/rules.h): no threads, no network, no git.
#include "replication/rules.h"

#include <gtest/gtest.h>

namespace guts::replication {
namespace {

crypto::PublicKey key(uint8_t b) {
  crypto::PublicKey k{};
  k.fill(b);
  return k;
}

TEST(ReplicationRules, CandidatesHintsThenValidatorsThenHostsWithoutRepeatsOrSelf) {
  auto self = key(0);
  auto order = candidate_order(self, {key(5), key(1), self}, {key(1), key(2), key(3), self},
                               {key(4), key(2), key(6)});
  std::vector<crypto::PublicKey> want = {key(5), key(1), key(2), key(3), key(4), key(6)};
  EXPECT_EQ(order, want);
  EXPECT_TRUE(candidate_order(self, {}, {self}, {}).empty());
}

TEST(ReplicationRules, ServingLimitsAnswerBusy) {
  ServeAdmission a(/*per_peer=*/1, /*total=*/2);
  EXPECT_TRUE(a.admit(key(1)));
  EXPECT_FALSE(a.admit(key(1)));  // one per peer
  EXPECT_TRUE(a.admit(key(2)));
  EXPECT_FALSE(a.admit(key(3)));  // two in all
  EXPECT_EQ(a.in_use(), 2u);
  a.release(key(1));
  EXPECT_TRUE(a.admit(key(3)));
  EXPECT_FALSE(a.admit(key(1)));
  a.release(key(2));
  EXPECT_TRUE(a.admit(key(1)));
}

TEST(ReplicationRules, ChunksInOrderUntilTheLast) {
  ChunkStream s(1000, 1000);
  EXPECT_EQ(s.on_chunk(0, false, 100), ChunkStream::Verdict::kAccepted);
  EXPECT_EQ(s.on_chunk(1, true, 50), ChunkStream::Verdict::kAccepted);
  EXPECT_TRUE(s.eof());
  EXPECT_EQ(s.total(), 150u);
  EXPECT_EQ(s.buffered(), 150u);
  s.consumed(150);
  EXPECT_EQ(s.buffered(), 0u);
  // Anything after the last is a violation (the peer gets blocked).
  EXPECT_EQ(s.on_chunk(2, false, 1), ChunkStream::Verdict::kViolation);
}

TEST(ReplicationRules, ChunksOutOfOrderAreAViolationForGood) {
  ChunkStream skip(1000, 1000);
  EXPECT_EQ(skip.on_chunk(1, false, 10), ChunkStream::Verdict::kViolation);
  EXPECT_EQ(skip.on_chunk(0, false, 10), ChunkStream::Verdict::kViolation);
  ChunkStream repeat(1000, 1000);
  EXPECT_EQ(repeat.on_chunk(0, false, 10), ChunkStream::Verdict::kAccepted);
  EXPECT_EQ(repeat.on_chunk(0, false, 10), ChunkStream::Verdict::kViolation);
  EXPECT_FALSE(repeat.eof());
}

TEST(ReplicationRules, SizeBoundsOverflowWithoutBlame) {
  ChunkStream pack(100, 1000);
  EXPECT_EQ(pack.on_chunk(0, false, 60), ChunkStream::Verdict::kAccepted);
  EXPECT_EQ(pack.on_chunk(1, true, 60), ChunkStream::Verdict::kOverflow);
  EXPECT_FALSE(pack.eof());
  ChunkStream buffer(1000, 100);
  EXPECT_EQ(buffer.on_chunk(0, false, 80), ChunkStream::Verdict::kAccepted);
  EXPECT_EQ(buffer.on_chunk(1, false, 30), ChunkStream::Verdict::kOverflow);
  ChunkStream drained(1000, 100);
  EXPECT_EQ(drained.on_chunk(0, false, 80), ChunkStream::Verdict::kAccepted);
  drained.consumed(80);
  EXPECT_EQ(drained.on_chunk(1, false, 30), ChunkStream::Verdict::kAccepted);
}

TEST(ReplicationRules, ASilentCandidateGivesWayAtHalfTheTimeLeft) {
  const uint64_t t0 = 1000;  // steady milliseconds
  auto deadline = t0 + 10000;
  auto first = first_answer_by(t0, deadline);
  EXPECT_EQ(first, t0 + 5000);
  EXPECT_EQ(first_answer_by(t0, t0 + 100), t0 + 300);  // at least 300 ms
  EXPECT_EQ(first_answer_by(t0, t0 - 1), t0 + 300);    // deadline already past
  // Silent: the earliest of idle, deadline and first answer.
  EXPECT_EQ(attempt_wait_until(t0, deadline, 8000, false, first), t0 + 5000);
  EXPECT_EQ(attempt_wait_until(t0, deadline, 2000, false, first), t0 + 2000);
  // Answering: idle after its last message, never past the deadline.
  EXPECT_EQ(attempt_wait_until(t0 + 6000, deadline, 3000, true, first), t0 + 9000);
  EXPECT_EQ(attempt_wait_until(t0 + 8000, deadline, 3000, true, first), deadline);
}

}  // namespace
}  // namespace guts::replication

// Private repositories (issue 14 point 6): validators and the repository's seeds only.
namespace guts::replication {
namespace {

TEST(ReplicationRules, PrivateRepositoriesGoToValidatorsAndSeedsOnly) {
  // Public and unknown repositories: anyone (unknown ones are answered "not hosted" anyway).
  EXPECT_TRUE(may_share({.known = false}));
  EXPECT_TRUE(may_share({.known = true, .is_private = false}));
  // Private: a validator, a seed; never an arbitrary peer.
  EXPECT_TRUE(may_share({.known = true, .is_private = true, .peer_is_validator = true}));
  EXPECT_TRUE(may_share({.known = true, .is_private = true, .peer_is_seed = true}));
  EXPECT_FALSE(may_share({.known = true, .is_private = true}));
}

TEST(ReplicationRules, InventoryNamesOnlyWhatThePeerMayHold) {
  std::vector<uint64_t> hosted = {1, 2, 3, 7};
  auto to_stranger = inventory_for(hosted, [](uint64_t id) { return id != 2 && id != 7; });
  EXPECT_EQ(to_stranger, (std::vector<uint64_t>{1, 3}));
  auto to_seed = inventory_for(hosted, [](uint64_t) { return true; });
  EXPECT_EQ(to_seed, hosted);
  EXPECT_TRUE(inventory_for({}, [](uint64_t) { return true; }).empty());
}

}  // namespace
}  // namespace guts::replication
