// Discovery's pure parts: the strict host:port and bootstrap parsers, the address book (backoff
// 2^n capped, expiry, candidate choice, RocksDB persistence across a reopen), the Prometheus
// renderer (p2p/address_book.h) and the discovery state machine (p2p/discovery_core.h). The
// driver over a real transport is covered by discovery_integration_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "codec/codec.h"
#include "core/status.h"
#include "crypto/did.h"
#include "p2p/address_book.h"
#include "p2p/discovery_core.h"
#include "storage/db.h"
#include "tests/support/keys.h"

using namespace guts;
using namespace guts::p2p;

namespace {

const std::string kNet = "guts-test";

crypto::SigningKey key(uint8_t b) {
  return test_support::fixed_key(b);
}

gossip::NodeAnnouncement ann(const crypto::SigningKey& k, uint64_t ts,
                             std::vector<std::string> addrs) {
  gossip::NodeAnnouncement a;
  a.timestamp = ts;
  a.addresses = std::move(addrs);
  a.sign(k, kNet);
  return a;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("guts-discovery-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST(HostPort, AcceptsCanonicalForms) {
  EXPECT_EQ(parse_host_port("127.0.0.1:9000"), (HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(parse_host_port("[::1]:1"), (HostPort{"::1", 1}));
  EXPECT_EQ(parse_host_port("[2001:db8::7]:65535"), (HostPort{"2001:db8::7", 65535}));
  EXPECT_EQ(parse_host_port("seed-1.guts.example:443"), (HostPort{"seed-1.guts.example", 443}));
  EXPECT_EQ(parse_host_port("localhost:8"), (HostPort{"localhost", 8}));
  for (auto s : {"127.0.0.1:9000", "[::1]:1", "seed-1.guts.example:443"}) {
    EXPECT_EQ(parse_host_port(s).to_string(), s);
  }
}

TEST(HostPort, RejectsEverythingElse) {
  for (const std::string& s : std::vector<std::string>{"",
                                                       ":",
                                                       "host",
                                                       "host:",
                                                       ":80",
                                                       "host:0",
                                                       "host:65536",
                                                       "host:08",
                                                       "host:+8",
                                                       "host:8 ",
                                                       " host:8",
                                                       "host:8x",
                                                       "1.2.3:80",
                                                       "1.2.3.4.5:80",
                                                       "256.0.0.1:80",
                                                       "01.2.3.4:80",
                                                       "::1:80",
                                                       "[::1]",
                                                       "[::1]80",
                                                       "[]:80",
                                                       "[::1:80",
                                                       "[fe80::1%eth0]:80",
                                                       "[1.2.3.4]:80",
                                                       "-host:80",
                                                       "host-:80",
                                                       "a..b:80",
                                                       "a.b.:80",
                                                       "ho_st:80",
                                                       "h\xc3\xa9:80",
                                                       "host:80:80",
                                                       std::string(64, 'a') + ".com:80",
                                                       std::string(300, 'a') + ":1",
                                                       std::string("a\0b:80", 6)}) {
    EXPECT_THROW(parse_host_port(s), Error) << s;
  }
  try {
    parse_host_port("host:99999");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("port"), std::string::npos);
  }
}

TEST(Bootstrap, ParsesDidAtHostPort) {
  auto did = crypto::did_from_key(key(1).public_key());
  auto b = parse_bootstrap(did + "@127.0.0.1:9000");
  EXPECT_EQ(b.id, key(1).public_key());
  EXPECT_EQ(b.addr, (HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(parse_bootstrap(did + "@[::1]:9").addr.host, "::1");
  for (const std::string& s : std::vector<std::string>{
           did, did + "@", "@127.0.0.1:9000", did + "@127.0.0.1", did + "@@127.0.0.1:9000",
           did + "@a@127.0.0.1:9000", did.substr(0, did.size() - 1) + "@127.0.0.1:9000",
           "did:web:example.com@127.0.0.1:9000", "z6Mk@127.0.0.1:9000",
           " " + did + "@127.0.0.1:9000", did + "@127.0.0.1:9000 "}) {
    EXPECT_THROW(parse_bootstrap(s), Error) << s;
  }
}

TEST(AddressBook, BackoffDoublesAndIsCapped) {
  AddressBookConfig c;
  c.backoff_unit_ms = 1000;
  c.backoff_cap_ms = 60'000;
  AddressBook book(nullptr, c);
  EXPECT_EQ(book.backoff(1), 2000u);
  EXPECT_EQ(book.backoff(2), 4000u);
  EXPECT_EQ(book.backoff(5), 32'000u);
  EXPECT_EQ(book.backoff(6), 60'000u);
  EXPECT_EQ(book.backoff(64), 60'000u);
  EXPECT_EQ(book.backoff(1000), 60'000u);

  auto peer = key(1).public_key();
  book.add_bootstrap({peer, {"127.0.0.1", 9000}});
  std::mt19937_64 rng(1);
  uint64_t now = 1'000'000;
  ASSERT_EQ(book.candidates(now, {}, 8, rng).size(), 1u);
  book.dial_failed(peer, now);
  EXPECT_TRUE(book.candidates(now + 1999, {}, 8, rng).empty());
  EXPECT_EQ(book.candidates(now + 2000, {}, 8, rng).size(), 1u);
  book.dial_failed(peer, now);
  EXPECT_TRUE(book.candidates(now + 3999, {}, 8, rng).empty());
  EXPECT_EQ(book.get(peer)->failures, 2u);
  book.connected(peer, now + 5000);
  EXPECT_EQ(book.get(peer)->failures, 0u);
  EXPECT_EQ(book.candidates(now + 5000, {}, 8, rng).size(), 1u);
  // Excluded (connected or being dialed) peers are not candidates.
  EXPECT_TRUE(book.candidates(now + 5000, {peer}, 8, rng).empty());
}

TEST(AddressBook, LearnsFromAnnouncementsAndRotatesAddresses) {
  AddressBook book(nullptr, {});
  auto k = key(2);
  auto a1 = ann(k, 100, {"10.0.0.1:1", "10.0.0.2:2"});
  EXPECT_TRUE(book.add_announcement(a1, a1.encode()));
  EXPECT_FALSE(book.add_announcement(a1, a1.encode()));  // not newer
  auto old = ann(k, 50, {"10.9.9.9:9"});
  EXPECT_FALSE(book.add_announcement(old, old.encode()));
  EXPECT_EQ(book.get(k.public_key())->addresses, a1.addresses);
  std::mt19937_64 rng(1);
  EXPECT_EQ(book.candidates(0, {}, 1, rng).at(0).addr.to_string(), "10.0.0.1:1");
  book.dial_failed(k.public_key(), 0);
  EXPECT_EQ(book.candidates(1'000'000, {}, 1, rng).at(0).addr.to_string(), "10.0.0.2:2");
  // New addresses reset the backoff.
  book.dial_failed(k.public_key(), 0);
  auto a2 = ann(k, 200, {"10.0.0.3:3"});
  EXPECT_TRUE(book.add_announcement(a2, a2.encode()));
  EXPECT_EQ(book.get(k.public_key())->failures, 0u);
  EXPECT_EQ(book.candidates(0, {}, 1, rng).at(0).addr.to_string(), "10.0.0.3:3");
  // A bootstrap peer keeps its configured address as a fallback.
  auto b = key(3);
  book.add_bootstrap({b.public_key(), {"192.168.1.1", 7}});
  auto a3 = ann(b, 300, {"10.0.0.4:4"});
  book.add_announcement(a3, a3.encode());
  EXPECT_EQ(book.get(b.public_key())->addresses,
            (std::vector<std::string>{"10.0.0.4:4", "192.168.1.1:7"}));
}

TEST(AddressBook, CandidatesPreferBootstrapAndKnownGood) {
  AddressBook book(nullptr, {});
  std::mt19937_64 rng(7);
  for (uint8_t i = 1; i <= 20; ++i) {
    auto a = ann(key(i), 100, {"10.0.0." + std::to_string(i) + ":1"});
    book.add_announcement(a, a.encode());
  }
  book.connected(key(5).public_key(), 1000);
  book.add_bootstrap({key(30).public_key(), {"10.1.1.1", 1}});
  for (int round = 0; round < 10; ++round) {
    auto c = book.candidates(2000, {}, 3, rng);
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].id, key(30).public_key());
    EXPECT_EQ(c[1].id, key(5).public_key());
  }
  EXPECT_EQ(book.candidates(2000, {}, 100, rng).size(), 21u);
}

TEST(AddressBook, ExpiresUnseenEntriesButNotBootstrap) {
  AddressBookConfig c;
  c.ttl_ms = 10'000;
  AddressBook book(nullptr, c);
  auto a = ann(key(1), 100'000, {"10.0.0.1:1"});
  book.add_announcement(a, a.encode());
  auto b = ann(key(2), 100'000, {"10.0.0.2:1"});
  book.add_announcement(b, b.encode());
  book.connected(key(2).public_key(), 105'000);
  book.add_bootstrap({key(3).public_key(), {"10.0.0.3", 1}});
  EXPECT_EQ(book.expire(110'000), 0u);
  EXPECT_EQ(book.expire(110'001), 1u);
  EXPECT_FALSE(book.get(key(1).public_key()));
  EXPECT_TRUE(book.get(key(2).public_key()));
  EXPECT_EQ(book.expire(1'000'000), 1u);
  EXPECT_TRUE(book.get(key(3).public_key()));
  EXPECT_EQ(book.size(), 1u);
}

TEST(AddressBook, PersistsInRocksDb) {
  TempDir dir;
  auto k = key(4);
  auto a = ann(k, 100, {"10.0.0.1:1"});
  {
    auto db = storage::Db::open(dir.path, {std::string(AddressBook::kFamily)});
    AddressBook book(db.get(), {});
    book.add_announcement(a, a.encode());
    book.add_bootstrap({key(5).public_key(), {"seed.example", 9000}});
    book.dial_failed(key(5).public_key(), 1000);
    auto gone = ann(key(6), 100, {"10.0.0.6:1"});
    book.add_announcement(gone, gone.encode());
    EXPECT_EQ(book.expire(uint64_t{15} * 24 * 3600 * 1000), 2u);  // key 4 and 6; not bootstrap
    book.add_announcement(a, a.encode());                         // key 4 again
    // A corrupt record is dropped on load, not fatal.
    db->put(db->cf(AddressBook::kFamily), std::string(32, 'x'), "garbage");
  }
  auto db = storage::Db::open(dir.path, {std::string(AddressBook::kFamily)});
  AddressBook book(db.get(), {});
  EXPECT_EQ(book.load(), 2u);
  auto e = book.get(k.public_key());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->addresses, a.addresses);
  EXPECT_EQ(gossip::decode_node(e->announcement), a);
  auto s = book.get(key(5).public_key());
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->bootstrap);
  EXPECT_EQ(s->failures, 1u);
  EXPECT_EQ(s->next_attempt, 3000u);
  EXPECT_FALSE(book.get(key(6).public_key()));
  EXPECT_FALSE(db->get(db->cf(AddressBook::kFamily), std::string(32, 'x')));
}

TEST(AddressBook, EntryCodecIsStrict) {
  AddressEntry e;
  e.id = key(1).public_key();
  e.addresses = {"a:1"};
  e.failures = 3;
  e.announcement = Bytes{1, 2, 3};
  auto enc = e.encode();
  EXPECT_EQ(AddressEntry::decode(enc), e);
  for (size_t i = 0; i < enc.size(); ++i) {
    EXPECT_THROW(AddressEntry::decode(ByteView(enc.data(), i)), codec::DecodeError);
  }
  enc.push_back(0);
  EXPECT_THROW(AddressEntry::decode(enc), codec::DecodeError);
}

TEST(Metrics, PrometheusText) {
  std::map<std::string, uint64_t> m{
      {"p2p_bytes_total{dir=\"in\"}", 5}, {"p2p_bytes_total{dir=\"out\"}", 7}, {"p2p_peers", 2}};
  EXPECT_EQ(render_prometheus(m),
            "# TYPE p2p_bytes_total counter\n"
            "p2p_bytes_total{dir=\"in\"} 5\n"
            "p2p_bytes_total{dir=\"out\"} 7\n"
            "# TYPE p2p_peers gauge\n"
            "p2p_peers 2\n");
}

// ---- DiscoveryCore: events in, actions out ----

namespace {

constexpr uint64_t kT0 = 1'800'000'000'000;  // unix ms

DiscoveryCore make_core(DiscoveryConfig cfg = {}) {
  return DiscoveryCore(key(1), kNet, nullptr, std::move(cfg), 7);
}

uint8_t type_of(const Bytes& msg) {
  return msg.empty() ? 0 : msg[0];
}

// Messages of `a` for `to`, in order.
std::vector<Bytes> sent_to(const DiscoveryActions& a, const crypto::PublicKey& to) {
  std::vector<Bytes> out;
  for (const auto& s : a.sends)
    if (s.to == to) out.insert(out.end(), s.messages.begin(), s.messages.end());
  return out;
}

}  // namespace

TEST(DiscoveryCore, HelloOnSessionUpAndPokeOnDown) {
  auto core = make_core();
  core.start(kT0, 0);
  auto p = key(2).public_key();
  auto a = core.on_peer(p, true, kT0);
  EXPECT_FALSE(a.poke);
  auto hello = sent_to(a, p);
  ASSERT_EQ(hello.size(), 1u);  // no own announcement before the first round
  EXPECT_EQ(type_of(hello[0]), static_cast<uint8_t>(gossip::Type::kSubscribe));
  EXPECT_EQ(core.connected().count(p), 1u);

  core.on_tick(kT0, {{p, false}});  // first round: announces this node
  auto q = key(3).public_key();
  hello = sent_to(core.on_peer(q, true, kT0 + 1), q);
  ASSERT_EQ(hello.size(), 2u);
  EXPECT_EQ(type_of(hello[0]), static_cast<uint8_t>(gossip::Type::kNode));
  EXPECT_EQ(gossip::decode_node(hello[0]).node, key(1).public_key());

  auto down = core.on_peer(p, false, kT0 + 2);
  EXPECT_TRUE(down.poke);
  EXPECT_TRUE(down.sends.empty());
  EXPECT_EQ(core.connected().count(p), 0u);
  EXPECT_EQ(core.metrics()["p2p_discovery_sessions_total"], 2u);
}

TEST(DiscoveryCore, DialsBootstrapAndCountsATimeoutAsAFailure) {
  DiscoveryConfig cfg;
  auto b = key(2).public_key();
  cfg.bootstrap.push_back({b, {"127.0.0.1", 9002}});
  cfg.bootstrap.push_back({key(1).public_key(), {"127.0.0.1", 9001}});  // ourselves: ignored
  cfg.dial_timeout = std::chrono::milliseconds(10'000);
  cfg.book.backoff_unit_ms = 60'000;
  auto core = make_core(cfg);
  auto started = core.start(kT0, 0);
  EXPECT_EQ(started.bootstrap, 2u);
  ASSERT_EQ(core.address_book().size(), 1u);

  auto a = core.on_tick(kT0, {});
  ASSERT_EQ(a.dials.size(), 1u);
  EXPECT_EQ(a.dials[0].id, b);
  EXPECT_EQ(a.dials[0].addr, (HostPort{"127.0.0.1", 9002}));
  EXPECT_TRUE(a.sends.empty());  // nobody connected: the announcement reaches no one
  EXPECT_TRUE(core.on_tick(kT0 + 1, {}).dials.empty());  // still pending
  EXPECT_EQ(core.metrics()["p2p_pending_dials"], 1u);

  // No session within the dial timeout: a failure, then no new dial during the backoff.
  EXPECT_TRUE(core.on_tick(kT0 + 10'000, {}).dials.empty());
  EXPECT_EQ(core.metrics()["p2p_discovery_dial_failures_total"], 1u);
  EXPECT_EQ(core.address_book()[0].failures, 1u);
  EXPECT_TRUE(core.on_tick(kT0 + 20'000, {}).dials.empty());
  EXPECT_EQ(core.on_tick(kT0 + 10'000 + 120'000, {}).dials.size(), 1u);  // backoff over

  // A session clears the pending dial and the failures.
  core.on_peer(b, true, kT0 + 200'000);
  EXPECT_EQ(core.metrics()["p2p_pending_dials"], 0u);
  EXPECT_EQ(core.address_book()[0].failures, 0u);
}

TEST(DiscoveryCore, AsksAConnectedPeerForPeersWhenShortOfCandidates) {
  DiscoveryConfig cfg;
  cfg.get_peers_interval = std::chrono::milliseconds(30'000);
  auto core = make_core(cfg);
  core.start(kT0, 0);
  auto p = key(2).public_key();
  core.on_peer(p, true, kT0);
  auto a = core.on_tick(kT0 + 30'000, {{p, true}});
  auto msgs = sent_to(a, p);
  ASSERT_EQ(msgs.size(), 3u);  // GetPeers, then our node announcement and inventory page
  EXPECT_EQ(type_of(msgs[0]), static_cast<uint8_t>(gossip::Type::kGetPeers));
  EXPECT_EQ(type_of(msgs[1]), static_cast<uint8_t>(gossip::Type::kNode));
  EXPECT_EQ(type_of(msgs[2]), static_cast<uint8_t>(gossip::Type::kInventory));
  // Not again within the interval, and no re-announcement before announce_interval.
  EXPECT_TRUE(core.on_tick(kT0 + 31'000, {{p, true}}).sends.empty());
  EXPECT_EQ(type_of(sent_to(core.on_tick(kT0 + 60'000, {{p, true}}), p).at(0)),
            static_cast<uint8_t>(gossip::Type::kGetPeers));
}

TEST(DiscoveryCore, RelaysAcceptedAnnouncementsAndLearnsAddresses) {
  auto core = make_core();
  core.start(kT0, 0);
  auto p1 = key(2).public_key(), p2 = key(3).public_key();
  core.on_peer(p1, true, kT0);
  core.on_peer(p2, true, kT0);
  auto k4 = key(4);
  auto a = core.on_message(p1, ann(k4, kT0, {"127.0.0.1:9004"}).encode(), kT0);
  EXPECT_FALSE(a.violation);
  EXPECT_TRUE(sent_to(a, p1).empty());  // not back to the sender
  ASSERT_EQ(sent_to(a, p2).size(), 1u);
  ASSERT_EQ(core.address_book().size(), 1u);
  EXPECT_EQ(core.address_book()[0].id, k4.public_key());
  EXPECT_EQ(core.address_book()[0].addresses, std::vector<std::string>{"127.0.0.1:9004"});
  EXPECT_EQ(core.metrics()["p2p_gossip_relayed_total"], 1u);
  // The same announcement again: a duplicate, not relayed.
  EXPECT_TRUE(core.on_message(p2, ann(k4, kT0, {"127.0.0.1:9004"}).encode(), kT0).sends.empty());
}

TEST(DiscoveryCore, AnInvalidMessageAsksToBlockTheSenderAndNothingElse) {
  auto core = make_core();
  core.start(kT0, 0);
  auto p1 = key(2).public_key(), p2 = key(3).public_key();
  core.on_peer(p1, true, kT0);
  core.on_peer(p2, true, kT0);
  Bytes garbage{static_cast<uint8_t>(gossip::Type::kNode), 1, 2, 3};
  auto a = core.on_message(p1, garbage, kT0);
  ASSERT_TRUE(a.violation);
  EXPECT_TRUE(a.sends.empty());
  EXPECT_TRUE(a.dials.empty());
}

TEST(DiscoveryCore, AnnouncesTheListenAddressOnlyWhenSpecific) {
  DiscoveryConfig cfg;
  cfg.listen_host = "127.0.0.1";
  auto core = make_core(cfg);
  core.start(kT0, 9100);
  EXPECT_EQ(core.own_addresses(), std::vector<std::string>{"127.0.0.1:9100"});
  cfg.listen_host = "0.0.0.0";
  auto any = make_core(cfg);
  any.start(kT0, 9100);
  EXPECT_TRUE(any.own_addresses().empty());
  cfg.external_addresses = {"seed.example:9000"};
  auto ext = make_core(cfg);
  ext.start(kT0, 9100);
  EXPECT_EQ(ext.own_addresses(), std::vector<std::string>{"seed.example:9000"});
  cfg.external_addresses = {"bad address"};
  EXPECT_THROW(make_core(cfg), Error);
}
