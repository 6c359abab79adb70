// The finality relay's pure core (finality/relay_core.h): events in, actions out, no network.
#include "finality/relay_core.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"

using namespace guts;
using namespace guts::finality;
using consensus::Certificate;
using consensus::Kind;
using consensus::Proposal;

namespace {

constexpr std::string_view kNs = "guts/test-chain";

struct Validators {
  std::vector<crypto::SigningKey> keys;
  std::vector<crypto::PublicKey> pks;
  explicit Validators(int n) {
    for (int i = 0; i < n; ++i) {
      crypto::Seed s;
      s.fill(static_cast<uint8_t>(i + 1));
      keys.push_back(crypto::SigningKey::from_seed(s));
      pks.push_back(keys.back().public_key());
    }
  }
  Certificate finalize(const Proposal& p) const {
    std::vector<consensus::Vote> votes;
    for (uint32_t i : {0u, 1u, 2u}) votes.push_back(sign_vote(keys[i], kNs, Kind::kFinalize, i, p));
    return assemble(Kind::kFinalize, p, keys.size(), std::move(votes));
  }
};

Peer peer(uint8_t n) {
  crypto::Seed s;
  s.fill(static_cast<uint8_t>(100 + n));
  return crypto::SigningKey::from_seed(s).public_key();
}

Proposal proposal(consensus::View view) {
  return Proposal{consensus::Round{0, view}, view - 1,
                  crypto::sha256("block at view " + std::to_string(view))};
}

FinalityHead head(const Validators& v, consensus::View view, uint64_t height) {
  auto p = proposal(view);
  return FinalityHead{height, view, p.payload, consensus::encode_certificate(v.finalize(p))};
}

FinalityHead forged(const Validators& v, consensus::View view, uint64_t height) {
  auto p = proposal(view);
  auto c = v.finalize(p);
  c.signatures[1][5] ^= 1;
  return FinalityHead{height, view, p.payload, consensus::encode_certificate(c)};
}

Options options(const Validators& v, bool validator) {
  Options o;
  o.ns = std::string(kNs);
  o.validators = v.pks;
  o.validator = validator;
  return o;
}

const Time t0 = Time{} + std::chrono::hours(1);

// A full node with followers A, B, C connected.
struct FullNode {
  Validators v{4};
  RelayCore core{options(v, false)};
  Peer a = peer(1), b = peer(2), c = peer(3);
  FullNode() {
    for (const auto& p : {a, b, c}) {
      auto act = core.on_peer(p, true, false);
      // A full node asks whoever it meets.
      EXPECT_EQ(act.send, (std::vector<std::pair<Peer, Bytes>>{{p, Bytes{consensus::kGetHead}}}));
    }
  }
};

std::vector<Peer> recipients(const Actions& a) {
  std::vector<Peer> out;
  for (const auto& [p, m] : a.send) out.push_back(p);
  return out;
}

}  // namespace

TEST(FinalityRelayCore, ForgedHeadBlocksThePeerAndIsNotRelayed) {
  FullNode n;
  auto act = n.core.on_message(n.a, consensus::encode_head(forged(n.v, 42, 7)), t0);
  ASSERT_EQ(act.block.size(), 1u);
  EXPECT_EQ(act.block[0].peer, n.a);
  EXPECT_TRUE(act.block[0].forged);
  EXPECT_TRUE(act.send.empty());
  EXPECT_FALSE(act.follow);
  EXPECT_FALSE(n.core.best());
  EXPECT_EQ(n.core.network_height(), 0u);
}

TEST(FinalityRelayCore, MalformedMessageBlocksThePeer) {
  FullNode n;
  auto act = n.core.on_message(n.b, Bytes{consensus::kHead, 1, 2}, t0);
  ASSERT_EQ(act.block.size(), 1u);
  EXPECT_EQ(act.block[0].peer, n.b);
  EXPECT_FALSE(act.block[0].forged);
  act = n.core.on_message(n.b, Bytes{9}, t0);
  ASSERT_EQ(act.block.size(), 1u);
  act = n.core.on_message(n.b, Bytes{consensus::kGetHead, 0}, t0);  // trailing bytes
  ASSERT_EQ(act.block.size(), 1u);
}

TEST(FinalityRelayCore, NewerVerifiedHeadIsHandedOverOnceAndRelayedToOtherFollowers) {
  FullNode n;
  auto h = head(n.v, 42, 7);
  auto act = n.core.on_message(n.a, consensus::encode_head(h), t0);
  EXPECT_TRUE(act.block.empty());
  ASSERT_TRUE(act.follow);
  EXPECT_EQ(act.follow->proposal.payload, h.block);
  EXPECT_EQ(act.follow->certificate.kind, Kind::kFinalize);
  EXPECT_FALSE(act.follow->implied);
  EXPECT_EQ(recipients(act), (std::vector<Peer>{std::min(n.b, n.c), std::max(n.b, n.c)}));
  for (const auto& [p, m] : act.send) EXPECT_EQ(m, consensus::encode_head(h));
  EXPECT_EQ(n.core.finalized_view(), 42u);
  // The same head again, from anyone: nothing more.
  act = n.core.on_message(n.b, consensus::encode_head(h), t0);
  EXPECT_FALSE(act.follow);
  EXPECT_TRUE(act.send.empty());
  EXPECT_TRUE(act.block.empty());
  // A newer one is followed and relayed again.
  act = n.core.on_message(n.c, consensus::encode_head(head(n.v, 50, 9)), t0);
  ASSERT_TRUE(act.follow);
  EXPECT_EQ(recipients(act), (std::vector<Peer>{std::min(n.a, n.b), std::max(n.a, n.b)}));
}

TEST(FinalityRelayCore, StaleHeadIsDroppedBeforeVerification) {
  FullNode n;
  ASSERT_TRUE(n.core.on_message(n.a, consensus::encode_head(head(n.v, 42, 7)), t0).follow);
  EXPECT_EQ(n.core.verifications(), 1u);
  // Replays and older heads, even forged ones, cost no signature check and block no one.
  for (const auto& h :
       {head(n.v, 42, 7), head(n.v, 30, 5), forged(n.v, 41, 6), forged(n.v, 42, 99)}) {
    auto act = n.core.on_message(n.b, consensus::encode_head(h), t0);
    EXPECT_FALSE(act.follow);
    EXPECT_TRUE(act.send.empty());
    EXPECT_TRUE(act.block.empty());
  }
  EXPECT_EQ(n.core.verifications(), 1u);
  // A forged head claiming a newer view is checked, and blocks its sender.
  auto act = n.core.on_message(n.b, consensus::encode_head(forged(n.v, 43, 8)), t0);
  EXPECT_EQ(n.core.verifications(), 2u);
  ASSERT_EQ(act.block.size(), 1u);
  EXPECT_EQ(n.core.best()->view, 42u);
}

TEST(FinalityRelayCore, GetHeadIsAnsweredWithTheBestHead) {
  FullNode n;
  Peer x = peer(9);
  EXPECT_TRUE(n.core.on_message(x, Bytes{consensus::kGetHead}, t0).send.empty());  // none yet
  auto h = head(n.v, 42, 7);
  n.core.on_message(n.a, consensus::encode_head(h), t0);
  n.core.on_message(n.a, consensus::encode_head(head(n.v, 40, 6)), t0);  // stale
  auto act = n.core.on_message(x, Bytes{consensus::kGetHead}, t0);
  ASSERT_EQ(act.send.size(), 1u);
  EXPECT_EQ(act.send[0].first, x);
  EXPECT_EQ(act.send[0].second, consensus::encode_head(h));
}

TEST(FinalityRelayCore, UnsignedHeightIsAHintCorrectedByTheAppliedBlock) {
  FullNode n;
  auto h = head(n.v, 42, 1'000'000);  // a liar's height under a valid certificate
  n.core.on_message(n.a, consensus::encode_head(h), t0);
  EXPECT_EQ(n.core.network_height(), 1'000'000u);
  n.core.on_applied(7, 42, h.block);
  EXPECT_EQ(n.core.network_height(), 7u);
  // Another block applied does not move the hint; the applied height counts.
  n.core.on_applied(8, 43, crypto::sha256("other"));
  EXPECT_EQ(n.core.network_height(), 8u);
}

TEST(FinalityRelayCore, ValidatorsAnnounceOnlyAppliedFinalizedBlocks) {
  Validators v(4);
  RelayCore core(options(v, true));
  Peer f = peer(1), val = peer(2);
  EXPECT_TRUE(core.on_peer(f, true, false).send.empty());   // nothing to announce yet, no asking
  EXPECT_TRUE(core.on_peer(val, true, true).send.empty());  // validators are not followers
  auto p = proposal(42);
  auto cert = v.finalize(p);
  core.on_finalized_locally(consensus::Finalized{p, cert, false});
  EXPECT_EQ(core.finalized_view(), 42u);
  // Implied finalizations carry no certificate of their own: never announced.
  auto p41 = proposal(41);
  core.on_finalized_locally(consensus::Finalized{p41, cert, true});
  EXPECT_TRUE(core.on_applied(6, 41, p41.payload).send.empty());
  // Not applied yet: nothing. Applied with another id at that view: nothing.
  EXPECT_TRUE(core.on_applied(7, 42, crypto::sha256("other")).send.empty());
  auto act = core.on_applied(7, 42, p.payload);
  ASSERT_EQ(act.send.size(), 1u);
  EXPECT_EQ(act.send[0].first, f);
  EXPECT_EQ(act.send[0].second,
            consensus::encode_head({7, 42, p.payload, consensus::encode_certificate(cert)}));
  EXPECT_TRUE(core.on_tick(t0).send.empty());
  EXPECT_FALSE(core.on_tick(t0).ask_all);
  // Heads from peers are ignored (validators learn finality from their engine); get-head and
  // newly connected followers get the announced head.
  EXPECT_TRUE(core.on_message(f, consensus::encode_head(head(v, 50, 9)), t0).send.empty());
  EXPECT_EQ(core.best()->view, 42u);
  EXPECT_EQ(core.on_message(val, Bytes{consensus::kGetHead}, t0).send.size(), 1u);
  EXPECT_EQ(recipients(core.on_peer(peer(3), true, false)), std::vector<Peer>{peer(3)});
  // A follower that left is not announced to.
  core.on_peer(f, false, false);
  core.on_peer(peer(3), false, false);
  auto p43 = proposal(43);
  core.on_finalized_locally(consensus::Finalized{p43, v.finalize(p43), false});
  EXPECT_TRUE(core.on_applied(8, 43, p43.payload).send.empty());
}

TEST(FinalityRelayCore, FullNodeAsksAfterSilence) {
  FullNode n;
  auto act = n.core.on_tick(t0);
  EXPECT_TRUE(act.ask_all);
  ASSERT_TRUE(act.wake);
  EXPECT_EQ(*act.wake, t0 + std::chrono::milliseconds(1000));
  n.core.on_message(n.a, consensus::encode_head(head(n.v, 42, 7)), t0);
  EXPECT_FALSE(n.core.on_tick(t0 + std::chrono::milliseconds(500)).ask_all);
  EXPECT_TRUE(n.core.on_tick(t0 + std::chrono::milliseconds(1000)).ask_all);
}

TEST(FinalityRelayCore, TestSeamRewritesOutgoingHeadsAndHonestNodesBlockTheForger) {
  Validators v(4);
  Options o = options(v, true);
  o.rewrite_head = [&v](const std::optional<FinalityHead>& h, bool reply) -> std::optional<Bytes> {
    return consensus::encode_head(forged(v, h ? h->view + 1000 : 1000, reply ? 1 : 2));
  };
  RelayCore forger(std::move(o));
  FullNode honest;
  Peer forger_key = peer(7), honest_key = peer(8);
  // Even holding no head, the forger answers a get-head.
  auto act = forger.on_message(honest_key, Bytes{consensus::kGetHead}, t0);
  ASSERT_EQ(act.send.size(), 1u);
  auto got = honest.core.on_message(forger_key, act.send[0].second, t0);
  ASSERT_EQ(got.block.size(), 1u);
  EXPECT_EQ(got.block[0].peer, forger_key);
  EXPECT_TRUE(got.send.empty());
  EXPECT_FALSE(got.follow);
}
