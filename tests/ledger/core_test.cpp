// ledger::Core driven with a fake chain: no threads, sockets or clocks (time is an argument).
#include "ledger/core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "codec/codec.h"
#include "crypto/ed25519.h"
#include "tests/support/keys.h"
#include "tests/support/validators.h"

namespace guts::ledger {
namespace {

crypto::SigningKey key(uint8_t b) {
  return test_support::fixed_key(b);
}

state::Transaction make_tx(uint64_t nonce, state::TxBody body = state::CreateRepo{"r"}) {
  auto k = key(99);
  state::Transaction tx;
  tx.chain_id = "test";
  tx.author = k.public_key();
  tx.nonce = nonce;
  tx.timestamp_ms = 1000;
  tx.body = std::move(body);
  tx.sign(k);
  return tx;
}

state::Transaction push_tx(uint64_t nonce) {
  return make_tx(nonce, state::UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}, false});
}

state::Block make_block(const Digest& parent, uint64_t height, uint64_t view,
                        const crypto::PublicKey& proposer, std::vector<state::Transaction> txs,
                        uint64_t ts = 5000) {
  state::Block b;
  b.header.chain_id = "test";
  b.header.height = height;
  b.header.parent = parent;
  b.header.view = view;
  b.header.timestamp_ms = ts;
  b.header.proposer = proposer;
  b.header.tx_count = txs.size();
  b.header.tx_root = state::tx_root_of(txs);
  b.txs = std::move(txs);
  return b;
}

// Deterministic execution stand-in: every transaction applies, except those in `reject`;
// blocks in `bad` fail verification. commit() advances the head (what the driver's committer
// does through Chain::commit).
class FakeChain : public ChainPort {
 public:
  FakeChain() { head_.id[0] = 0xEE; }  // the genesis id
  state::Head head() const override { return head_; }
  std::optional<state::TxLocation> locate(const Digest& tx_id) const override {
    for (const auto& b : applied_)
      for (size_t i = 0; i < b.txs.size(); ++i)
        if (b.txs[i].id() == tx_id) return state::TxLocation{b.header.height, uint32_t(i)};
    return std::nullopt;
  }
  std::optional<state::Block> block_at(uint64_t height) const override {
    if (height == 0 || height > applied_.size()) return std::nullopt;
    return applied_[height - 1];
  }
  state::BuildResult build(const Digest& parent, std::vector<state::PendingTx> txs, uint64_t view,
                           uint64_t unix_ms, const crypto::PublicKey& proposer) override {
    ++builds;
    state::BuildResult r;
    std::vector<state::Transaction> in;
    for (auto& p : txs) {
      if (reject.count(p.tx.id()))
        r.rejected.emplace_back(p.tx.id(), Status(Code::kConflict, "bad nonce"));
      else
        in.push_back(p.tx);
    }
    r.block = make_block(parent, height_of(parent) + 1, view, proposer, std::move(in), unix_ms);
    heights_[r.block.id()] = r.block.header.height;
    return r;
  }
  std::optional<state::ValidatorSchedule> validator_schedule() const override { return schedule; }
  Status verify(const state::Block& block,
                const std::function<bool(const Digest&)>& checked) override {
    ++verifies;
    if (bad.count(block.id())) return Status(Code::kInvalidArgument, "bad state root");
    heights_[block.id()] = block.header.height;
    return Status();
  }
  void commit(const state::Block& b) {
    ASSERT_EQ(b.header.parent, head_.id);
    applied_.push_back(b);
    head_.height = b.header.height;
    head_.id = b.id();
  }
  uint64_t height_of(const Digest& d) const {
    if (d == head_.id) return head_.height;
    auto it = heights_.find(d);
    return it == heights_.end() ? 0 : it->second;
  }

  std::set<Digest> reject, bad;
  int builds = 0, verifies = 0;
  std::optional<state::ValidatorSchedule> schedule;  // nullopt: the fixed set of the options

 private:
  state::Head head_;
  std::vector<state::Block> applied_;
  std::map<Digest, uint64_t> heights_;
};

Bytes tagged(uint8_t tag, const Bytes& body) {
  codec::Writer w;
  w.u8(tag).fixed(body);
  return w.data();
}

Bytes blocks_answer(const std::vector<state::Block>& blocks) {
  codec::Writer w;
  w.u8(3).varint(blocks.size());
  for (const auto& b : blocks) w.bytes(b.encode());
  return w.data();
}

struct Fixture : ::testing::Test {
  std::vector<crypto::PublicKey> validators{key(1).public_key(), key(2).public_key(),
                                            key(3).public_key(), key(4).public_key()};
  FakeChain chain;
  Now now{100000, 5000};

  CoreOptions options(bool availability = false) {
    CoreOptions o;
    o.self = validators[0];
    o.validators = validators;
    o.availability = availability;
    return o;
  }
  consensus::Context ctx(consensus::View view, uint32_t leader, const Digest& parent) {
    consensus::Context c;
    c.round = {0, view};
    c.leader = leader;
    c.parent_view = view - 1;
    c.parent_payload = parent;
    return c;
  }
  std::vector<TakenTx> taken(std::vector<state::Transaction> txs,
                             std::optional<crypto::PublicKey> from = std::nullopt) {
    std::vector<TakenTx> out;
    for (auto& t : txs) out.push_back(TakenTx{state::PendingTx{std::move(t), true}, from});
    return out;
  }
  Now later(uint64_t ms) {
    now.steady_ms += ms;
    return now;
  }
};

// Requests by digest (kGetBlock) in `a`, with their destination.
std::vector<std::pair<crypto::PublicKey, Digest>> block_requests(const Actions& a) {
  std::vector<std::pair<crypto::PublicKey, Digest>> out;
  for (const auto& s : a.sends)
    if (s.to && s.channel == Channel::kBlocks && s.payload.size() == 33 && s.payload[0] == 1) {
      Digest d;
      std::copy(s.payload.begin() + 1, s.payload.end(), d.begin());
      out.emplace_back(*s.to, d);
    }
  return out;
}

TEST_F(Fixture, ProposesOnlyWithANonEmptyPool) {
  Core core(chain, options());
  auto a = core.propose(now, ctx(1, 0, chain.head().id));
  EXPECT_TRUE(a.proposed.empty()) << "idle: the proposal waits for work";
  EXPECT_EQ(chain.builds, 0);
  ASSERT_TRUE(a.wake_ms) << "a waiting proposal needs ticks";

  auto tx = make_tx(0);
  a = core.transactions(now, taken({tx}));
  ASSERT_EQ(a.proposed.size(), 1u);
  ASSERT_TRUE(a.proposed[0].digest);
  EXPECT_EQ(a.proposed[0].round.view, 1u);
  ASSERT_FALSE(a.proposed[0].record.empty());
  EXPECT_EQ(a.proposed[0].record[0], kBlockRecordTag);
  auto block = state::decode_block(ByteView(a.proposed[0].record).subspan(1));
  EXPECT_EQ(block.id(), *a.proposed[0].digest);
  ASSERT_EQ(block.txs.size(), 1u);
  EXPECT_EQ(block.txs[0].id(), tx.id());
  // The block travels to the validators (a push) before the vote.
  bool pushed = false;
  for (const auto& s : a.sends)
    pushed |= !s.to && s.channel == Channel::kBlocks && s.payload[0] == 0;
  EXPECT_TRUE(pushed);
}

TEST_F(Fixture, NeverProposesAnEmptyBlock) {
  Core core(chain, options());
  auto tx = make_tx(0);
  chain.reject.insert(tx.id());
  core.transactions(now, taken({tx}));
  auto a = core.propose(now, ctx(1, 0, chain.head().id));
  EXPECT_EQ(chain.builds, 1);
  EXPECT_TRUE(a.proposed.empty()) << "no empty block: the view waits for work";
  ASSERT_EQ(a.rejected.size(), 1u) << "on the applied head the rejection is final";
  EXPECT_EQ(a.rejected[0].first, tx.id());
  EXPECT_EQ(core.pool_size(), 0u);
  // Later work is proposed in the same view.
  a = core.transactions(now, taken({make_tx(1)}));
  ASSERT_EQ(a.proposed.size(), 1u);
  EXPECT_TRUE(a.proposed[0].digest);
}

// Only a child can finalize a notarized parent: with nothing valid to add, a leader building on
// a parent that is not final proposes an empty child (after a short delay when idle, at once
// when every candidate failed on that parent). Without it the chain stops for good when all
// pending pushes are stale against the unfinalized parent.
TEST_F(Fixture, AnEmptyChildFinalizesANotarizedParent) {
  Core core(chain, options());
  auto tx = make_tx(0);
  core.transactions(now, taken({tx}));
  auto a = core.propose(now, ctx(1, 0, chain.head().id));
  ASSERT_EQ(a.proposed.size(), 1u);
  ASSERT_TRUE(a.proposed[0].digest);
  Digest parent = *a.proposed[0].digest;  // notarized, not finalized
  // Idle (the only pooled transaction is in the parent): no block at once...
  a = core.propose(now, ctx(2, 0, parent));
  EXPECT_TRUE(a.proposed.empty()) << "the parent's finalization may be in flight";
  a = core.tick(later(50));
  EXPECT_TRUE(a.proposed.empty());
  // ...but an empty child once the parent stayed unfinalized for a while.
  a = core.tick(later(CoreOptions{}.empty_child_after_ms));
  ASSERT_EQ(a.proposed.size(), 1u);
  ASSERT_TRUE(a.proposed[0].digest);
  auto child = state::decode_block(ByteView(a.proposed[0].record).subspan(1));
  EXPECT_EQ(child.header.parent, parent);
  EXPECT_TRUE(child.txs.empty());
  // A candidate that fails on an unfinalized parent: the empty child at once, and the
  // transaction stays pooled (its verdict is not final).
  auto stale = make_tx(1);
  chain.reject.insert(stale.id());
  core.transactions(now, taken({stale}));
  a = core.propose(now, ctx(3, 0, *a.proposed[0].digest));
  ASSERT_EQ(a.proposed.size(), 1u);
  ASSERT_TRUE(a.proposed[0].digest);
  EXPECT_TRUE(a.rejected.empty());
  EXPECT_EQ(core.pool_size(), 2u);
}

TEST_F(Fixture, VerifyFetchesTheBlockRotatingPeersThenAnswers) {
  Core core(chain, options());
  auto b = make_block(chain.head().id, 1, 1, validators[2], {make_tx(0)});
  auto a = core.verify(now, ctx(1, 2, chain.head().id), b.id());
  EXPECT_TRUE(a.verified.empty());
  auto reqs = block_requests(a);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].first, validators[2]) << "the leader is asked first";
  EXPECT_EQ(reqs[0].second, b.id());
  // Nothing before the fetch timeout; then other peers, in turn.
  EXPECT_TRUE(block_requests(core.tick(later(100))).empty());
  std::set<crypto::PublicKey> asked{reqs[0].first};
  for (int i = 0; i < 3; ++i) {
    auto r = block_requests(core.tick(later(300)));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_NE(r[0].first, validators[0]) << "never ourselves";
    asked.insert(r[0].first);
  }
  EXPECT_EQ(asked.size(), 3u) << "retries rotate over the other validators";
  a = core.blocks_message(now, validators[3], blocks_answer({b}));
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_TRUE(a.verified[0].ok);
  EXPECT_EQ(a.verified[0].digest, b.id());
  EXPECT_FALSE(a.verified[0].record.empty());
  EXPECT_EQ(chain.verifies, 1);
}

TEST_F(Fixture, VerifyRejectsAChildOfTheWrongParentOrLeader) {
  Core core(chain, options());
  auto b = make_block(chain.head().id, 1, 1, validators[1], {make_tx(0)});
  core.blocks_message(now, validators[1], tagged(0, b.encode()));
  auto a = core.verify(now, ctx(1, 2, chain.head().id), b.id());  // leader 2, proposer 1
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_FALSE(a.verified[0].ok);
}

TEST_F(Fixture, FinalizedBlocksAreCommittedInHeightOrder) {
  Core core(chain, options());
  auto b1 = make_block(chain.head().id, 1, 1, validators[1], {make_tx(0)});
  auto b2 = make_block(b1.id(), 2, 2, validators[2], {make_tx(1)});
  auto b3 = make_block(b2.id(), 3, 3, validators[3], {make_tx(2)});
  for (const auto* b : {&b3, &b1, &b2})
    core.blocks_message(now, b->header.proposer, tagged(0, b->encode()));
  auto a = core.finalized(now, consensus::Round{0, 3}, b3.id());
  ASSERT_EQ(a.commits.size(), 3u);
  EXPECT_EQ(a.commits[0].block->id(), b1.id());
  EXPECT_EQ(a.commits[1].block->id(), b2.id());
  EXPECT_EQ(a.commits[2].block->id(), b3.id());
  EXPECT_FALSE(a.commits[0].executed) << "fetched, not verified here: the committer executes it";
  EXPECT_FALSE(core.idle());
  for (const auto& j : a.commits) {
    chain.commit(*j.block);
    core.committed(now, *j.block, {});
  }
  EXPECT_TRUE(core.idle());
  // Reported again (e.g. after a restart): nothing more to do.
  EXPECT_TRUE(core.finalized(now, consensus::Round{0, 3}, b3.id()).commits.empty());
}

TEST_F(Fixture, FarBehindFetchesByHeightRange) {
  Core core(chain, options());
  std::vector<state::Block> chain_blocks;
  Digest parent = chain.head().id;
  for (uint64_t h = 1; h <= 100; ++h) {
    chain_blocks.push_back(make_block(parent, h, h, validators[h % 4], {make_tx(h)}));
    parent = chain_blocks.back().id();
  }
  core.blocks_message(now, validators[1], tagged(0, chain_blocks.back().encode()));
  auto a = core.finalized(now, consensus::Round{0, 100}, chain_blocks.back().id());
  EXPECT_TRUE(a.commits.empty());
  bool range = false;
  for (const auto& s : a.sends) {
    if (!s.to || s.payload.empty() || s.payload[0] != 2) continue;
    codec::Reader r(ByteView(s.payload).subspan(1));
    uint64_t from = r.u64be();
    uint32_t count = r.u32be();
    EXPECT_EQ(from, 36u);  // the 64 blocks below the lowest one held
    EXPECT_EQ(count, 64u);
    range = true;
  }
  EXPECT_TRUE(range) << "far behind: ask by height range";
  // Answers fill the gap; commits follow in order once the path reaches the head.
  a = core.blocks_message(now, validators[2],
                          blocks_answer(std::vector<state::Block>(chain_blocks.begin() + 35,
                                                                  chain_blocks.begin() + 99)));
  EXPECT_TRUE(a.commits.empty());
  a = core.blocks_message(
      now, validators[3],
      blocks_answer(std::vector<state::Block>(chain_blocks.begin(), chain_blocks.begin() + 35)));
  ASSERT_EQ(a.commits.size(), 100u);
  for (uint64_t h = 1; h <= 100; ++h) EXPECT_EQ(a.commits[h - 1].block->header.height, h);
}

TEST_F(Fixture, AFinalizedBlockThatDoesNotExtendTheChainIsFailStop) {
  Core core(chain, options());
  auto b1 = make_block(chain.head().id, 1, 1, validators[1], {make_tx(0)});
  core.blocks_message(now, validators[1], tagged(0, b1.encode()));
  auto a = core.finalized(now, consensus::Round{0, 1}, b1.id());
  ASSERT_EQ(a.commits.size(), 1u);
  // A second "finalized" block at height 1 (a fork): this node diverged.
  auto fork = make_block(b1.header.parent, 1, 2, validators[2], {make_tx(5)});
  auto b2 = make_block(fork.id(), 2, 3, validators[3], {make_tx(6)});
  core.blocks_message(now, validators[2], tagged(0, fork.encode()));
  core.blocks_message(now, validators[3], tagged(0, b2.encode()));
  EXPECT_FALSE(core.failed());
  a = core.finalized(now, consensus::Round{0, 3}, b2.id());
  EXPECT_TRUE(a.commits.empty());
  EXPECT_TRUE(core.failed());
  // Nothing more is acknowledged or answered.
  EXPECT_TRUE(core.transactions(now, taken({make_tx(9)})).empty());
  EXPECT_TRUE(core.propose(now, ctx(4, 0, b1.id())).empty());
}

TEST_F(Fixture, AvailabilityGatesTheVote) {
  Core core(chain, options(/*availability=*/true));
  auto b = make_block(chain.head().id, 1, 1, validators[1], {push_tx(0)});
  core.blocks_message(now, validators[1], tagged(0, b.encode()));
  auto a = core.verify(now, ctx(1, 1, chain.head().id), b.id());
  EXPECT_TRUE(a.verified.empty()) << "no vote before the objects are here";
  ASSERT_EQ(a.availability.size(), 1u);
  EXPECT_EQ(a.availability[0].id, b.id());
  EXPECT_EQ(a.availability[0].hints.front(), validators[1]);
  EXPECT_EQ(a.availability[0].deadline_ms, now.steady_ms + 3000);
  EXPECT_TRUE(core.tick(later(20)).verified.empty());
  a = core.availability(now, b.id(), true);
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_TRUE(a.verified[0].ok);

  // Objects that do not arrive: no vote at all (not an "invalid" verdict).
  auto c = make_block(chain.head().id, 1, 2, validators[2], {push_tx(1)});
  core.blocks_message(now, validators[2], tagged(0, c.encode()));
  a = core.verify(now, ctx(2, 2, chain.head().id), c.id());
  ASSERT_EQ(a.availability.size(), 1u);
  a = core.availability(now, c.id(), false);
  EXPECT_TRUE(a.verified.empty());
  EXPECT_TRUE(core.tick(later(20)).verified.empty());
}

TEST_F(Fixture, AForwardedPushWhoseObjectsFailIsDroppedAndReported) {
  Core core(chain, options(/*availability=*/true));
  auto tx = push_tx(0);
  auto a = core.transactions(now, taken({tx}, validators[2]));
  ASSERT_EQ(a.prefetch.size(), 1u);
  EXPECT_EQ(a.prefetch[0].tx, tx.id());
  ASSERT_EQ(a.prefetch[0].hints.size(), 1u);
  EXPECT_EQ(a.prefetch[0].hints[0], validators[2]) << "the node it came in through";
  EXPECT_TRUE(a.sends.empty()) << "what a peer forwarded is not forwarded again";
  a = core.propose(now, ctx(1, 0, chain.head().id));
  EXPECT_TRUE(a.proposed.empty()) << "not proposable before its objects are here";
  EXPECT_EQ(chain.builds, 0);
  a = core.objects_fetched(now, tx.id(), false);
  ASSERT_EQ(a.rejected.size(), 1u);
  EXPECT_EQ(a.rejected[0].first, tx.id());
  EXPECT_EQ(a.rejected[0].second.code(), Code::kUnavailable);
  EXPECT_EQ(core.pool_size(), 0u);
}

TEST_F(Fixture, AForwardedPushIsProposedOnceItsObjectsAreHere) {
  Core core(chain, options(/*availability=*/true));
  auto tx = push_tx(0);
  core.transactions(now, taken({tx}, validators[2]));
  EXPECT_TRUE(core.propose(now, ctx(1, 0, chain.head().id)).proposed.empty());
  auto a = core.objects_fetched(now, tx.id(), true);
  ASSERT_EQ(a.proposed.size(), 1u);
  EXPECT_TRUE(a.proposed[0].digest);
}

TEST_F(Fixture, LocalTransactionsAreForwardedAndReforwardedAfterTheInterval) {
  Core core(chain, options());
  auto tx = make_tx(0);
  auto forwarded = [](const Actions& a) {
    std::vector<Digest> ids;
    for (const auto& s : a.sends)
      if (!s.to && s.channel == Channel::kTransactions)
        for (const auto& t : decode_tx_batch(s.payload)) ids.push_back(t.id());
    return ids;
  };
  auto a = core.transactions(now, taken({tx}));
  EXPECT_EQ(forwarded(a), std::vector<Digest>{tx.id()});
  EXPECT_TRUE(forwarded(core.tick(later(1000))).empty());
  EXPECT_TRUE(forwarded(core.tick(later(900))).empty());
  EXPECT_EQ(forwarded(core.tick(later(200))), std::vector<Digest>{tx.id()}) << "after 2 s";
  EXPECT_TRUE(forwarded(core.tick(later(20))).empty());
  // Applied: it leaves the pool and is not sent again.
  auto b = make_block(chain.head().id, 1, 1, validators[1], {tx});
  chain.commit(b);
  core.committed(now, b, {});
  EXPECT_EQ(core.pool_size(), 0u);
  EXPECT_TRUE(forwarded(core.tick(later(5000))).empty());
}

TEST_F(Fixture, AMalformedBlocksMessageBlocksThePeer) {
  Core core(chain, options());
  for (Bytes bad : {Bytes{}, Bytes{9}, Bytes{1, 2, 3}, Bytes{3, 200}, tagged(0, Bytes{1, 2})}) {
    auto a = core.blocks_message(now, validators[1], bad);
    ASSERT_EQ(a.block.size(), 1u) << "payload of " << bad.size() << " bytes";
    EXPECT_EQ(a.block[0], validators[1]);
  }
  // A well-formed request is answered, not punished.
  codec::Writer w;
  w.u8(1).fixed(chain.head().id);
  auto a = core.blocks_message(now, validators[1], w.data());
  EXPECT_TRUE(a.block.empty());
  ASSERT_EQ(a.sends.size(), 1u);
  EXPECT_EQ(a.sends[0].to, validators[1]);
}

TEST_F(Fixture, StaleTransactionsLeaveThePool) {
  Core core(chain, options());
  auto tx = make_tx(0);
  core.transactions(now, taken({tx}));
  EXPECT_EQ(core.pool_size(), 1u);
  core.stale(now, {tx.id()});
  EXPECT_EQ(core.pool_size(), 0u);
}

TEST_F(Fixture, RestoredBlocksAreCommittedWithoutAFetch) {
  Core core(chain, options());
  auto b1 = make_block(chain.head().id, 1, 1, validators[1], {make_tx(0)});
  Bytes record{kBlockRecordTag};
  auto enc = b1.encode();
  record.insert(record.end(), enc.begin(), enc.end());
  core.restore(now, record);
  auto a = core.finalized(now, consensus::Round{0, 1}, b1.id());
  EXPECT_TRUE(block_requests(a).empty());
  ASSERT_EQ(a.commits.size(), 1u);
  EXPECT_EQ(a.commits[0].block->id(), b1.id());
}

TEST_F(Fixture, ALeaderWaitsWhileTheCommitBacklogIsHigh) {
  Core core(chain, options());
  auto b1 = make_block(chain.head().id, 1, 1, validators[1], {make_tx(0)});
  auto b2 = make_block(b1.id(), 2, 2, validators[2], {make_tx(1)});
  core.blocks_message(now, validators[1], tagged(0, b1.encode()));
  core.blocks_message(now, validators[2], tagged(0, b2.encode()));
  // Verified (so executed) here before they are finalized: building on b2 needs no commit.
  ASSERT_EQ(core.verify(now, ctx(1, 1, chain.head().id), b1.id()).verified.size(), 1u);
  ASSERT_EQ(core.verify(now, ctx(2, 2, b1.id()), b2.id()).verified.size(), 1u);
  auto a = core.finalized(now, consensus::Round{0, 2}, b2.id());
  ASSERT_EQ(a.commits.size(), 2u);
  EXPECT_TRUE(a.commits[0].executed);
  EXPECT_EQ(core.backlog(), 2u);
  core.transactions(now, taken({make_tx(7)}));
  EXPECT_TRUE(core.propose(now, ctx(3, 0, b2.id())).proposed.empty())
      << "two finalized blocks wait to be applied: no third one yet";
  EXPECT_EQ(chain.builds, 0);
  chain.commit(b1);
  a = core.committed(now, b1, {});
  ASSERT_EQ(a.proposed.size(), 1u) << "the backlog is down to one";
  EXPECT_TRUE(a.proposed[0].digest);
}

// ---------------------------------------------------------------- epochs

TEST_F(Fixture, AnEpochEndsWithItsLastBlockReproposedAndTheNextSetBuildsOnIt) {
  std::vector<crypto::PublicKey> next{key(50).public_key(), key(51).public_key(),
                                      key(52).public_key(), key(53).public_key()};
  chain.schedule = test_support::two_epochs(validators, next, 3, 10);  // epoch 0 ends at height 2
  Core core(chain, options());
  core.transactions(now, taken({make_tx(0), make_tx(1)}));
  auto a = core.propose(now, ctx(1, 0, chain.head().id));
  ASSERT_EQ(a.proposed.size(), 1u);
  Digest d1 = *a.proposed[0].digest;
  core.transactions(now, taken({make_tx(2)}));
  a = core.propose(now, ctx(2, 0, d1));
  ASSERT_EQ(a.proposed.size(), 1u);
  Digest d2 = *a.proposed[0].digest;
  EXPECT_EQ(chain.height_of(d2), 2u);
  // Height 3 belongs to the next set: the leader of epoch 0 re-proposes its last block instead
  // of building one (no build, no record: it is the notarized parent).
  const int builds = chain.builds;
  core.transactions(now, taken({make_tx(3)}));
  a = core.propose(now, ctx(3, 0, d2));
  ASSERT_EQ(a.proposed.size(), 1u);
  EXPECT_EQ(a.proposed[0].digest, d2);
  EXPECT_TRUE(a.proposed[0].record.empty());
  EXPECT_EQ(chain.builds, builds);
  // Verifying: the re-proposal of the epoch's last block is valid, of any other block it is not.
  a = core.verify(now, ctx(4, 1, d2), d2);
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_TRUE(a.verified[0].ok);
  a = core.verify(now, ctx(5, 1, d1), d1);
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_FALSE(a.verified[0].ok) << "height 1 does not end the epoch";
  // A block at height 3 proposed in epoch 0 (by the old set) is refused ...
  auto b3 = make_block(d2, 3, 6, validators[1], {make_tx(4)});
  core.blocks_message(now, validators[1], tagged(0, b3.encode()));
  a = core.verify(now, ctx(6, 1, d2), b3.id());
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_FALSE(a.verified[0].ok);
  // ... and the same height proposed in epoch 1 by its leader, on the old epoch's last block
  // (the new engine's genesis, view 0), is valid.
  auto n3 = make_block(d2, 3, 1, next[1], {make_tx(4)});
  core.blocks_message(now, next[1], tagged(0, n3.encode()));
  consensus::Context c1;
  c1.round = {1, 1};
  c1.leader = 1;
  c1.parent_view = 0;
  c1.parent_payload = d2;
  core.consensus_view({1, 1});
  a = core.verify(now, c1, n3.id());
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_TRUE(a.verified[0].ok);
  // A re-proposal of the previous epoch's end in the new epoch (parent view 0) is refused.
  a = core.verify(now, c1, d2);
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_FALSE(a.verified[0].ok);
}

TEST_F(Fixture, ABlockBeyondWhatTheScheduleFixesWaitsForCommits) {
  // Epochs of 2 blocks: with nothing applied, the sets of heights 1..4 are fixed, not 5.
  chain.schedule = test_support::two_epochs(validators, validators, 100, 2);
  Core core(chain, options());
  std::vector<state::Block> blocks;
  Digest parent = chain.head().id;
  for (uint64_t h = 1; h <= 5; ++h) {
    blocks.push_back(make_block(parent, h, h, validators[1], {make_tx(h)}));
    parent = blocks.back().id();
    core.blocks_message(now, validators[1], tagged(0, blocks.back().encode()));
  }
  for (uint64_t h = 1; h <= 4; ++h) {
    auto a = core.verify(now, ctx(h, 1, blocks[h - 1].header.parent), blocks[h - 1].id());
    ASSERT_EQ(a.verified.size(), 1u) << h;
    EXPECT_TRUE(a.verified[0].ok) << h;
  }
  auto a = core.verify(now, ctx(5, 1, blocks[3].id()), blocks[4].id());
  EXPECT_TRUE(a.verified.empty()) << "height 5 waits until a commit fixes its set";
  // Block 1 applied: heights up to 5 are fixed now.
  a = core.finalized(now, consensus::Round{0, 1}, blocks[0].id());
  ASSERT_EQ(a.commits.size(), 1u);
  chain.commit(*a.commits[0].block);
  a = core.committed(now, *a.commits[0].block, {});
  ASSERT_EQ(a.verified.size(), 1u);
  EXPECT_TRUE(a.verified[0].ok);
}

}  // namespace
}  // namespace guts::ledger
