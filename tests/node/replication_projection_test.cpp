// The git projection with replication (node/git_projection.h): refs never point at objects a
// node lacks; a repository pushed to one node converges on another through ObjectSync; the
// seeding policy decides which repositories exist; a fork recovers its objects at startup.
#include <gtest/gtest.h>

#include "crypto/did.h"
#include "git/refs.h"
#include "node/git_projection.h"
#include "state/chain.h"
#include "storage/db.h"
#include "tests/replication/object_sync_fixture.h"
#include "tests/support/signed_tx.h"

namespace guts::node {
namespace {

using namespace testing;

constexpr uint64_t kT0 = 1795000000000;

state::Genesis genesis() {
  state::Genesis g;
  g.chain_id = "test-chain";
  g.genesis_time_ms = kT0 - 1000;
  g.validators.push_back({test_key(200).public_key(), ""});
  return g;
}

state::Transaction tx(uint8_t who, uint64_t nonce, state::TxBody body) {
  return test_support::signed_tx(test_key(who), "test-chain", nonce, std::move(body), kT0);
}

// A node's git side: chain, bare repositories, projection, p2p and replication.
struct GitNode {
  TempDir dir{"proj"};
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<state::Chain> chain;
  std::unique_ptr<git::RepoStore> store;
  api::PendingPushes pending;
  std::unique_ptr<GitProjection> proj;
  std::unique_ptr<Network> net;
  std::unique_ptr<ObjectSync> sync;

  explicit GitNode(uint8_t seed, SeedPolicy policy = {}, bool with_network = true) {
    db = storage::Db::open(dir.path / "db", state::Schema::families());
    chain = std::make_unique<state::Chain>(*db, genesis());
    store = std::make_unique<git::RepoStore>(dir.path);
    start_projection(policy);
    if (!with_network) return;
    net = std::make_unique<Network>(net_options(seed));
    sync = std::make_unique<ObjectSync>(*net, *store, fast_options());
    proj->set_object_sync(sync.get());
    net->start();
  }
  void start_projection(SeedPolicy policy = {}, bool attach = true, fs::path clean_stop = {}) {
    proj = std::make_unique<GitProjection>(*chain, *store, pending, std::move(policy));
    proj->retry_delay = 200ms;
    proj->set_clean_stop_file(std::move(clean_stop));
    proj->reconcile_all();
    if (attach) proj->attach();
  }
  ~GitNode() {
    if (proj) proj->set_object_sync(nullptr);
    if (sync) sync->stop();
    if (net) net->stop();
    sync.reset();
    net.reset();
    proj.reset();
    chain.reset();
    db.reset();
  }
  crypto::PublicKey pk() const { return net->transport().id(); }
  fs::path repo(uint64_t id) { return store->path_for(api::git_repo_key(id)); }
  std::string ref(uint64_t id, const std::string& name) {
    for (const auto& r : git::list_refs(repo(id)))
      if (r.name == name) return r.oid;
    return {};
  }
};

// Builds a block of `txs` on `builder`'s head (every node shares the genesis).
state::Block make_block(GitNode& builder, std::vector<state::Transaction> txs) {
  std::vector<state::PendingTx> p;
  for (auto& t : txs) p.push_back({std::move(t), false});
  auto h = builder.chain->head();
  auto r = builder.chain->build(h.id, std::move(p), h.height + 1, kT0 + h.height + 1,
                                test_key(200).public_key());
  EXPECT_EQ(r.rejected.size(), 0u);
  return r.block;
}

struct History {
  TempDir tmp{"hist"};
  WorkRepo work{tmp.path / "work"};
  std::string c1 = work.commit("a.txt", "one\n", "first");
  std::string c2 = work.commit("b.txt", "two\n", "second");
};

TEST(ReplicationProjection, RefsMoveOnlyOnceObjectsAreReplicated) {
  History h;
  GitNode a(1), b(2);
  auto b1 = make_block(a, {tx(1, 1, state::RegisterUser{"alice"}),
                           tx(1, 2, state::CreateRepo{"r", "", false, "main"})});
  a.chain->commit(b1);
  b.chain->commit(b1);
  ASSERT_TRUE(fs::exists(b.repo(1)));
  // The push reached node a only: its objects are in a's repository when the block commits.
  git::ingest_pack(a.repo(1), git::source_from(as_bytes(h.work.pack({h.c2}, {}))), {h.c2});
  auto b2 = make_block(
      a, {tx(1, 3, state::UpdateRefs{1, {{"refs/heads/main", {}, *hex_decode(h.c2)}}, false})});
  a.chain->commit(b2);
  EXPECT_EQ(a.ref(1, "refs/heads/main"), h.c2);
  EXPECT_FALSE(a.proj->replicating(1));

  // Node b is not connected yet: its refs must not move to objects it lacks.
  b.chain->commit(b2);
  EXPECT_TRUE(b.proj->replicating(1));
  EXPECT_EQ(b.ref(1, "refs/heads/main"), "");
  connect(a, b);  // a announces that it hosts everything; b's retry finds it
  ASSERT_TRUE(eventually([&] { return !b.proj->replicating(1); }));
  EXPECT_EQ(b.ref(1, "refs/heads/main"), h.c2);
  git_ok(b.repo(1), {"fsck", "--strict"});
  EXPECT_EQ(git_ok(b.repo(1), {"cat-file", "commit", h.c2}),
            git_ok(a.repo(1), {"cat-file", "commit", h.c2}));
}

TEST(ReplicationProjection, SeedingPolicyDecidesWhatIsHosted) {
  GitNode a(1);
  crypto::Seed s;
  s.fill(2);
  auto bob_did = crypto::did_from_key(crypto::SigningKey::from_seed(s).public_key());
  GitNode c(3, parse_seed_policy({"repo:alice/web", "follow:" + bob_did}));
  auto blk = make_block(a, {tx(1, 1, state::RegisterUser{"alice"}),
                            tx(1, 2, state::CreateRepo{"web", "", false, "main"}),
                            tx(1, 3, state::CreateRepo{"other", "", false, "main"}),
                            tx(2, 1, state::RegisterUser{"bob"}),
                            tx(2, 2, state::CreateRepo{"anything", "", false, "main"})});
  a.chain->commit(blk);
  c.chain->commit(blk);
  EXPECT_TRUE(a.proj->hosts(2));
  EXPECT_TRUE(fs::exists(a.repo(2)));
  EXPECT_TRUE(c.proj->hosts(1));
  EXPECT_FALSE(c.proj->hosts(2));
  EXPECT_TRUE(c.proj->hosts(3));
  EXPECT_TRUE(fs::exists(c.repo(1)));
  EXPECT_FALSE(fs::exists(c.repo(2)));
  EXPECT_TRUE(fs::exists(c.repo(3)));
  // A rename out of the policy drops the repository (to the trash).
  auto rn = make_block(a, {tx(1, 4, state::UpdateRepo{1, std::string("web2"), {}, {}, {}, {}})});
  a.chain->commit(rn);
  c.chain->commit(rn);
  EXPECT_FALSE(c.proj->hosts(1));
  EXPECT_FALSE(fs::exists(c.repo(1)));
}

TEST(ReplicationProjection, ForkSeededAtRecoveryAfterACrashBeforeSeeding) {
  History h;
  GitNode n(1, {}, false);
  auto b1 = make_block(n, {tx(1, 1, state::RegisterUser{"alice"}),
                           tx(1, 2, state::CreateRepo{"r", "", false, "main"}),
                           tx(2, 1, state::RegisterUser{"bob"})});
  n.chain->commit(b1);
  git::ingest_pack(n.repo(1), git::source_from(as_bytes(h.work.pack({h.c2}, {}))), {h.c2});
  n.chain->commit(make_block(
      n, {tx(1, 3, state::UpdateRefs{1, {{"refs/heads/main", {}, *hex_decode(h.c2)}}, false})}));
  ASSERT_EQ(n.ref(1, "refs/heads/main"), h.c2);
  // The fork commits, then the node "crashes" before the projection ran: no listener.
  n.proj.reset();
  n.chain.reset();
  n.chain = std::make_unique<state::Chain>(*n.db, genesis());
  n.chain->commit(make_block(n, {tx(2, 2, state::ForkRepo{1, "f", false})}));
  EXPECT_FALSE(fs::exists(n.repo(2)));
  // Restart: recovery creates the fork and seeds it from its local parent.
  n.start_projection();
  EXPECT_EQ(n.ref(2, "refs/heads/main"), h.c2);
  EXPECT_FALSE(n.proj->replicating(2));
  git_ok(n.repo(2), {"fsck", "--strict"});
}

TEST(ReplicationProjection, MissingObjectsWithoutReplicationKeepRefsAndMarkReplicating) {
  History h;
  GitNode n(1, {}, false);
  n.chain->commit(make_block(n, {tx(1, 1, state::RegisterUser{"alice"}),
                                 tx(1, 2, state::CreateRepo{"r", "", false, "main"})}));
  n.chain->commit(make_block(
      n, {tx(1, 3, state::UpdateRefs{1, {{"refs/heads/main", {}, *hex_decode(h.c1)}}, false})}));
  EXPECT_TRUE(n.proj->replicating(1));
  EXPECT_EQ(n.ref(1, "refs/heads/main"), "");
  // The objects show up locally (e.g. a push of the same commit): the next sync moves the ref.
  git::ingest_pack(n.repo(1), git::source_from(as_bytes(h.work.pack({h.c1}, {}))), {h.c1});
  n.proj->reconcile_all();
  EXPECT_FALSE(n.proj->replicating(1));
  EXPECT_EQ(n.ref(1, "refs/heads/main"), h.c1);
}

TEST(ReplicationProjection, CleanStopRecordSkipsTheVisitAtItsHeightOnly) {
  History h;
  GitNode n(1, {}, false);
  const fs::path record = n.dir.path / "git-projection.clean";
  // A restart: a new chain over the same database (the old one holds the old listener).
  auto restart = [&](SeedPolicy policy = {}) {
    n.proj.reset();
    n.chain = std::make_unique<state::Chain>(*n.db, genesis());
    n.start_projection(std::move(policy), true, record);
  };
  restart();
  n.chain->commit(make_block(n, {tx(1, 1, state::RegisterUser{"alice"}),
                                 tx(1, 2, state::CreateRepo{"r", "", false, "main"})}));
  git::ingest_pack(n.repo(1), git::source_from(as_bytes(h.work.pack({h.c2}, {}))), {h.c2});
  n.chain->commit(make_block(
      n, {tx(1, 3, state::UpdateRefs{1, {{"refs/heads/main", {}, *hex_decode(h.c1)}}, false})}));
  ASSERT_EQ(n.ref(1, "refs/heads/main"), h.c1);

  // A clean stop at this height: the next start trusts the repositories as they are, which the
  // ref removed behind the projection's back shows, and consumes the record.
  n.proj->record_clean_stop();
  ASSERT_TRUE(fs::exists(record));
  git_ok(n.repo(1), {"update-ref", "-d", "refs/heads/main"});
  restart();
  EXPECT_FALSE(n.proj->last_reconcile_was_full());
  EXPECT_FALSE(fs::exists(record));
  EXPECT_EQ(n.ref(1, "refs/heads/main"), "");

  // No record (a crash): every repository is converged.
  restart();
  EXPECT_TRUE(n.proj->last_reconcile_was_full());
  EXPECT_EQ(n.ref(1, "refs/heads/main"), h.c1);

  // A record of an older height (blocks committed after it, e.g. before a crash): converged.
  n.proj->record_clean_stop();
  n.chain->commit(make_block(
      n, {tx(1, 4,
             state::UpdateRefs{
                 1, {{"refs/heads/main", *hex_decode(h.c1), *hex_decode(h.c2)}}, false})}));
  git_ok(n.repo(1), {"update-ref", "refs/heads/main", h.c1});
  restart();
  EXPECT_TRUE(n.proj->last_reconcile_was_full());
  EXPECT_EQ(n.ref(1, "refs/heads/main"), h.c2);

  // Another seeding policy than the record's: converged.
  n.proj->record_clean_stop();
  restart(parse_seed_policy({"repo:alice/r"}));
  EXPECT_TRUE(n.proj->last_reconcile_was_full());
  EXPECT_TRUE(n.proj->hosts(1));

  // A repository waiting for objects: no record is written.
  restart();
  n.chain->commit(make_block(n, {tx(1, 5, state::CreateRepo{"s", "", false, "main"})}));
  n.chain->commit(make_block(
      n, {tx(1, 6, state::UpdateRefs{2, {{"refs/heads/main", {}, *hex_decode(h.c1)}}, false})}));
  ASSERT_TRUE(n.proj->replicating(2));
  n.proj->record_clean_stop();
  EXPECT_FALSE(fs::exists(record));
}

}  // namespace
}  // namespace guts::node
