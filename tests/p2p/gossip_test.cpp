// Gossip messages and the RIP-1 rules of the sans-I/O state machine (src/p2p/gossip.h): codec
// round trips and strictness, signatures and domain separation, latest-wins, stale, future,
// unknown node, relay-once, paginated inventories, expiry, replay, peer exchange.
#include "p2p/gossip.h"

#include <gtest/gtest.h>

#include <deque>

#include "codec/codec.h"
#include "tests/support/keys.h"

using namespace guts;
using namespace guts::p2p::gossip;
using R = Outcome::Result;

namespace {

const std::string kNet = "guts-test";
constexpr uint64_t kNow = 1'800'000'000'000;  // unix ms
constexpr uint64_t kMinute = 60'000;

crypto::SigningKey key(uint8_t b) {
  return test_support::fixed_key(b);
}

GossipConfig config() {
  GossipConfig c;
  c.network = kNet;
  c.max_clock_skew_ms = 5 * kMinute;
  c.ttl_ms = 60 * kMinute;
  return c;
}

NodeAnnouncement node_ann(const crypto::SigningKey& k, uint64_t ts,
                          std::vector<std::string> addrs = {"127.0.0.1:9000"}) {
  NodeAnnouncement a;
  a.timestamp = ts;
  a.features = 3;
  a.user_agent = "guts/test";
  a.addresses = std::move(addrs);
  a.sign(k, kNet);
  return a;
}

RefsAnnouncement refs_ann(const crypto::SigningKey& k, std::string repo, uint64_t ts,
                          std::string tip = "aa") {
  RefsAnnouncement a;
  a.repo = std::move(repo);
  a.timestamp = ts;
  a.refs = {{"refs/heads/main", Bytes(20, static_cast<uint8_t>(tip[0]))}};
  a.sign(k, kNet);
  return a;
}

Bytes inv_page(const crypto::SigningKey& k, uint64_t ts, std::vector<std::string> repos,
               uint64_t page = 0, uint64_t pages = 1) {
  InventoryAnnouncement a;
  a.timestamp = ts;
  a.page = page;
  a.pages = pages;
  a.repos = std::move(repos);
  a.sign(k, kNet);
  return a.encode();
}

std::set<crypto::PublicKey> set_of(std::initializer_list<crypto::PublicKey> l) {
  return l;
}

const crypto::PublicKey kFrom = key(99).public_key();

}  // namespace

// --- codec ------------------------------------------------------------------------------------

TEST(GossipCodec, RoundTripsEveryMessage) {
  auto k = key(1);
  auto n = node_ann(k, kNow, {"127.0.0.1:9000", "[::1]:9001", "seed.example.org:443"});
  EXPECT_EQ(std::get<NodeAnnouncement>(decode(n.encode())), n);
  auto pages = make_inventory(k, kNet, kNow, {"b", "a", "c", "a"});
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].repos, (std::vector<std::string>{"a", "b", "c"}));  // sorted, deduplicated
  EXPECT_EQ(std::get<InventoryAnnouncement>(decode(pages[0].encode())), pages[0]);
  auto r = refs_ann(k, "repo", kNow);
  EXPECT_EQ(std::get<RefsAnnouncement>(decode(r.encode())), r);
  EXPECT_EQ(std::get<Subscribe>(decode(Subscribe{42}.encode())).since, 42u);
  EXPECT_EQ(std::get<GetPeers>(decode(GetPeers{7}.encode())).max, 7u);
  Peers p{{n, node_ann(key(2), kNow)}};
  EXPECT_EQ(std::get<Peers>(decode(p.encode())), p);
  for (const auto& m : {n.encode(), pages[0].encode(), r.encode()}) {
    // Every prefix is rejected (truncation), as is any trailing byte.
    for (size_t i = 0; i < m.size(); ++i) {
      EXPECT_THROW(decode(ByteView(m.data(), i)), codec::DecodeError) << i;
    }
    auto longer = m;
    longer.push_back(0);
    EXPECT_THROW(decode(longer), codec::DecodeError);
  }
}

TEST(GossipCodec, DecodersAreStrict) {
  auto k = key(1);
  EXPECT_THROW(decode(Bytes{}), codec::DecodeError);
  EXPECT_THROW(decode(Bytes{0}), codec::DecodeError);
  EXPECT_THROW(decode(Bytes{7}), codec::DecodeError);
  // Unsorted or duplicate repositories, page out of range, empty ids.
  EXPECT_THROW(decode(inv_page(k, kNow, {"b", "a"})), codec::DecodeError);
  EXPECT_THROW(decode(inv_page(k, kNow, {"a", "a"})), codec::DecodeError);
  EXPECT_THROW(decode(inv_page(k, kNow, {"a"}, 1, 1)), codec::DecodeError);
  EXPECT_THROW(decode(inv_page(k, kNow, {"a"}, 0, 0)), codec::DecodeError);
  EXPECT_THROW(decode(inv_page(k, kNow, {""})), codec::DecodeError);
  EXPECT_THROW(decode(inv_page(k, kNow, {std::string(kMaxRepoIdLen + 1, 'x')})),
               codec::DecodeError);
  // Addresses: malformed, duplicate, too many; user agent too long or with control characters.
  for (auto addrs : std::vector<std::vector<std::string>>{
           {"nohost"}, {"1.2.3.4:0"}, {"::1:80"}, {"a:1", "a:1"}, {"256.1.1.1:1"}}) {
    EXPECT_THROW(decode(node_ann(k, kNow, addrs).encode()), codec::DecodeError) << addrs[0];
  }
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxAddresses; ++i) many.push_back("10.0.0.1:" + std::to_string(i + 1));
  EXPECT_THROW(decode(node_ann(k, kNow, many).encode()), codec::DecodeError);
  auto ua = node_ann(k, kNow);
  ua.user_agent = std::string(kMaxUserAgent + 1, 'a');
  EXPECT_THROW(decode(ua.encode()), codec::DecodeError);
  ua.user_agent = "bad\nagent";
  EXPECT_THROW(decode(ua.encode()), codec::DecodeError);
  // Refs: unsorted, duplicate names, empty or oversized object ids.
  auto r = refs_ann(k, "repo", kNow);
  r.refs = {{"b", Bytes(20, 1)}, {"a", Bytes(20, 1)}};
  EXPECT_THROW(decode(r.encode()), codec::DecodeError);
  r.refs = {{"a", Bytes{}}};
  EXPECT_THROW(decode(r.encode()), codec::DecodeError);
  r.refs = {{"a", Bytes(kMaxOidLen + 1, 1)}};
  EXPECT_THROW(decode(r.encode()), codec::DecodeError);
  // Requests.
  EXPECT_THROW(decode(GetPeers{0}.encode()), codec::DecodeError);
  EXPECT_THROW(decode(GetPeers{kMaxPeers + 1}.encode()), codec::DecodeError);
  // A count larger than the input is refused before allocating.
  codec::Writer w;
  w.u8(static_cast<uint8_t>(Type::kPeers)).varint(200);
  EXPECT_THROW(decode(w.data()), codec::DecodeError);
}

TEST(GossipCodec, SignaturesAreDomainAndNetworkSeparated) {
  auto k = key(1);
  auto n = node_ann(k, kNow);
  EXPECT_TRUE(n.verify(kNet));
  EXPECT_FALSE(n.verify("other-net"));
  auto tampered = n;
  tampered.timestamp += 1;
  EXPECT_FALSE(tampered.verify(kNet));
  // The same signature does not verify for another node.
  tampered = n;
  tampered.node = key(2).public_key();
  EXPECT_FALSE(tampered.verify(kNet));
  // A signature over an inventory's bytes under the node domain is useless as an inventory.
  InventoryAnnouncement inv;
  inv.node = k.public_key();
  inv.timestamp = kNow;
  inv.signature = k.sign(kNodeDomain, inv.unsigned_bytes());
  EXPECT_FALSE(inv.verify(kNet));
}

TEST(GossipCodec, InventoriesArePaginatedNotTruncated) {
  std::vector<std::string> repos;
  for (int i = 0; i < 5000; ++i) repos.push_back("repo-" + std::to_string(i));
  auto pages = make_inventory(key(1), kNet, kNow, repos);
  ASSERT_EQ(pages.size(), 5u);
  size_t total = 0;
  for (const auto& p : pages) {
    EXPECT_EQ(p.pages, 5u);
    EXPECT_LE(p.repos.size(), kInventoryPageSize);
    EXPECT_LE(p.encode().size(), size_t{1} << 20);  // fits the gossip channel
    total += p.repos.size();
  }
  EXPECT_EQ(total, 5000u);
  EXPECT_EQ(make_inventory(key(1), kNet, kNow, {}).size(), 1u);  // empty inventory: one page
  EXPECT_THROW(make_inventory(key(1), kNet, kNow, {""}), Error);
}

// --- rules -------------------------------------------------------------------------------------

TEST(GossipRules, NodeAnnouncementLatestWins) {
  Gossip g(key(10), config());
  auto a = key(1);
  auto first = g.handle(kFrom, node_ann(a, kNow).encode(), kNow);
  EXPECT_EQ(first.result, R::kAccepted);
  ASSERT_EQ(first.relay.size(), 1u);
  ASSERT_EQ(first.nodes.size(), 1u);
  // Replayed: neither stored nor relayed.
  auto again = g.handle(kFrom, node_ann(a, kNow).encode(), kNow);
  EXPECT_EQ(again.result, R::kDuplicate);
  EXPECT_TRUE(again.relay.empty());
  // Older: dropped, the newer one stays.
  EXPECT_EQ(g.handle(kFrom, node_ann(a, kNow - 1, {"10.0.0.1:1"}).encode(), kNow).result,
            R::kDuplicate);
  EXPECT_EQ(g.node(a.public_key())->addresses, std::vector<std::string>{"127.0.0.1:9000"});
  // Newer: replaces.
  auto newer = g.handle(kFrom, node_ann(a, kNow + 1, {"10.0.0.2:2"}).encode(), kNow);
  EXPECT_EQ(newer.result, R::kAccepted);
  EXPECT_EQ(newer.relay.size(), 1u);
  EXPECT_EQ(g.node(a.public_key())->addresses, std::vector<std::string>{"10.0.0.2:2"});
}

TEST(GossipRules, FutureAndStaleTimestamps) {
  Gossip g(key(10), config());
  auto a = key(1);
  auto fut = g.handle(kFrom, node_ann(a, kNow + 5 * kMinute + 1).encode(), kNow);
  EXPECT_EQ(fut.result, R::kFuture);
  EXPECT_TRUE(fut.relay.empty());
  EXPECT_FALSE(g.node(a.public_key()));
  // Within the allowed skew: fine.
  EXPECT_EQ(g.handle(kFrom, node_ann(a, kNow + 5 * kMinute).encode(), kNow).result, R::kAccepted);
  auto b = key(2);
  auto stale = g.handle(kFrom, node_ann(b, kNow - 60 * kMinute - 1).encode(), kNow);
  EXPECT_EQ(stale.result, R::kStale);
  EXPECT_FALSE(g.node(b.public_key()));
  // The same rules hold for inventories and refs.
  EXPECT_EQ(g.handle(kFrom, inv_page(a, kNow + 6 * kMinute, {"r"}), kNow).result, R::kFuture);
  EXPECT_EQ(g.handle(kFrom, inv_page(a, kNow - 61 * kMinute, {"r"}), kNow).result, R::kStale);
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r", kNow + 6 * kMinute).encode(), kNow).result,
            R::kFuture);
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r", kNow - 61 * kMinute).encode(), kNow).result,
            R::kStale);
  EXPECT_TRUE(g.routing_table().empty());
}

TEST(GossipRules, CorruptedOrForgedIsAViolation) {
  Gossip g(key(10), config());
  auto a = key(1);
  auto good = node_ann(a, kNow).encode();
  // Flip every byte in turn: either undecodable or a bad signature; never accepted.
  for (size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= 0x01;
    auto o = g.handle(kFrom, bad, kNow);
    EXPECT_EQ(o.result, R::kViolation) << "byte " << i;
    EXPECT_TRUE(o.relay.empty());
    EXPECT_FALSE(o.reason.empty());
  }
  EXPECT_FALSE(g.node(a.public_key()));
  ASSERT_EQ(g.handle(kFrom, good, kNow).result, R::kAccepted);
  // Forged inventory and refs (signed by another key, claiming node a).
  auto forged = decode_inventory(inv_page(key(2), kNow, {"r"}));
  forged.node = a.public_key();
  EXPECT_EQ(g.handle(kFrom, forged.encode(), kNow).result, R::kViolation);
  auto fr = refs_ann(key(2), "r", kNow);
  fr.node = a.public_key();
  EXPECT_EQ(g.handle(kFrom, fr.encode(), kNow).result, R::kViolation);
  // Another network's announcement.
  auto other = node_ann(key(3), kNow);
  other.sign(key(3), "other-net");
  EXPECT_EQ(g.handle(kFrom, other.encode(), kNow).result, R::kViolation);
  // One bad entry in a Peers message condemns the message.
  auto bad_entry = node_ann(key(4), kNow);
  bad_entry.timestamp += 1;
  EXPECT_EQ(g.handle(kFrom, Peers{{node_ann(key(5), kNow), bad_entry}}.encode(), kNow).result,
            R::kViolation);
  EXPECT_TRUE(g.routing_table().empty());
}

TEST(GossipRules, AnnouncementsOfUnknownNodesAreIgnored) {
  Gossip g(key(10), config());
  auto a = key(1);
  auto inv = g.handle(kFrom, inv_page(a, kNow, {"r1"}), kNow);
  EXPECT_EQ(inv.result, R::kUnknownNode);
  EXPECT_TRUE(inv.relay.empty());
  auto refs = g.handle(kFrom, refs_ann(a, "r1", kNow).encode(), kNow);
  EXPECT_EQ(refs.result, R::kUnknownNode);
  EXPECT_TRUE(refs.refs.empty());
  EXPECT_TRUE(g.routing_table().empty());
  // Once the node is known, the same messages are accepted.
  ASSERT_EQ(g.handle(kFrom, node_ann(a, kNow).encode(), kNow).result, R::kAccepted);
  EXPECT_EQ(g.handle(kFrom, inv_page(a, kNow, {"r1"}), kNow).result, R::kAccepted);
  auto r = g.handle(kFrom, refs_ann(a, "r1", kNow).encode(), kNow);
  EXPECT_EQ(r.result, R::kAccepted);
  EXPECT_EQ(r.refs.size(), 1u);
  EXPECT_EQ(g.nodes_for("r1"), set_of({a.public_key()}));
}

TEST(GossipRules, InventoryLatestGenerationWins) {
  Gossip g(key(10), config());
  auto a = key(1);
  ASSERT_EQ(g.handle(kFrom, node_ann(a, kNow).encode(), kNow).result, R::kAccepted);
  ASSERT_EQ(g.handle(kFrom, inv_page(a, kNow, {"r1", "r2"}), kNow).result, R::kAccepted);
  EXPECT_EQ(g.routing_table().size(), 2u);
  // Replayed and older inventories: dropped, not relayed.
  auto dup = g.handle(kFrom, inv_page(a, kNow, {"r1", "r2"}), kNow);
  EXPECT_EQ(dup.result, R::kDuplicate);
  EXPECT_TRUE(dup.relay.empty());
  EXPECT_EQ(g.handle(kFrom, inv_page(a, kNow - 1, {"r9"}), kNow).result, R::kDuplicate);
  EXPECT_TRUE(g.nodes_for("r9").empty());
  // A newer generation replaces the set: r1 is gone, r3 appears.
  ASSERT_EQ(g.handle(kFrom, inv_page(a, kNow + 1, {"r2", "r3"}), kNow).result, R::kAccepted);
  auto t = g.routing_table();
  EXPECT_EQ(t.size(), 2u);
  EXPECT_FALSE(t.count("r1"));
  EXPECT_EQ(t["r3"], set_of({a.public_key()}));
}

TEST(GossipRules, PagedInventoryReplacesOnlyWhenComplete) {
  Gossip g(key(10), config());
  auto a = key(1);
  ASSERT_EQ(g.handle(kFrom, node_ann(a, kNow).encode(), kNow).result, R::kAccepted);
  ASSERT_EQ(g.handle(kFrom, inv_page(a, kNow, {"old"}), kNow).result, R::kAccepted);
  // A new generation in 3 pages, out of order; "old" stays until the last page arrives.
  auto t1 = kNow + 10;
  ASSERT_EQ(g.handle(kFrom, inv_page(a, t1, {"p2"}, 2, 3), kNow).result, R::kAccepted);
  EXPECT_EQ(g.nodes_for("old").size(), 1u);
  ASSERT_EQ(g.handle(kFrom, inv_page(a, t1, {"p0"}, 0, 3), kNow).result, R::kAccepted);
  // A page already held, and a page claiming another page count for the same generation.
  EXPECT_EQ(g.handle(kFrom, inv_page(a, t1, {"p0"}, 0, 3), kNow).result, R::kDuplicate);
  EXPECT_EQ(g.handle(kFrom, inv_page(a, t1, {"zz"}, 1, 2), kNow).result, R::kDuplicate);
  EXPECT_EQ(g.nodes_for("old").size(), 1u);
  ASSERT_EQ(g.handle(kFrom, inv_page(a, t1, {"p1"}, 1, 3), kNow).result, R::kAccepted);
  auto t = g.routing_table();
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.count("old"));
  EXPECT_FALSE(t.count("zz"));
}

TEST(GossipRules, LargeInventoriesAreNotCapped) {
  Gossip sender(key(1), config()), receiver(key(2), config());
  std::vector<std::string> repos;
  for (int i = 0; i < 10'000; ++i) repos.push_back("r" + std::to_string(i));
  auto node = sender.announce_node(0, "ua", {"127.0.0.1:1"}, kNow);
  auto pages = sender.announce_inventory(repos, kNow);
  EXPECT_EQ(pages.size(), 10u);
  ASSERT_EQ(receiver.handle(kFrom, node, kNow).result, R::kAccepted);
  for (const auto& p : pages) ASSERT_EQ(receiver.handle(kFrom, p, kNow).result, R::kAccepted);
  EXPECT_EQ(receiver.routing_table().size(), 10'000u);
  EXPECT_EQ(receiver.routing_entries(), 10'000u);
  EXPECT_EQ(receiver.routing_table(), sender.routing_table());
}

TEST(GossipRules, RefsLatestPerNodeAndRepository) {
  Gossip g(key(10), config());
  auto a = key(1), b = key(2);
  g.handle(kFrom, node_ann(a, kNow).encode(), kNow);
  g.handle(kFrom, node_ann(b, kNow).encode(), kNow);
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r1", kNow, "x").encode(), kNow).result, R::kAccepted);
  // Other repository, other node: independent keys.
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r2", kNow - 5, "y").encode(), kNow).result, R::kAccepted);
  EXPECT_EQ(g.handle(kFrom, refs_ann(b, "r1", kNow - 5, "z").encode(), kNow).result, R::kAccepted);
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r1", kNow, "x").encode(), kNow).result, R::kDuplicate);
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r1", kNow - 1, "o").encode(), kNow).result, R::kDuplicate);
  EXPECT_EQ(g.refs(a.public_key(), "r1")->refs[0].oid[0], 'x');
  EXPECT_EQ(g.handle(kFrom, refs_ann(a, "r1", kNow + 1, "n").encode(), kNow).result, R::kAccepted);
  EXPECT_EQ(g.refs(a.public_key(), "r1")->refs[0].oid[0], 'n');
}

TEST(GossipRules, EntriesExpireWithoutRefresh) {
  Gossip g(key(10), config());
  auto a = key(1), b = key(2);
  g.handle(kFrom, node_ann(a, kNow).encode(), kNow);
  g.handle(kFrom, inv_page(a, kNow, {"ra"}), kNow);
  g.handle(kFrom, refs_ann(a, "ra", kNow).encode(), kNow);
  g.handle(kFrom, node_ann(b, kNow).encode(), kNow);
  g.handle(kFrom, inv_page(b, kNow, {"rb"}), kNow);
  auto later = kNow + 40 * kMinute;
  // b refreshes; a does not.
  ASSERT_EQ(g.handle(kFrom, node_ann(b, later).encode(), later).result, R::kAccepted);
  ASSERT_EQ(g.handle(kFrom, inv_page(b, later, {"rb"}), later).result, R::kAccepted);
  EXPECT_EQ(g.prune(kNow + 59 * kMinute), 0u);
  EXPECT_GT(g.prune(kNow + 61 * kMinute), 0u);
  EXPECT_FALSE(g.node(a.public_key()));
  EXPECT_FALSE(g.refs(a.public_key(), "ra"));
  auto t = g.routing_table();
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t["rb"], set_of({b.public_key()}));
  // a's old messages are now stale, and a's inventory is ignored without its node announcement.
  EXPECT_EQ(g.handle(kFrom, node_ann(a, kNow).encode(), kNow + 61 * kMinute).result, R::kStale);
}

TEST(GossipRules, OwnAnnouncementsAreAuthoritative) {
  auto k = key(10);
  Gossip g(k, config());
  auto mine = g.announce_node(0, "ua", {"127.0.0.1:1"}, kNow);
  g.announce_inventory({"mine"}, kNow);
  EXPECT_EQ(g.nodes_for("mine"), set_of({k.public_key()}));
  // A copy of our own announcement coming back is not re-accepted.
  EXPECT_EQ(g.handle(kFrom, mine, kNow).result, R::kOwn);
  // One newer than ours (we restarted with a clock that went back): re-announce above it.
  auto newer = node_ann(k, kNow + kMinute);
  auto o = g.handle(kFrom, newer.encode(), kNow);
  EXPECT_EQ(o.result, R::kOwn);
  EXPECT_TRUE(o.reannounce);
  auto again = decode_node(g.announce_node(0, "ua", {}, kNow));
  EXPECT_GT(again.timestamp, kNow + kMinute);
  // Timestamps of our own announcements strictly increase even when the clock does not.
  auto r1 = decode_refs(g.announce_refs("x", {{"refs/heads/a", Bytes(20, 1)}}, kNow));
  auto r2 = decode_refs(g.announce_refs("x", {{"refs/heads/a", Bytes(20, 2)}}, kNow));
  EXPECT_LT(r1.timestamp, r2.timestamp);
  EXPECT_THROW(g.announce_refs("x", {{"a", Bytes(20, 1)}, {"a", Bytes(20, 2)}}, kNow), Error);
}

// Our refs announcements are held per repository (they were once all stored under the empty
// repository name, read after the announcement had been moved: found by clang-tidy), so a
// subscriber gets the latest of every repository.
TEST(GossipRules, OwnRefsAreHeldPerRepository) {
  auto k = key(10);
  Gossip g(k, config());
  g.announce_node(0, "ua", {"127.0.0.1:1"}, kNow);
  g.announce_refs("ra", {{"refs/heads/main", Bytes(20, 1)}}, kNow);
  g.announce_refs("rb", {{"refs/heads/main", Bytes(20, 2)}}, kNow);
  ASSERT_TRUE(g.refs(k.public_key(), "ra"));
  ASSERT_TRUE(g.refs(k.public_key(), "rb"));
  EXPECT_EQ(g.refs(k.public_key(), "ra")->refs.at(0).oid, Bytes(20, 1));
  EXPECT_FALSE(g.refs(k.public_key(), ""));
  size_t refs = 0;
  for (const auto& m : g.replay(0)) refs += m[0] == static_cast<uint8_t>(Type::kRefs) ? 1 : 0;
  EXPECT_EQ(refs, 2u);
}

TEST(GossipRules, CapacityIsExplicit) {
  auto c = config();
  c.max_nodes = 2;
  Gossip g(key(10), c);
  EXPECT_EQ(g.handle(kFrom, node_ann(key(1), kNow).encode(), kNow).result, R::kAccepted);
  EXPECT_EQ(g.handle(kFrom, node_ann(key(2), kNow).encode(), kNow).result, R::kAccepted);
  EXPECT_EQ(g.handle(kFrom, node_ann(key(3), kNow).encode(), kNow).result, R::kCapacity);
  // Known nodes still update.
  EXPECT_EQ(g.handle(kFrom, node_ann(key(1), kNow + 1).encode(), kNow).result, R::kAccepted);
}

TEST(GossipRules, SubscribeReplaysInAcceptableOrder) {
  Gossip a(key(1), config());
  auto b = key(2);
  a.announce_node(0, "ua", {"127.0.0.1:1"}, kNow);
  a.announce_inventory({"ra"}, kNow);
  a.announce_refs("ra", {{"refs/heads/main", Bytes(20, 1)}}, kNow);
  a.handle(kFrom, node_ann(b, kNow - 10).encode(), kNow);
  a.handle(kFrom, inv_page(b, kNow - 10, {"rb", "shared"}), kNow);
  a.handle(kFrom, refs_ann(b, "rb", kNow - 10).encode(), kNow);
  auto o = a.handle(kFrom, Subscribe{0}.encode(), kNow);
  EXPECT_EQ(o.result, R::kRequest);
  EXPECT_EQ(o.replies.size(), 6u);
  // A fresh node fed the replay in order accepts all of it and has the same table.
  Gossip c(key(3), config());
  for (const auto& m : o.replies) {
    auto r = c.handle(kFrom, m, kNow);
    EXPECT_EQ(r.result, R::kAccepted) << result_name(r.result);
  }
  EXPECT_EQ(c.routing_table(), a.routing_table());
  EXPECT_EQ(c.routing_table().size(), 3u);
  // since filters by timestamp.
  EXPECT_EQ(a.handle(kFrom, Subscribe{kNow - 5}.encode(), kNow).replies.size(), 3u);
  EXPECT_TRUE(a.handle(kFrom, Subscribe{kNow + 1000}.encode(), kNow).replies.empty());
}

TEST(GossipRules, PeerExchange) {
  Gossip a(key(1), config());
  for (uint8_t i = 2; i < 8; ++i) a.handle(kFrom, node_ann(key(i), kNow + i).encode(), kNow);
  a.handle(kFrom, node_ann(key(8), kNow, {}).encode(), kNow);  // no address: not worth sharing
  auto asker = key(2).public_key();
  auto o = a.handle(asker, GetPeers{3}.encode(), kNow);
  ASSERT_EQ(o.replies.size(), 1u);
  auto peers = std::get<Peers>(decode(o.replies[0]));
  ASSERT_EQ(peers.nodes.size(), 3u);
  EXPECT_EQ(peers.nodes[0].node, key(7).public_key());  // most recent first
  for (const auto& n : peers.nodes) EXPECT_NE(n.node, asker);
  // The asker learns them, relays the new ones, and ignores repeats.
  Gossip b(key(20), config());
  auto got = b.handle(kFrom, o.replies[0], kNow);
  EXPECT_EQ(got.result, R::kAccepted);
  EXPECT_EQ(got.nodes.size(), 3u);
  EXPECT_EQ(got.relay.size(), 3u);
  EXPECT_EQ(b.handle(kFrom, o.replies[0], kNow).result, R::kDuplicate);
}

// Five state machines wired as a ring with one chord, each relaying accepted messages to every
// neighbour but the sender: every announcement reaches everyone, the flood stops by itself
// (each node relays each message once), and all routing tables end up equal.
TEST(GossipRules, FloodRelaysOnceAndConverges) {
  constexpr int kN = 5;
  std::vector<std::unique_ptr<Gossip>> g;
  for (int i = 0; i < kN; ++i)
    g.push_back(std::make_unique<Gossip>(key(static_cast<uint8_t>(i + 1)), config()));
  std::vector<std::set<int>> links(kN);
  auto link = [&](int a, int b) { links[a].insert(b), links[b].insert(a); };
  for (int i = 0; i < kN; ++i) link(i, (i + 1) % kN);
  link(0, 2);
  struct Msg {
    int from, to;
    Bytes data;
  };
  std::deque<Msg> q;
  std::vector<int> relays(kN, 0);
  for (int i = 0; i < kN; ++i) {
    std::vector<Bytes> out{
        g[i]->announce_node(0, "ua", {"127.0.0.1:" + std::to_string(1000 + i)}, kNow)};
    for (auto& p : g[i]->announce_inventory({"own-" + std::to_string(i), "shared"}, kNow))
      out.push_back(p);
    for (int n : links[i]) {
      for (auto& m : out) q.push_back({i, n, m});
    }
  }
  size_t delivered = 0;
  while (!q.empty()) {
    auto m = std::move(q.front());
    q.pop_front();
    ++delivered;
    ASSERT_LT(delivered, 10'000u) << "flood does not terminate";
    auto o = g[m.to]->handle(g[m.from]->id(), m.data, kNow);
    ASSERT_NE(o.result, R::kViolation);
    for (auto& r : o.relay) {
      ++relays[m.to];
      for (int n : links[m.to]) {
        if (n != m.from) q.push_back({m.to, n, r});
      }
    }
  }
  for (int i = 1; i < kN; ++i) EXPECT_EQ(g[i]->routing_table(), g[0]->routing_table());
  EXPECT_EQ(g[0]->routing_table().size(), static_cast<size_t>(kN + 1));
  EXPECT_EQ(g[0]->routing_table()["shared"].size(), static_cast<size_t>(kN));
  // Each node relays each of the other nodes' 2 messages exactly once.
  for (int i = 0; i < kN; ++i) EXPECT_EQ(relays[i], 2 * (kN - 1)) << i;
}
