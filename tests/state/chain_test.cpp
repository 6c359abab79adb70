#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "core/time.h"
#include "state/mempool.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {
std::vector<PendingTx> pending(std::vector<Transaction> txs) {
  std::vector<PendingTx> out;
  for (auto& t : txs) out.push_back({std::move(t), false});
  return out;
}
}  // namespace

TEST(Chain, BuildCommitReopenAndReplay) {
  TempDb tmp("chain");
  auto genesis = test_genesis();
  auto proposer = key(200).public_key();
  Digest root_after;
  {
    Chain chain(*tmp.db, genesis);
    EXPECT_EQ(chain.head().height, 0u);
    EXPECT_EQ(chain.head().id, genesis.id());
    auto alice = key(1);
    auto r = chain.build(chain.head().id,
                         pending({own_tx(alice, 1, RegisterUser{"alice"}),
                                  own_tx(key(2), 1, RegisterUser{"alice"}),  // taken: dropped
                                  own_tx(alice, 2, CreateRepo{"r", "", false, "main"})}),
                         1, kT0, proposer);
    EXPECT_EQ(r.block.txs.size(), 2u);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].second.code(), Code::kAlreadyExists);
    chain.commit(r.block);
    EXPECT_EQ(chain.head().height, 1u);
    EXPECT_EQ(chain.head().state_root, r.block.header.state_root);
    EXPECT_TRUE(chain.view().repo(1));
    EXPECT_EQ(chain.locate(r.block.txs[1].id())->index, 1u);
    // A second block on top; then a block built on a non-finalized parent.
    auto r2 = chain.build(
        chain.head().id,
        pending({own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}})}), 2,
        kT0 + 10, proposer);
    auto r3 = chain.build(
        r2.block.id(),
        pending(
            {own_tx(alice, 4, UpdateRefs{1, {{"refs/heads/main", Bytes(20, 1), Bytes(20, 2)}}})}),
        3, kT0 + 20, proposer);
    EXPECT_EQ(r3.block.txs.size(), 1u);  // sees r2's write
    chain.commit(r2.block);
    chain.commit(r3.block);
    EXPECT_EQ(*chain.view().ref(1, "refs/heads/main"), Bytes(20, 2));
    root_after = chain.head().state_root;
    EXPECT_THROW(chain.commit(r2.block), Error);  // does not extend the head
  }
  Chain reopened(*tmp.db, genesis);
  EXPECT_EQ(reopened.head().height, 3u);
  EXPECT_EQ(reopened.head().state_root, root_after);
  EXPECT_EQ(reopened.block_at(2)->header.view, 2u);
  auto scratch = tmp.dir.string() + "-replay";
  EXPECT_EQ(Chain::replay(*tmp.db, genesis, scratch), root_after);
  std::filesystem::remove_all(scratch);

  auto other = genesis;
  other.chain_id = "other";
  EXPECT_THROW(Chain(*tmp.db, other), Error);
}

TEST(Chain, PipelinedBlocksDoNotChainTheirOverlays) {
  // Under load every block is built on its parent before the parent commits. The overlays of a
  // committed block's children are rebased on the database, so executions in memory stay at
  // the blocks in flight (they grew by one per block before) and every block still sees its
  // ancestors' writes.
  TempDb tmp("chain-pipelined");
  Chain chain(*tmp.db, test_genesis());
  auto alice = key(1);
  auto proposer = key(200).public_key();
  const size_t before = Chain::executions_in_memory();
  auto prev = chain
                  .build(chain.head().id,
                         pending({own_tx(alice, 1, RegisterUser{"alice"}),
                                  own_tx(alice, 2, CreateRepo{"r", "", false, "main"})}),
                         1, kT0, proposer)
                  .block;
  for (uint8_t i = 1; i <= 100; ++i) {
    Bytes old = i == 1 ? Bytes{} : Bytes(20, static_cast<uint8_t>(i - 1));
    auto next = chain.build(
        prev.id(),
        pending({own_tx(alice, 2u + i, UpdateRefs{1, {{"refs/heads/main", old, Bytes(20, i)}}})}),
        1u + i, kT0 + i, proposer);
    ASSERT_EQ(next.block.txs.size(), 1u) << "block " << int(i) << " did not see its parent";
    chain.commit(prev);
    prev = next.block;
    ASSERT_LE(Chain::executions_in_memory(), before + 2) << "after block " << int(i);
  }
  chain.commit(prev);
  EXPECT_EQ(*chain.view().ref(1, "refs/heads/main"), Bytes(20, 100));
  EXPECT_EQ(chain.head().height, 101u);
  auto scratch = tmp.dir.string() + "-replay";
  EXPECT_EQ(Chain::replay(*tmp.db, test_genesis(), scratch), chain.head().state_root);
  std::filesystem::remove_all(scratch);
}

TEST(Chain, VerifyRejectsTamperedBlocks) {
  TempDb a("verify-a"), b("verify-b");
  auto genesis = test_genesis();
  Chain ca(*a.db, genesis), cb(*b.db, genesis);
  auto r = ca.build(ca.head().id, pending({own_tx(key(1), 1, RegisterUser{"alice"})}), 1, kT0,
                    key(200).public_key());
  EXPECT_TRUE(cb.verify(r.block).ok());
  auto bad_root = r.block;
  bad_root.header.state_root[0] ^= 1;
  EXPECT_FALSE(cb.verify(bad_root).ok());
  auto bad_sig = r.block;
  bad_sig.txs[0].signature[0] ^= 1;
  bad_sig.header.tx_root = tx_root_of(bad_sig.txs);
  EXPECT_FALSE(cb.verify(bad_sig).ok());
  auto wrong_height = r.block;
  wrong_height.header.height = 5;
  EXPECT_FALSE(cb.verify(wrong_height).ok());
  cb.commit(r.block);
  EXPECT_EQ(cb.head().state_root, r.block.header.state_root);
}

TEST(Mempool, DoorChecksPendingNoncesAndOutcomes) {
  TempDb tmp("mempool");
  Chain chain(*tmp.db, test_genesis());
  Mempool pool(chain);
  auto alice = key(1);
  std::vector<TxOutcome> outcomes;
  auto record = [&](const TxOutcome& o) { outcomes.push_back(o); };
  uint64_t ts = guts::unix_millis();
  auto t1 = own_tx(alice, 1, RegisterUser{"alice"}, ts);
  auto bad = t1;
  bad.signature[0] ^= 1;
  EXPECT_EQ(pool.submit(bad, record).message(), "bad signature");
  ASSERT_TRUE(pool.submit(t1, record).ok());
  EXPECT_EQ(pool.next_nonce(alice.public_key(), alice.public_key()), 2u);
  auto t2 = own_tx(alice, 2, CreateRepo{"r", "", false, "main"}, ts);
  auto t2b = own_tx(alice, 2, CreateRepo{"other", "", false, "main"}, ts);
  // Door check runs against finalized state: alice has no username yet there.
  EXPECT_EQ(pool.submit(t2, record).code(), Code::kPermissionDenied);
  EXPECT_EQ(pool.submit(own_tx(alice, 3, RegisterUser{"x"}, ts), record).code(),
            Code::kInvalidArgument);
  auto batch = pool.take(100);
  ASSERT_EQ(batch.size(), 1u);
  auto r = chain.build(chain.head().id, batch, 1, ts, key(200).public_key());
  chain.commit(r.block);
  pool.finished(r.block, r.rejected);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].applied);
  EXPECT_EQ(outcomes[0].height, 1u);
  ASSERT_TRUE(pool.submit(t2, record).ok());
  ASSERT_TRUE(pool.submit(t2, record).ok());  // same tx again: second waiter
  EXPECT_EQ(pool.submit(t2b, record).code(), Code::kInvalidArgument);
  EXPECT_EQ(pool.size(), 1u);
  // Resubmitting a finalized transaction reports it at once.
  ASSERT_TRUE(pool.submit(t1, record).ok());
  EXPECT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[1].applied);
  pool.shutdown();
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[3].status.code(), Code::kUnavailable);
}

// The ledger checks a forwarded batch's signatures in parallel and hands the transactions in
// saying so: the door then skips its own check. Other validators still check the block's.
TEST(Mempool, ACallerThatVerifiedTheSignatureSparesTheDoorItsCheck) {
  TempDb tmp("mempool-verified");
  Chain chain(*tmp.db, test_genesis());
  Mempool pool(chain);
  uint64_t ts = guts::unix_millis();
  auto none = [](const TxOutcome&) {};
  auto forged = own_tx(key(1), 1, RegisterUser{"alice"}, ts);
  forged.signature[0] ^= 1;
  EXPECT_EQ(pool.submit(forged, none, Mempool::Origin::kPeer).message(), "bad signature");
  EXPECT_EQ(pool.size(), 0u);
  // Said verified (here falsely): not checked again, so it is taken in.
  ASSERT_TRUE(pool.submit(forged, none, Mempool::Origin::kPeer, true).ok());
  EXPECT_EQ(pool.size(), 1u);
  // A block holding it does not pass another validator's verification.
  auto taken = pool.take(10);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(taken[0].signature_verified);
  auto r = chain.build(chain.head().id, taken, 1, ts, key(200).public_key());
  ASSERT_EQ(r.block.txs.size(), 1u);
  TempDb other_db("mempool-verified-other");
  Chain other(*other_db.db, test_genesis());
  EXPECT_FALSE(other.verify(r.block).ok());
}

// A node hears build rejections only from its own proposals; recheck() finds the pending
// transactions another node's block made impossible, and reports them (never a valid one).
TEST(Mempool, RecheckRejectsWhatAnotherBlockMadeImpossible) {
  TempDb tmp("mempool-recheck");
  Chain chain(*tmp.db, test_genesis());
  Mempool pool(chain);
  auto alice = key(1), bob = key(2), carol = key(3), dave = key(4);
  uint64_t ts = guts::unix_millis();
  std::map<Digest, TxOutcome> outcomes;
  auto record = [&](const TxOutcome& o) { outcomes[o.id] = o; };
  auto setup = chain.build(chain.head().id, pending({own_tx(alice, 1, RegisterUser{"alice"}, ts)}),
                           1, ts, key(200).public_key());
  chain.commit(setup.block);

  auto a2 = own_tx(alice, 2, CreateRepo{"r", "", false, "main"}, ts);
  auto b1 = own_tx(bob, 1, RegisterUser{"taken"}, ts);
  auto b2 = own_tx(bob, 2, RegisterUser{"bob-two"}, ts);
  auto d1 = own_tx(dave, 1, RegisterUser{"dave"}, ts);
  for (auto* t : {&a2, &b1, &b2, &d1}) ASSERT_TRUE(pool.submit(*t, record).ok());
  ASSERT_EQ(pool.take(100).size(), 4u);  // taken: in some validator's hands

  // Too young: nothing is looked at.
  EXPECT_TRUE(pool.recheck(std::chrono::hours(1), std::chrono::milliseconds(0)).empty());

  // Another node's block: alice's nonce 2 goes to a different transaction; carol takes the
  // username bob asked for.
  auto other = chain.build(chain.head().id,
                           pending({own_tx(alice, 2, CreateRepo{"other", "", false, "main"}, ts),
                                    own_tx(carol, 1, RegisterUser{"taken"}, ts)}),
                           2, ts, key(200).public_key());
  ASSERT_TRUE(other.rejected.empty());
  chain.commit(other.block);
  pool.finished(other.block, other.rejected);  // none of ours was in it
  EXPECT_TRUE(outcomes.empty());

  auto gone = pool.recheck(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
  EXPECT_EQ(gone.size(), 3u);
  ASSERT_TRUE(outcomes.count(a2.id()));
  EXPECT_FALSE(outcomes[a2.id()].applied);
  EXPECT_EQ(outcomes[a2.id()].status.code(), Code::kInvalidArgument);
  ASSERT_TRUE(outcomes.count(b1.id()));
  EXPECT_FALSE(outcomes[b1.id()].applied);
  ASSERT_TRUE(outcomes.count(b2.id()));  // behind a rejected one: can never apply
  EXPECT_NE(outcomes[b2.id()].status.message().find("earlier transaction"), std::string::npos);
  EXPECT_FALSE(outcomes.count(d1.id()));  // still valid: still pending
  EXPECT_EQ(pool.size(), 1u);
  // A freed nonce can be used again.
  EXPECT_EQ(pool.next_nonce(bob.public_key(), bob.public_key()), 1u);
  // Rate limit: a second pass right away does nothing.
  EXPECT_TRUE(pool.recheck(std::chrono::milliseconds(0), std::chrono::hours(1)).empty());
}

// Rejected while still queued: take() never hands it out.
TEST(Mempool, RecheckedTransactionsLeaveTheQueue) {
  TempDb tmp("mempool-recheck-queue");
  Chain chain(*tmp.db, test_genesis());
  Mempool pool(chain);
  auto bob = key(2), carol = key(3);
  uint64_t ts = guts::unix_millis();
  ASSERT_TRUE(pool.submit(own_tx(bob, 1, RegisterUser{"taken"}, ts), [](const TxOutcome&) {}).ok());
  auto other = chain.build(chain.head().id, pending({own_tx(carol, 1, RegisterUser{"taken"}, ts)}),
                           1, ts, key(200).public_key());
  chain.commit(other.block);
  EXPECT_EQ(pool.recheck(std::chrono::milliseconds(0), std::chrono::milliseconds(0)).size(), 1u);
  EXPECT_TRUE(pool.take(100).empty());
}

// Genesis accounts are applied by the executor before block 1, commit through the genesis id,
// and leave a genesis without accounts exactly as it was (id and encoding).
TEST(Chain, GenesisAccountsAndRepositories) {
  auto plain = test_genesis();
  auto with = plain;
  auto alice = key(1);
  with.accounts.push_back({alice.public_key(), "alice", {"hello", "tools"}});
  EXPECT_NE(with.id(), plain.id());
  EXPECT_NE(with.initial_state_root(), plain.initial_state_root());
  auto round = Genesis::from_json(with.to_json());
  EXPECT_EQ(round.id(), with.id());
  ASSERT_EQ(round.accounts.size(), 1u);
  EXPECT_EQ(round.accounts[0].repositories, (std::vector<std::string>{"hello", "tools"}));
  auto no_accounts = Genesis::from_json(plain.to_json());
  EXPECT_EQ(no_accounts.id(), plain.id());
  EXPECT_EQ(plain.to_json().find("accounts"), std::string::npos);

  TempDb tmp("chain-genesis-accounts");
  Chain chain(*tmp.db, with);
  auto view = chain.view();
  auto acc = view.account_by_username("alice");
  ASSERT_TRUE(acc.has_value());
  EXPECT_TRUE(view.repo_by_name(alice.public_key(), "hello").has_value());
  EXPECT_TRUE(view.repo_by_name(alice.public_key(), "tools").has_value());
  EXPECT_EQ(view.nonce(alice.public_key(), alice.public_key()), 3u);
  EXPECT_EQ(chain.head().height, 0u);
  // alice's next transaction carries nonce 4 and applies on top.
  uint64_t ts = guts::unix_millis();
  auto r = chain.build(chain.head().id,
                       pending({own_tx(alice, 4, CreateRepo{"more", "", false, "main"}, ts)}), 1,
                       ts, key(200).public_key());
  EXPECT_TRUE(r.rejected.empty());
  EXPECT_EQ(r.block.txs.size(), 1u);

  // A taken name makes the genesis unusable, on every node alike.
  auto bad = plain;
  bad.accounts.push_back({key(2).public_key(), "bob", {}});
  bad.accounts.push_back({key(3).public_key(), "bob", {}});
  TempDb tmp2("chain-genesis-bad");
  EXPECT_THROW(Chain(*tmp2.db, bad), Error);
}
