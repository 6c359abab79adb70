// Discovery and gossip over real loopback sockets: in-process nodes (Transport + Discovery +
// a RocksDB address book each), ports chosen by the kernel, every wait bounded by a deadline.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "core/time.h"
#include "crypto/did.h"
#include "p2p/discovery.h"
#include "p2p/transport.h"
#include "storage/db.h"

using namespace guts;
using namespace guts::p2p;
using namespace std::chrono_literals;

namespace {

const std::string kNet = "guts-test";
constexpr auto kDeadline = 30s;

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s;
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds d = kDeadline) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TransportConfig transport_config() {
  TransportConfig c;
  c.handshake_timeout = 2000ms;
  c.ping_interval = 200ms;
  c.idle_timeout = 3000ms;
  c.write_stall_timeout = 3000ms;
  return c;
}

DiscoveryConfig discovery_config() {
  DiscoveryConfig c;
  c.listen_host = "127.0.0.1";
  c.target_outbound = 3;
  c.tick = 50ms;
  c.dial_timeout = 1000ms;
  c.get_peers_interval = 200ms;
  c.book.backoff_unit_ms = 50;
  c.book.backoff_cap_ms = 1000;
  return c;
}

// One node: its own data directory (address book), transport and discovery. kill() tears the
// node down (sockets closed, threads joined); start() brings it back with the same identity and
// data directory but a new port and a new Noise static key, as a restarted process would.
struct PeerNode {
  crypto::SigningKey sk;
  std::filesystem::path dir;
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<Transport> t;
  std::unique_ptr<Discovery> d;

  PeerNode(uint8_t seed, const std::string& tag) : sk(key(seed)) {
    dir = std::filesystem::temp_directory_path() /
          ("guts-disc-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(seed));
    std::filesystem::remove_all(dir);
  }
  ~PeerNode() {
    kill();
    std::filesystem::remove_all(dir);
  }
  const crypto::PublicKey& pk() const { return sk.public_key(); }

  void start(std::vector<BootstrapPeer> bootstrap, std::vector<std::string> repos,
             DiscoveryConfig cfg = discovery_config(),
             const std::function<void(Discovery&)>& before_start = {}) {
    db = storage::Db::open(dir, {std::string(AddressBook::kFamily)});
    auto id = LocalIdentity::create(sk, kNet);
    t = std::make_unique<Transport>(id, transport_config());
    cfg.bootstrap = std::move(bootstrap);
    d = std::make_unique<Discovery>(*t, id, db.get(), cfg);
    if (before_start) before_start(*d);
    d->attach();
    t->start();
    d->set_inventory(std::move(repos));
    d->start();
  }
  void kill() {
    if (d) d->stop();
    if (t) t->stop();  // before d is destroyed: its handlers use d
    d.reset();
    t.reset();
    db.reset();
  }
  BootstrapPeer as_bootstrap() const { return {pk(), {"127.0.0.1", t->port()}}; }
  std::set<crypto::PublicKey> connected() {
    std::set<crypto::PublicKey> s;
    for (const auto& p : t->peers()) s.insert(p.id);
    return s;
  }
};

gossip::RoutingTable expected_table(const std::vector<std::unique_ptr<PeerNode>>& nodes,
                                    const std::map<size_t, std::vector<std::string>>& repos) {
  gossip::RoutingTable t;
  for (const auto& [i, rs] : repos) {
    for (const auto& r : rs) t[r].insert(nodes[i]->pk());
  }
  return t;
}

}  // namespace

// Five nodes that know only node 0 find each other, connect beyond the bootstrap peer, agree on
// one routing table, and recover when node 3 is killed and restarted with a new port, no
// bootstrap flag (its persisted address book suffices) and a changed inventory.
TEST(DiscoveryIntegration, FiveNodesFromOneBootstrapConvergeAndSurviveRestart) {
  constexpr size_t kN = 5;
  std::vector<std::unique_ptr<PeerNode>> nodes;
  std::map<size_t, std::vector<std::string>> repos;
  for (size_t i = 0; i < kN; ++i) {
    nodes.push_back(std::make_unique<PeerNode>(static_cast<uint8_t>(i + 1), "five"));
    repos[i] = {"shared", "only-" + std::to_string(i)};
  }
  auto t0 = std::chrono::steady_clock::now();
  nodes[0]->start({}, repos[0]);
  auto boot = nodes[0]->as_bootstrap();
  for (size_t i = 1; i < kN; ++i) nodes[i]->start({boot}, repos[i]);

  auto converged = [&] {
    auto want = expected_table(nodes, repos);
    for (auto& n : nodes) {
      if (n->d->routing_table() != want || n->d->known_nodes().size() != kN) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(converged)) << "routing tables did not converge";
  auto t_converged = std::chrono::steady_clock::now();
  // Each node reaches its outbound target; nodes 1..4 talk to someone besides the bootstrap.
  ASSERT_TRUE(eventually([&] {
    for (size_t i = 0; i < kN; ++i) {
      auto c = nodes[i]->connected();
      if (c.size() < 3) return false;
      if (i > 0 && c == std::set<crypto::PublicKey>{nodes[0]->pk()}) return false;
    }
    return true;
  }));
  for (auto& n : nodes) {
    auto m = n->d->metrics();
    EXPECT_EQ(m["p2p_peers_blocked_total"], 0u);
    EXPECT_GE(m["p2p_address_book_entries"], kN - 1);
    EXPECT_EQ(m["p2p_known_nodes"], kN);
    // Everything this node knows came once per node and kind; repeats were dropped, not relayed.
    EXPECT_GT(m["p2p_gossip_total{type=\"node\",result=\"accepted\"}"], 0u);
  }

  // Kill node 3; the others notice; restart it elsewhere with a different inventory.
  auto old_port = nodes[3]->t->port();
  nodes[3]->kill();
  ASSERT_TRUE(eventually([&] {
    for (size_t i = 0; i < kN; ++i) {
      if (i != 3 && nodes[i]->connected().count(nodes[3]->pk())) return false;
    }
    return true;
  }));
  repos[3] = {"shared", "only-3-v2"};
  auto t_restart = std::chrono::steady_clock::now();
  nodes[3]->start({}, repos[3]);
  ASSERT_NE(nodes[3]->t->port(), 0);
  ASSERT_TRUE(eventually(converged)) << "no convergence after the restart";
  auto t_reconverged = std::chrono::steady_clock::now();
  EXPECT_FALSE(nodes[0]->d->routing_table().count("only-3"));
  // The others learnt the new address from its new announcement.
  auto new_addr = "127.0.0.1:" + std::to_string(nodes[3]->t->port());
  ASSERT_TRUE(eventually([&] {
    for (size_t i = 0; i < kN; ++i) {
      if (i == 3) continue;
      auto e = nodes[i]->d->address_book();
      bool found = false;
      for (const auto& a : e) {
        if (a.id == nodes[3]->pk() && !a.addresses.empty() && a.addresses[0] == new_addr)
          found = true;
      }
      if (!found) return false;
    }
    return true;
  }));
  EXPECT_TRUE(eventually([&] { return nodes[3]->connected().size() >= 3; }));
  (void)old_port;
  auto ms = [](auto a, auto b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  };
  std::printf("converged in %lld ms; reconverged %lld ms after the restart\n",
              static_cast<long long>(ms(t0, t_converged)),
              static_cast<long long>(ms(t_restart, t_reconverged)));
}

// A peer sending an undecodable or forged gossip message is blocked; an honest one is not.
TEST(DiscoveryIntegration, InvalidGossipBlocksTheSender) {
  PeerNode honest(1, "block");
  honest.start({}, {"r"});
  for (int variant = 0; variant < 2; ++variant) {
    auto bad_key = key(static_cast<uint8_t>(50 + variant));
    Transport bad(LocalIdentity::create(bad_key, kNet), transport_config());
    bad.start();
    bad.dial(honest.pk(), "127.0.0.1", honest.t->port());
    ASSERT_TRUE(eventually([&] { return bad.connected(honest.pk()); }));
    Bytes msg;
    if (variant == 0) {
      msg = {static_cast<uint8_t>(gossip::Type::kInventory), 1, 2, 3};  // truncated
    } else {
      gossip::NodeAnnouncement a;
      a.timestamp = unix_millis();
      a.sign(bad_key, kNet);
      a.user_agent = "changed after signing";
      msg = a.encode();
    }
    ASSERT_TRUE(bad.send(honest.pk(), channel::kGossip, msg));
    EXPECT_TRUE(eventually([&] { return honest.t->is_blocked(bad_key.public_key()); }));
    EXPECT_TRUE(eventually([&] { return !bad.connected(honest.pk()); }));
    bad.stop();
  }
  auto m = honest.d->metrics();
  EXPECT_EQ(m["p2p_gossip_total{type=\"inventory\",result=\"violation\"}"], 1u);
  EXPECT_EQ(m["p2p_gossip_total{type=\"node\",result=\"violation\"}"], 1u);
  // A well-behaved peer learns the honest node's routing entry.
  PeerNode good(2, "block");
  good.start({honest.as_bootstrap()}, {});
  EXPECT_TRUE(eventually([&] { return good.d->nodes_for("r").count(honest.pk()) == 1; }));
  EXPECT_FALSE(honest.t->is_blocked(good.pk()));
}

// Refs announcements reach every node, and the handler sees each once.
TEST(DiscoveryIntegration, RefsAnnouncementsPropagate) {
  PeerNode a(1, "refs"), b(2, "refs"), c(3, "refs");
  std::mutex mu;
  std::map<uint8_t, int> seen;
  a.start({}, {"repo"});
  for (auto* n : {&b, &c}) {
    uint8_t tag = n == &b ? 2 : 3;
    n->start({a.as_bootstrap()}, {}, discovery_config(), [&, tag](Discovery& d) {
      d.on_refs([&, tag](const gossip::RefsAnnouncement& r) {
        std::lock_guard l(mu);
        if (r.repo == "repo") ++seen[tag];
      });
    });
  }
  ASSERT_TRUE(
      eventually([&] { return b.d->known_nodes().size() == 3 && c.d->known_nodes().size() == 3; }));
  a.d->announce_refs("repo", {{"refs/heads/main", Bytes(20, 0xab)}});
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(mu);
    return seen[2] == 1 && seen[3] == 1;
  }));
  // b and c each accepted it once; copies relayed between them were dropped as duplicates.
  EXPECT_TRUE(eventually([&] {
    auto mb = b.d->metrics(), mc = c.d->metrics();
    return mb["p2p_gossip_total{type=\"refs\",result=\"accepted\"}"] == 1 &&
           mc["p2p_gossip_total{type=\"refs\",result=\"accepted\"}"] == 1;
  }));
  std::lock_guard l(mu);
  EXPECT_EQ(seen[2], 1);
  EXPECT_EQ(seen[3], 1);
}
