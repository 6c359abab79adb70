// The finality relay's core (finality/relay_core.h) driven event by event: what a full node
// accepts, relays and hands to its ledger, and what a validator announces.
#include "finality/relay_core.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "tests/support/validators.h"

using namespace guts;
using namespace guts::consensus;
using finality::Actions;
using finality::RelayCore;

namespace {

constexpr std::string_view kNs = "guts/test-chain";

struct Validators : test_support::Validators {
  explicit Validators(uint32_t n, uint8_t first = 1) : test_support::Validators(n, kNs, first) {}
  Certificate finalize(View view, const Digest& block, Epoch epoch = 0) const {
    return cert(Kind::kFinalize, Proposal{Round{epoch, view}, view - 1, block}, {0, 1, 2});
  }
  Bytes head(uint64_t height, View view, const Digest& block, Epoch epoch = 0) const {
    return encode_head({height, view, block, encode_certificate(finalize(view, block, epoch))});
  }
};

crypto::PublicKey peer(uint8_t n) {
  return test_support::fixed_key(static_cast<uint8_t>(100 + n)).public_key();
}

Digest block(int n) {
  return crypto::sha256("block " + std::to_string(n));
}

bool blocked(const Actions& a, const crypto::PublicKey& p) {
  return std::find(a.block.begin(), a.block.end(), p) != a.block.end();
}

}  // namespace

TEST(FinalityRelay, FullNodeHandsOverANewerVerifiedHeadOnceAndRelaysIt) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  auto a = peer(1), b = peer(2);
  core.peer_up(a, 0);
  core.peer_up(b, 0);
  auto act = core.message(a, v.head(5, 9, block(5)), 10);
  ASSERT_TRUE(act.verified);
  EXPECT_EQ(act.verified->proposal.payload, block(5));
  EXPECT_TRUE(act.block.empty());
  ASSERT_EQ(act.heads.size(), 1u);  // relayed to the other follower, not back to the sender
  EXPECT_EQ(act.heads[0].to, b);
  EXPECT_EQ(core.network_height(), 5u);
  EXPECT_EQ(core.finalized_view(), 9u);
  // The same head again (a relay coming back) is stale: nothing happens.
  auto again = core.message(b, v.head(5, 9, block(5)), 11);
  EXPECT_FALSE(again.verified);
  EXPECT_TRUE(again.heads.empty());
}

TEST(FinalityRelay, ForgedHeadBlocksThePeerAndIsNeitherUsedNorRelayed) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  auto liar = peer(1), other = peer(2);
  core.peer_up(liar, 0);
  core.peer_up(other, 0);
  auto cert = v.finalize(9, block(5));
  cert.signatures[0][3] ^= 1;
  auto act = core.message(liar, encode_head({5, 9, block(5), encode_certificate(cert)}), 1);
  EXPECT_TRUE(blocked(act, liar));
  EXPECT_FALSE(act.verified);
  EXPECT_TRUE(act.heads.empty());
  EXPECT_EQ(core.network_height(), 0u);
  EXPECT_FALSE(core.best());
}

TEST(FinalityRelay, StaleHeadIsDroppedBeforeItsSignaturesAreChecked) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  auto p = peer(1);
  ASSERT_TRUE(core.message(p, v.head(5, 9, block(5)), 1).verified);
  // An older view with a broken certificate: dropped as stale, so not even blocked.
  auto cert = v.finalize(8, block(4));
  cert.signatures[0][3] ^= 1;
  auto act = core.message(p, encode_head({4, 8, block(4), encode_certificate(cert)}), 2);
  EXPECT_FALSE(act.verified);
  EXPECT_TRUE(act.block.empty());
}

TEST(FinalityRelay, MalformedMessageBlocksThePeer) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  EXPECT_TRUE(blocked(core.message(peer(1), Bytes{7}, 1), peer(1)));
  EXPECT_TRUE(blocked(core.message(peer(2), Bytes{kGetHead, 0}, 1), peer(2)));
  EXPECT_TRUE(blocked(core.message(peer(3), Bytes{kHead, 1, 2}, 1), peer(3)));
}

TEST(FinalityRelay, GetHeadIsAnsweredWithTheBestHead) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  auto none = core.message(peer(1), Bytes{kGetHead}, 1);
  ASSERT_EQ(none.heads.size(), 1u);
  EXPECT_TRUE(none.heads[0].answer);
  EXPECT_FALSE(none.heads[0].head);  // nothing known yet: the driver sends nothing
  core.message(peer(2), v.head(5, 9, block(5)), 2);
  auto some = core.message(peer(1), Bytes{kGetHead}, 3);
  ASSERT_EQ(some.heads.size(), 1u);
  ASSERT_TRUE(some.heads[0].head);
  EXPECT_EQ(some.heads[0].head->view, 9u);
  EXPECT_EQ(some.heads[0].to, peer(1));
}

TEST(FinalityRelay, ValidatorAnnouncesOnlyAppliedFinalizedBlocksToFollowers) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, true);
  auto follower = peer(1);
  core.peer_up(follower, 0);
  core.peer_up(v.pks[1], 0);  // another validator: not a follower
  auto cert = v.finalize(9, block(5));
  core.finalized_locally({cert.proposal, cert, false});
  // Applied, but not the finalized block of that view (implied by a later one): no head.
  EXPECT_TRUE(core.applied(4, block(4)).heads.empty());
  auto act = core.applied(5, block(5));
  ASSERT_EQ(act.heads.size(), 1u);
  EXPECT_EQ(act.heads[0].to, follower);
  ASSERT_TRUE(act.heads[0].head);
  EXPECT_EQ(act.heads[0].head->height, 5u);
  // A newer valid head reaches a validator only as a hand-over it asked for: it is applied.
  EXPECT_TRUE(core.message(follower, v.head(6, 10, block(6)), 1).verified);
  // A follower that connects later gets the best head at once.
  auto late = core.peer_up(peer(2), 2);
  ASSERT_EQ(late.heads.size(), 1u);
  EXPECT_EQ(late.heads[0].to, peer(2));
}

TEST(FinalityRelay, FullNodeAsksWhenItHeardNothingForAWhile) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  EXPECT_EQ(core.peer_up(peer(1), 0).asks.size(), 1u);  // asks whoever it meets
  EXPECT_FALSE(core.tick(500).ask_everyone);
  EXPECT_TRUE(core.tick(1500).ask_everyone);
  EXPECT_FALSE(core.tick(1600).ask_everyone);  // not again before the interval
  core.message(peer(1), v.head(5, 9, block(5)), 2600);
  EXPECT_FALSE(core.tick(3000).ask_everyone);  // news arrived recently
  EXPECT_TRUE(core.tick(3700).ask_everyone);
}

TEST(FinalityRelay, HeightHintIsCorrectedByTheAppliedBlock) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  // The height in a head is not signed: a liar may claim 1000.
  core.message(peer(1), v.head(1000, 9, block(5)), 1);
  EXPECT_EQ(core.network_height(), 1000u);
  core.applied(5, block(5));
  EXPECT_EQ(core.network_height(), 5u);
}

TEST(FinalityRelay, HeadOfAnUnknownEpochAsksForTheHandOverWithoutBlocking) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, false);
  auto p = peer(1);
  // Epoch 1 is not in our schedule: the head cannot be judged, the sender is ahead of us.
  auto act = core.message(p, v.head(30, 3, block(30), 1), 10);
  EXPECT_FALSE(act.verified);
  EXPECT_TRUE(act.block.empty());
  ASSERT_EQ(act.hand_over_asks.size(), 1u);
  EXPECT_EQ(act.hand_over_asks[0].to, p);
  EXPECT_EQ(act.hand_over_asks[0].epoch, 0u);  // the one we are in
  // Not again within the interval.
  EXPECT_TRUE(core.message(p, v.head(31, 4, block(31), 1), 500).hand_over_asks.empty());
  EXPECT_EQ(core.message(p, v.head(31, 4, block(31), 1), 1100).hand_over_asks.size(), 1u);
}

TEST(FinalityRelay, HeadsAreVerifiedAgainstTheirEpochsSet) {
  Validators old_set(4), new_set(4, 50);
  RelayCore core(std::string(kNs), old_set.pks, false);
  core.schedule(test_support::two_epochs(old_set.pks, new_set.pks, 20));
  // The hand-over: the last block of epoch 0 (height 19), signed by the old set.
  auto hand_over = core.message(peer(1), old_set.head(19, 40, block(19), 0), 1);
  ASSERT_TRUE(hand_over.verified);
  auto kept = core.applied(19, block(19));
  ASSERT_TRUE(kept.keep);
  EXPECT_EQ(kept.keep->epoch, 0u);
  EXPECT_EQ(core.hand_overs().count(0), 1u);
  // Epoch 1 is signed by the new set (views start again at 1, yet the head is newer) ...
  EXPECT_TRUE(core.message(peer(2), new_set.head(20, 1, block(20), 1), 2).verified);
  // ... and the old set cannot sign for it: a forgery, the sender is blocked.
  auto forged = core.message(peer(3), old_set.head(21, 2, block(21), 1), 3);
  EXPECT_FALSE(forged.verified);
  EXPECT_TRUE(blocked(forged, peer(3)));
  // Whoever asks for the hand-over of epoch 0 gets it.
  codec::Writer w;
  w.u8(kGetHandOver).u64be(0);
  auto answer = core.message(peer(4), w.data(), 4);
  ASSERT_EQ(answer.heads.size(), 1u);
  ASSERT_TRUE(answer.heads[0].head);
  EXPECT_EQ(answer.heads[0].head->height, 19u);
  EXPECT_EQ(answer.heads[0].head->block, block(19));
  // An epoch without a hand-over here: no answer.
  codec::Writer w1;
  w1.u8(kGetHandOver).u64be(1);
  EXPECT_TRUE(core.message(peer(4), w1.data(), 5).heads.empty());
}

TEST(FinalityRelay, ValidatorKeepsTheHandOverItsEngineFinalized) {
  Validators v(4), next(4, 50);
  RelayCore core(std::string(kNs), v.pks, true);
  core.schedule(test_support::two_epochs(v.pks, next.pks, 10));
  // The epoch's last block (9) was finalized again by a re-proposal in view 12.
  auto cert = v.finalize(12, block(9));
  core.finalized_locally({cert.proposal, cert, false});
  auto act = core.applied(9, block(9));
  ASSERT_TRUE(act.keep);
  EXPECT_EQ(act.keep->view, 12u);
  EXPECT_EQ(act.keep->height, 9u);
  // Behind a boundary: our engine heard epoch 1; ask that peer for the hand-over of ours.
  RelayCore lagging(std::string(kNs), v.pks, true);
  auto ask = lagging.behind(peer(1), 100);
  ASSERT_EQ(ask.hand_over_asks.size(), 1u);
  EXPECT_EQ(ask.hand_over_asks[0].epoch, 0u);
}

TEST(FinalityRelay, ValidatorAsksForHeadsOnlyWhenNothingWasAppliedForAWhile) {
  Validators v(4);
  RelayCore core(std::string(kNs), v.pks, true);
  EXPECT_FALSE(core.tick(1000).ask_everyone);
  core.applied(1, block(1));
  EXPECT_FALSE(core.tick(4000).ask_everyone);  // progress at 4000 (seen by this tick)
  EXPECT_FALSE(core.tick(8000).ask_everyone);
  EXPECT_TRUE(core.tick(9100).ask_everyone);  // 5 s without a block applied
  EXPECT_FALSE(core.tick(10000).ask_everyone);
  core.applied(2, block(2));
  EXPECT_FALSE(core.tick(15000).ask_everyone);  // progress again
}

TEST(FinalityRelay, AValidatorLeavingTheSetKeepsTheHandOverOfItsLastEpoch) {
  Validators v(4), next(4, 50);
  RelayCore core(std::string(kNs), v.pks, true);
  core.schedule(test_support::two_epochs(v.pks, next.pks, 10));
  auto cert = v.finalize(11, block(9));
  core.finalized_locally({cert.proposal, cert, false});
  // The node switched epochs (and so stopped validating) before the block was announced applied.
  core.set_validator(false);
  auto act = core.applied(9, block(9));
  ASSERT_TRUE(act.keep);
  EXPECT_EQ(act.keep->height, 9u);
  EXPECT_EQ(core.hand_overs().count(0), 1u);
}
