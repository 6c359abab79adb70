// ObjectSync (replication/object_sync.h): replication of git objects between in-process nodes over
// real loopback p2p sessions and the real git binary.
#include "replication/object_sync.h"

#include <gtest/gtest.h>

#include "git/receive.h"
#include "git/refs.h"
#include "tests/replication/object_sync_fixture.h"

namespace guts::node {
namespace {

using namespace testing;

struct History {
  TempDir tmp{"hist"};
  WorkRepo work{tmp.path / "work"};
  std::string c1, c2;
  History() {
    c1 = work.commit("a.txt", "one\n", "first");
    c2 = work.commit("b/c.txt", std::string(3000, 'y') + "\n", "second");
  }
};

TEST(ObjectSync, FetchesFromAHintedPeerWithoutMovingRefs) {
  History h;
  Peer a(1), b(2);
  a.host(1, h.work, h.c2);
  connect(a, b);
  Outcome out;
  b.sync->ensure(1, {h.c2}, {a.pk()}, std::chrono::steady_clock::now() + kWait, out.done());
  ASSERT_TRUE(out.wait());
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.calls, 1);
  EXPECT_TRUE(git::has_closure(b.repo(1), {h.c2}, false));
  EXPECT_TRUE(git::list_refs(b.repo(1)).empty());  // refs move only in the projection
  EXPECT_TRUE(git::Quarantine::list(b.repo(1)).empty());
  EXPECT_EQ(git_ok(b.repo(1), {"cat-file", "commit", h.c2}),
            git_ok(a.repo(1), {"cat-file", "commit", h.c2}));
  EXPECT_EQ(git_ok(b.repo(1), {"rev-parse", h.c2 + "^{tree}"}),
            git_ok(a.repo(1), {"rev-parse", h.c2 + "^{tree}"}));
  EXPECT_EQ(b.sync->stats().packs_fetched, 1u);
  EXPECT_EQ(a.sync->stats().requests_served, 1u);

  // Already there: answered after the check (on ObjectSync's checker thread), nobody asked.
  Outcome again;
  b.sync->ensure(1, {h.c2, h.c1}, {a.pk()}, std::chrono::steady_clock::now() + kWait, again.done());
  EXPECT_TRUE(again.wait());
  EXPECT_TRUE(again.ok);
  EXPECT_EQ(b.sync->stats().attempts, 1u);
}

TEST(ObjectSync, IncrementalFetchSendsOnlyNewObjects) {
  History h;
  Peer a(1), b(2);
  a.host(1, h.work, h.c1);
  connect(a, b);
  Outcome first;
  b.sync->ensure(1, {h.c1}, {a.pk()}, std::chrono::steady_clock::now() + kWait, first.done());
  ASSERT_TRUE(first.wait() && first.ok);
  git_ok(b.repo(1), {"update-ref", "refs/heads/main", h.c1});  // what the projection would do
  git::ingest_pack(a.repo(1), git::source_from(as_bytes(h.work.pack({h.c2}, {h.c1}))), {h.c2});
  Outcome second;
  b.sync->ensure(1, {h.c2}, {a.pk()}, std::chrono::steady_clock::now() + kWait, second.done());
  ASSERT_TRUE(second.wait() && second.ok);
  EXPECT_TRUE(git::has_closure(b.repo(1), {h.c2}, false));
  git_ok(b.repo(1), {"update-ref", "refs/heads/main", h.c2});
  git_ok(b.repo(1), {"fsck", "--strict"});
}

TEST(ObjectSync, ServesObjectsOfAPushWaitingForConsensus) {
  History h;
  Peer a(1), b(2);
  a.host(1, h.work, h.c1);
  // The push of c2 to node a sits in a quarantine until its block is finalized.
  auto q = git::Quarantine::create(a.repo(1));
  git::index_pack(q, git::source_from(as_bytes(h.work.pack({h.c2}, {h.c1}))),
                  git::ReceiveOptions{});
  connect(a, b);
  state::Block block;
  state::Transaction tx;
  tx.body =
      state::UpdateRefs{1, {{"refs/heads/main", *hex_decode(h.c1), *hex_decode(h.c2)}}, false};
  block.txs.push_back(tx);
  auto need = ObjectSync::objects_needed(block);
  ASSERT_EQ(need.size(), 1u);
  EXPECT_EQ(need[1], std::vector<std::string>{h.c2});
  Outcome out;
  b.sync->ensure_block(block, {a.pk()}, std::chrono::steady_clock::now() + kWait, out.done());
  ASSERT_TRUE(out.wait());
  EXPECT_TRUE(out.ok);
  EXPECT_TRUE(git::has_closure(b.repo(1), {h.c2}, false));
  // On a itself the quarantine counts: nothing to fetch.
  Outcome local;
  a.sync->ensure_block(block, {}, std::chrono::steady_clock::now() + kWait, local.done());
  EXPECT_TRUE(local.wait() && local.ok);
  EXPECT_EQ(a.sync->stats().attempts, 0u);
  // A block without ref updates needs nothing.
  Outcome none;
  b.sync->ensure_block(state::Block{}, {}, std::chrono::steady_clock::now() + kWait, none.done());
  EXPECT_TRUE(none.wait(0ms) && none.ok);
}

TEST(ObjectSync, TamperedPackIsRejectedThePeerBlockedAndAnotherPeerServes) {
  History h;
  Peer a(1), b(2);
  FakePeer evil(3);
  a.host(1, h.work, h.c2);
  std::string good = h.work.pack({h.c2}, {});
  evil.on_want = [&](const crypto::PublicKey& to, const wire::Want& w) {
    std::string bad = good;
    bad[12 + (bad.size() - 32) / 2] ^= 0x01;  // a flipped bit inside the objects
    evil.send_pack(to, w.request_id, bad);
  };
  connect(a, b);
  connect(evil, b);
  Outcome out;
  b.sync->ensure(1, {h.c2}, {evil.pk(), a.pk()}, std::chrono::steady_clock::now() + kWait,
                 out.done());
  ASSERT_TRUE(out.wait());
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(evil.want_count(), 1u);
  EXPECT_TRUE(b.net->transport().is_blocked(evil.pk()));
  EXPECT_FALSE(b.net->transport().is_blocked(a.pk()));
  auto st = b.sync->stats();
  EXPECT_EQ(st.packs_rejected, 1u);
  EXPECT_EQ(st.packs_fetched, 1u);
  EXPECT_TRUE(git::Quarantine::list(b.repo(1)).empty());
  git_ok(b.repo(1), {"update-ref", "refs/heads/main", h.c2});
  git_ok(b.repo(1), {"fsck", "--strict"});
}

TEST(ObjectSync, PackMissingObjectsOrOtherTipsIsRejected) {
  History h;
  Peer b(2);
  FakePeer evil(3), evil2(4);
  auto only_commit =
      git::testing::git_run(h.work.dir, {"pack-objects", "--stdout", "-q"}, h.c2 + "\n").out;
  evil.on_want = [&](const crypto::PublicKey& to, const wire::Want& w) {
    evil.send_pack(to, w.request_id, only_commit);
  };
  // A complete, valid pack — of c1 only.
  auto other = h.work.pack({h.c1}, {});
  evil2.on_want = [&](const crypto::PublicKey& to, const wire::Want& w) {
    evil2.send_pack(to, w.request_id, other);
  };
  connect(evil, b);
  connect(evil2, b);
  Outcome out;
  b.sync->ensure(1, {h.c2}, {evil.pk(), evil2.pk()}, std::chrono::steady_clock::now() + 3s,
                 out.done());
  ASSERT_TRUE(eventually([&] {
    return b.net->transport().is_blocked(evil.pk()) && b.net->transport().is_blocked(evil2.pk());
  }));
  ASSERT_TRUE(out.wait());
  EXPECT_FALSE(out.ok);  // nobody honest had it
  EXPECT_EQ(b.sync->stats().packs_rejected, 2u);
  EXPECT_FALSE(git::has_closure(b.repo(1), {h.c1}, true));  // not even c1 got in
  EXPECT_TRUE(git::Quarantine::list(b.repo(1)).empty());
}

TEST(ObjectSync, ConcurrentEnsuresShareOneFetch) {
  History h;
  Peer b(2);
  FakePeer slow(3);
  connect(slow, b);
  // The first request is held until both callers wait on it.
  Outcome o1, o2;
  auto deadline = std::chrono::steady_clock::now() + kWait;
  b.sync->ensure(1, {h.c2, h.c1}, {slow.pk()}, deadline, o1.done());
  b.sync->ensure(1, {h.c1, h.c2, h.c1}, {slow.pk()}, deadline, o2.done());  // same set
  ASSERT_TRUE(eventually([&] { return slow.want_count() == 1; }));
  wire::Want w;
  {
    std::lock_guard l(slow.mu);
    w = slow.wants[0];
  }
  EXPECT_EQ(w.wants.size(), 2u);
  slow.send_pack(b.pk(), w.request_id, h.work.pack({h.c2}, {}));
  ASSERT_TRUE(o1.wait());
  ASSERT_TRUE(o2.wait());
  EXPECT_TRUE(o1.ok);
  EXPECT_TRUE(o2.ok);
  EXPECT_EQ(slow.want_count(), 1u);
  EXPECT_EQ(b.sync->stats().attempts, 1u);
}

TEST(ObjectSync, GivesUpAtTheDeadline) {
  History h;
  auto opts = fast_options();
  opts.attempt_idle_timeout = 60s;  // the deadline, not the idle timeout, ends it
  Peer b(2, opts);
  FakePeer silent(3);
  connect(silent, b);
  Outcome out;
  auto start = std::chrono::steady_clock::now();
  b.sync->ensure(1, {h.c2}, {silent.pk()}, start + 700ms, out.done());
  ASSERT_TRUE(out.wait(10s));
  EXPECT_FALSE(out.ok);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 650ms);
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(b.net->transport().is_blocked(silent.pk()));  // slow is not malicious
  // Nobody at all to ask: false at the deadline too.
  Peer lonely(5);
  Outcome alone;
  lonely.sync->ensure(1, {h.c2}, {}, std::chrono::steady_clock::now() + 300ms, alone.done());
  ASSERT_TRUE(alone.wait(10s));
  EXPECT_FALSE(alone.ok);
}

TEST(ObjectSync, NotFoundMovesOnAndInventoryFindsHosts) {
  History h;
  Peer a(1), b(2), c(3);
  a.host(7, h.work, h.c2);
  connect(a, b);
  connect(c, b);
  a.sync->set_inventory(false, {7, 3});
  c.sync->set_inventory(false, {8});
  // Both announced "everything" on connect: wait until the narrower inventories replaced those.
  ASSERT_TRUE(eventually([&] {
    return b.sync->hosting_peers(7) == std::vector{a.pk()} &&
           b.sync->hosting_peers(8) == std::vector{c.pk()};
  }));
  // c, asked first, does not host repository 7 (NotFound, not punished); a is found through
  // its inventory.
  Outcome out;
  b.sync->ensure(7, {h.c2}, {c.pk()}, std::chrono::steady_clock::now() + kWait, out.done());
  ASSERT_TRUE(out.wait());
  EXPECT_TRUE(out.ok);
  EXPECT_FALSE(b.net->transport().is_blocked(c.pk()));
  EXPECT_EQ(c.sync->stats().requests_refused, 1u);
  // An inventory announced after connecting replaces the previous one.
  a.sync->set_inventory(true, {});
  ASSERT_TRUE(eventually([&] { return b.sync->hosting_peers(12345) == std::vector{a.pk()}; }));
}

TEST(ObjectSync, MalformedMessagesAndOutOfOrderChunksBlockThePeer) {
  History h;
  Peer b(2);
  FakePeer garbage(3), disorder(4);
  connect(garbage, b);
  connect(disorder, b);
  EXPECT_TRUE(garbage.net->transport().send(b.pk(), p2p::channel::kGit, Bytes{0x09, 0x01}));
  ASSERT_TRUE(eventually([&] { return b.net->transport().is_blocked(garbage.pk()); }));
  disorder.on_want = [&](const crypto::PublicKey& to, const wire::Want& w) {
    wire::PackChunk c{w.request_id, 5, false, Bytes(10, 1)};
    disorder.net->transport().send(to, p2p::channel::kGit, wire::encode(c));
  };
  Outcome out;
  b.sync->ensure(1, {h.c2}, {disorder.pk()}, std::chrono::steady_clock::now() + 2s, out.done());
  ASSERT_TRUE(eventually([&] { return b.net->transport().is_blocked(disorder.pk()); }));
  ASSERT_TRUE(out.wait());
  EXPECT_FALSE(out.ok);
}

TEST(ObjectSync, AJobWaitingToRetryDoesNotHoldAThread) {
  History h;
  auto opts = fast_options();
  opts.client_threads = 1;
  Peer a(1), b(2, opts);
  a.host(1, h.work, h.c2);
  connect(a, b);
  Outcome stuck, served;
  // Nobody has repository 99: its job keeps retrying until its deadline, off the thread.
  b.sync->ensure(99, {h.c1}, {}, std::chrono::steady_clock::now() + 60s, stuck.done());
  b.sync->ensure(1, {h.c2}, {a.pk()}, std::chrono::steady_clock::now() + kWait, served.done());
  ASSERT_TRUE(served.wait(10s));
  EXPECT_TRUE(served.ok);
  EXPECT_FALSE(stuck.wait(0ms));
}

TEST(ObjectSync, StopFailsWaitingCallers) {
  History h;
  Peer b(2);
  Outcome out;
  b.sync->ensure(1, {h.c2}, {}, std::chrono::steady_clock::now() + 60s, out.done());
  b.sync->stop();
  ASSERT_TRUE(out.wait(5s));
  EXPECT_FALSE(out.ok);
  Outcome late;
  b.sync->ensure(1, {h.c2}, {}, std::chrono::steady_clock::now() + 60s, late.done());
  EXPECT_TRUE(late.wait(0ms));
  EXPECT_FALSE(late.ok);
}

}  // namespace
}  // namespace guts::node
