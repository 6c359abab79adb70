// Integration tests of the Asio transport: in-process nodes on real loopback sockets (ports
// chosen by the kernel), and a raw POSIX-socket peer that speaks the protocol by hand to
// misbehave. Every wait has a deadline; nothing sleeps for synchronisation.
#include "p2p/transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "codec/codec.h"
#include "crypto/did.h"
#include "p2p/frame.h"

using namespace guts;
using namespace guts::p2p;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 10s;
const std::string kNet = "guts-test";

LocalIdentity ident(uint8_t b) {
  crypto::Seed s;
  s.fill(b);
  return LocalIdentity::create(crypto::SigningKey::from_seed(s), kNet);
}

TransportConfig fast_config() {
  TransportConfig c;
  c.handshake_timeout = 2000ms;
  c.ping_interval = 200ms;
  c.idle_timeout = 3000ms;
  c.write_stall_timeout = 3000ms;
  return c;
}

struct Received {
  crypto::PublicKey from;
  uint64_t channel;
  Bytes payload;
};

struct Node {
  LocalIdentity id;
  Transport t;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Received> got;
  std::vector<std::pair<crypto::PublicKey, bool>> events;

  explicit Node(LocalIdentity i, TransportConfig c = fast_config())
      : id(i), t(std::move(i), std::move(c)) {
    t.on_message([this](const crypto::PublicKey& from, uint64_t ch, Bytes p) {
      std::lock_guard l(mu);
      got.push_back({from, ch, std::move(p)});
      cv.notify_all();
    });
    t.on_peer([this](const crypto::PublicKey& pk, bool up) {
      std::lock_guard l(mu);
      events.emplace_back(pk, up);
      cv.notify_all();
    });
    t.start();
  }
  // The handlers use the members below; stop the transport before they are destroyed.
  ~Node() { t.stop(); }
  const crypto::PublicKey& pk() const { return id.key.public_key(); }
  void dial(Node& other) { t.dial(other.pk(), "127.0.0.1", other.t.port()); }

  template <typename Pred>
  bool wait(Pred pred, std::chrono::milliseconds d = kDeadline) {
    std::unique_lock l(mu);
    return cv.wait_for(l, d, [&] { return pred(); });
  }
  size_t count_from(const crypto::PublicKey& from, uint64_t ch) {
    size_t n = 0;
    for (auto& r : got) n += (r.from == from && r.channel == ch) ? 1 : 0;
    return n;
  }
};

// Polls a condition that is not signalled through a Node's condition variable (metrics of the
// transport itself), with a deadline.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds d = kDeadline) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

uint64_t metric(Transport& t, const std::string& name) {
  auto m = t.metrics();
  auto it = m.find(name);
  return it == m.end() ? 0 : it->second;
}

// True once no dial or handshake is in flight and exactly n connections are open, so that no
// session is about to be replaced by a duplicate (messages queued on a replaced session are
// lost, as on any dropped connection).
bool settled(Transport& t, size_t n) {
  auto m = t.metrics();
  return m["p2p_dials_in_progress"] == 0 && m["p2p_handshakes_in_progress"] == 0 &&
         m["p2p_connections"] == n && m["p2p_peers"] == n;
}

// A peer speaking the protocol over a blocking POSIX socket, so tests can misbehave.
class RawPeer {
 public:
  explicit RawPeer(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{0, 100 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawPeer() { ::close(fd_); }
  bool connected() const { return connected_; }
  void write(ByteView b) {
    size_t off = 0;
    while (off < b.size()) {
      auto n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Bytes read (empty on timeout); eof() tells whether the peer closed.
  Bytes read_some() {
    Bytes b(65536);
    auto n = ::recv(fd_, b.data(), b.size(), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      eof_ = true;
      return {};
    }
    b.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return b;
  }
  bool eof() const { return eof_; }
  // Waits until the remote closes the connection (reading and discarding data).
  bool wait_closed(std::chrono::milliseconds d = kDeadline) {
    auto end = std::chrono::steady_clock::now() + d;
    while (!eof_ && std::chrono::steady_clock::now() < end) read_some();
    return eof_;
  }
  // Runs the dialer side of the session handshake. nullopt if it failed or the remote closed.
  std::optional<Session> handshake(const LocalIdentity& me, const crypto::PublicKey& expected) {
    auto hs = SessionHandshake::initiator(me, expected);
    write(hs.start());
    auto end = std::chrono::steady_clock::now() + kDeadline;
    try {
      while (!hs.done()) {
        if (eof_ || std::chrono::steady_clock::now() > end) return std::nullopt;
        auto data = read_some();
        if (data.empty()) continue;
        write(hs.feed(data));
      }
    } catch (const HandshakeError&) {
      return std::nullopt;
    }
    return hs.take_session();
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
};

}  // namespace

TEST(Transport, FiveNodesExchangeMessagesOnLoopback) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (uint8_t i = 1; i <= 5; ++i) nodes.push_back(std::make_unique<Node>(ident(i)));
  // Everyone dials everyone with a smaller index (some pairs dial both ways at once).
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (size_t j = 0; j < nodes.size(); ++j) {
      if (i != j && (j < i || (i + j) % 3 == 0)) nodes[i]->dial(*nodes[j]);
    }
  }
  for (auto& n : nodes) {
    ASSERT_TRUE(eventually([&] { return n->t.peers().size() == 4; })) << n->t.peers().size();
  }
  for (auto& n : nodes) ASSERT_TRUE(eventually([&] { return settled(n->t, 4); }));
  // Messages on several channels from every node to every other node.
  for (auto& a : nodes) {
    for (auto& b : nodes) {
      if (a == b) continue;
      std::string text = "gossip from " + crypto::did_from_key(a->pk());
      EXPECT_TRUE(a->t.send(b->pk(), channel::kGossip, as_bytes(text)));
      EXPECT_TRUE(a->t.send(b->pk(), channel::kGit, as_bytes("git")));
    }
  }
  // One large message (chunked into ~50 records) and one broadcast.
  Bytes big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 13);
  EXPECT_TRUE(nodes[1]->t.send(nodes[0]->pk(), channel::kBlocks, big));
  EXPECT_EQ(nodes[2]->t.broadcast(channel::kGossip, as_bytes("all")), 4u);
  for (auto& b : nodes) {
    for (auto& a : nodes) {
      if (a == b) continue;
      size_t want = a == nodes[2] ? 2 : 1;
      EXPECT_TRUE(b->wait([&] { return b->count_from(a->pk(), channel::kGossip) == want; }));
      EXPECT_TRUE(b->wait([&] { return b->count_from(a->pk(), channel::kGit) == 1; }));
    }
  }
  ASSERT_TRUE(
      nodes[0]->wait([&] { return nodes[0]->count_from(nodes[1]->pk(), channel::kBlocks); }));
  {
    std::lock_guard l(nodes[0]->mu);
    for (auto& r : nodes[0]->got) {
      if (r.channel == channel::kBlocks) {
        EXPECT_EQ(r.payload, big);
      }
    }
  }
  // Peer info: dids, addresses, counters, latency from keep-alive pings.
  ASSERT_TRUE(eventually([&] {
    for (auto& p : nodes[0]->t.peers()) {
      if (p.latency_ms < 0) return false;
    }
    return true;
  }));
  for (auto& p : nodes[0]->t.peers()) {
    EXPECT_EQ(p.did, crypto::did_from_key(p.id));
    EXPECT_EQ(p.address.rfind("127.0.0.1:", 0), 0u);
    EXPECT_GT(p.bytes_in, 0u);
    EXPECT_GT(p.messages_in, 0u);
  }
  EXPECT_GE(metric(nodes[0]->t, "p2p_handshakes_total{result=\"ok\"}"), 4u);
  EXPECT_EQ(metric(nodes[0]->t, "p2p_peers_blocked_total"), 0u);

  // A node stops: its peers see it leave; it restarts (new port, same identity) and is redialed.
  auto id4 = nodes[4]->id;
  auto pk4 = nodes[4]->pk();
  nodes[4].reset();
  EXPECT_TRUE(nodes[0]->wait([&] {
    return !nodes[0]->events.empty() && nodes[0]->events.back() == std::make_pair(pk4, false);
  }));
  nodes[4] = std::make_unique<Node>(id4);
  nodes[0]->dial(*nodes[4]);
  EXPECT_TRUE(nodes[4]->wait([&] { return !nodes[4]->events.empty(); }));
  EXPECT_TRUE(nodes[4]->t.send(nodes[0]->pk(), channel::kGossip, as_bytes("back")));
  EXPECT_TRUE(nodes[0]->wait([&] {
    for (auto& r : nodes[0]->got) {
      if (r.from == pk4 && to_string(r.payload) == "back") return true;
    }
    return false;
  }));
}

TEST(Transport, PeerPresentingAnotherNodesDidIsRefused) {
  Node victim(ident(2));
  Node honest(ident(1));
  // The attacker has its own keys but presents the victim's did: it replays the victim's signed
  // identity payload, which binds the victim's Noise key, not the attacker's.
  auto att = ident(3);
  att.payload = victim.id.payload;
  Node attacker(att);

  // 1. The honest node dials "the victim" at the attacker's address.
  honest.t.dial(victim.pk(), "127.0.0.1", attacker.t.port());
  ASSERT_TRUE(
      eventually([&] { return metric(honest.t, "p2p_handshakes_total{result=\"failed\"}") >= 1; }));
  EXPECT_FALSE(honest.t.connected(victim.pk()));
  EXPECT_FALSE(honest.t.connected(att.key.public_key()));

  // 2. The attacker dials the honest node claiming to be the victim.
  attacker.t.dial(honest.pk(), "127.0.0.1", honest.t.port());
  ASSERT_TRUE(
      eventually([&] { return metric(honest.t, "p2p_handshakes_total{result=\"failed\"}") >= 2; }));
  EXPECT_TRUE(honest.t.peers().empty());
  {
    std::lock_guard l(honest.mu);
    EXPECT_TRUE(honest.events.empty());
  }

  // 3. An attacker with its own (valid) identity answering a dial for the victim's did.
  Node other(ident(4));
  honest.t.dial(victim.pk(), "127.0.0.1", other.t.port());
  ASSERT_TRUE(
      eventually([&] { return metric(honest.t, "p2p_handshakes_total{result=\"failed\"}") >= 3; }));
  EXPECT_FALSE(honest.t.connected(victim.pk()));
  EXPECT_FALSE(honest.t.connected(other.pk()));

  // The real victim is reachable.
  honest.dial(victim);
  EXPECT_TRUE(eventually([&] { return honest.t.connected(victim.pk()); }));
}

TEST(Transport, ProtocolViolationsDisconnectAndBlock) {
  struct Case {
    const char* name;
    std::function<void(FrameEncoder&, Bytes&)> make;
  };
  std::vector<Case> cases = {
      {"unknown channel", [](FrameEncoder& e, Bytes& w) { e.message(99, as_bytes("x"), w); }},
      {"oversize",
       [](FrameEncoder& e, Bytes& w) {
         codec::Writer x;
         x.u8(1).varint(channel::kVotes).varint(10 << 20).u8(0);
         e.raw_record(x.data(), w);
       }},
      {"corrupted record",
       [](FrameEncoder& e, Bytes& w) {
         e.message(channel::kGossip, as_bytes("hello"), w);
         w[5] ^= 1;
       }},
      {"garbage frame type", [](FrameEncoder& e, Bytes& w) { e.raw_record(Bytes{0x77}, w); }},
  };
  Node node(ident(1));
  uint8_t seed = 10;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto bad = ident(seed++);
    RawPeer p(node.t.port());
    ASSERT_TRUE(p.connected());
    auto s = p.handshake(bad, node.pk());
    ASSERT_TRUE(s);
    FrameEncoder enc(std::move(s->send));
    Bytes wire;
    c.make(enc, wire);
    p.write(wire);
    EXPECT_TRUE(p.wait_closed());
    EXPECT_TRUE(eventually([&] { return node.t.is_blocked(bad.key.public_key()); }));
    // A blocked identity cannot come back (in XX the dialer finishes first; the listener
    // refuses the third message and closes) ...
    RawPeer again(node.t.port());
    again.handshake(bad, node.pk());
    EXPECT_TRUE(again.wait_closed());
    EXPECT_FALSE(node.t.connected(bad.key.public_key()));
  }
  EXPECT_EQ(metric(node.t, "p2p_peers_blocked_total"), cases.size());
  // ... but another identity from the same address can, and the block can be lifted.
  auto good = ident(50);
  RawPeer ok(node.t.port());
  EXPECT_TRUE(ok.handshake(good, node.pk()));
  EXPECT_TRUE(eventually([&] { return node.t.connected(good.key.public_key()); }));
  node.t.unblock(ident(10).key.public_key());
  RawPeer back(node.t.port());
  EXPECT_TRUE(back.handshake(ident(10), node.pk()));
  EXPECT_TRUE(eventually([&] { return node.t.connected(ident(10).key.public_key()); }));
}

TEST(Transport, ApplicationBlockDisconnectsAndRefusesRedial) {
  Node a(ident(1)), b(ident(2));
  a.dial(b);
  ASSERT_TRUE(eventually([&] { return b.t.connected(a.pk()); }));
  b.t.block(a.pk(), 60s);
  EXPECT_TRUE(eventually([&] { return !a.t.connected(b.pk()); }));
  a.dial(b);
  ASSERT_TRUE(
      eventually([&] { return metric(b.t, "p2p_handshakes_total{result=\"failed\"}") >= 1; }));
  EXPECT_FALSE(b.t.connected(a.pk()));
  // A short block expires.
  b.t.block(a.pk(), 1ms);
  EXPECT_TRUE(eventually([&] { return !b.t.is_blocked(a.pk()); }));
  a.dial(b);
  EXPECT_TRUE(eventually([&] { return b.t.connected(a.pk()); }));
}

TEST(Transport, QuotaThrottlesWithoutBlocking) {
  auto cfg = fast_config();
  for (auto& ch : cfg.channels) {
    if (ch.id == channel::kGossip) {
      ch.rate_per_sec = 100;
      ch.burst = 10;
    }
  }
  Node receiver(ident(1), cfg);
  Node sender(ident(2));
  sender.dial(receiver);
  ASSERT_TRUE(eventually([&] { return sender.t.connected(receiver.pk()); }));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(sender.t.send(receiver.pk(), channel::kGossip, Bytes(10)));
  ASSERT_TRUE(
      receiver.wait([&] { return receiver.count_from(sender.pk(), channel::kGossip) == 60; }));
  auto elapsed = std::chrono::steady_clock::now() - start;
  // 10 from the burst, 50 at 100/s: at least ~0.5 s.
  EXPECT_GE(elapsed, 450ms);
  EXPECT_GT(metric(receiver.t, "p2p_throttled_total{channel=\"3\"}"), 0u);
  EXPECT_FALSE(receiver.t.is_blocked(sender.pk()));
  EXPECT_TRUE(receiver.t.connected(sender.pk()));
}

TEST(Transport, SendSideLimits) {
  Node a(ident(1)), b(ident(2));
  a.dial(b);
  ASSERT_TRUE(eventually([&] { return a.t.connected(b.pk()); }));
  EXPECT_FALSE(a.t.send(b.pk(), 99, as_bytes("x")));                       // unknown channel
  EXPECT_FALSE(a.t.send(b.pk(), channel::kVotes, Bytes((64 << 10) + 1)));  // oversize
  EXPECT_FALSE(a.t.send(ident(9).key.public_key(), channel::kGossip, as_bytes("x")));
  // Votes are restricted to the allowed set (validators).
  EXPECT_FALSE(a.t.send(b.pk(), channel::kVotes, as_bytes("vote")));
  a.t.set_allowed({b.pk()});
  EXPECT_TRUE(a.t.send(b.pk(), channel::kVotes, as_bytes("vote")));
  // b does not count a as a validator: the vote is dropped there, the gossip is not.
  EXPECT_TRUE(a.t.send(b.pk(), channel::kGossip, as_bytes("gossip")));
  ASSERT_TRUE(b.wait([&] { return b.count_from(a.pk(), channel::kGossip) == 1; }));
  EXPECT_TRUE(
      eventually([&] { return metric(b.t, "p2p_restricted_dropped_total{channel=\"0\"}") == 1; }));
  EXPECT_EQ(b.count_from(a.pk(), channel::kVotes), 0u);
  b.t.set_allowed({a.pk()});
  EXPECT_TRUE(a.t.send(b.pk(), channel::kVotes, as_bytes("vote2")));
  EXPECT_TRUE(b.wait([&] { return b.count_from(a.pk(), channel::kVotes) == 1; }));
}

TEST(Transport, AllowListMode) {
  auto cfg = fast_config();
  cfg.allow_list_only = true;
  Node server(ident(1), cfg);
  Node validator(ident(2)), stranger(ident(3));
  server.t.set_allowed({validator.pk()});
  stranger.dial(server);
  ASSERT_TRUE(
      eventually([&] { return metric(server.t, "p2p_handshakes_total{result=\"failed\"}") >= 1; }));
  EXPECT_FALSE(server.t.connected(stranger.pk()));
  validator.dial(server);
  EXPECT_TRUE(eventually([&] { return server.t.connected(validator.pk()); }));
  // Removing it from the set disconnects it.
  server.t.set_allowed({});
  EXPECT_TRUE(eventually([&] { return !server.t.connected(validator.pk()); }));
}

TEST(Transport, HandshakeAndIdleTimeouts) {
  auto cfg = fast_config();
  cfg.handshake_timeout = 200ms;
  cfg.ping_interval = 50ms;
  cfg.idle_timeout = 1200ms;
  Node node(ident(1), cfg);
  {
    // Connects and says nothing: closed at the handshake deadline.
    RawPeer p(node.t.port());
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(p.wait_closed());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
    EXPECT_TRUE(eventually([&] { return metric(node.t, "p2p_handshakes_in_progress") == 0; }));
  }
  {
    // Authenticates, then never answers or pings: closed by the idle timeout, not blocked.
    auto quiet = ident(7);
    RawPeer p(node.t.port());
    ASSERT_TRUE(p.handshake(quiet, node.pk()));
    EXPECT_TRUE(p.wait_closed());
    EXPECT_GE(metric(node.t, "p2p_idle_closed_total"), 1u);
    EXPECT_FALSE(node.t.is_blocked(quiet.key.public_key()));
  }
  {
    // Two live nodes keep each other alive with pings across many idle periods.
    Node other(ident(2), cfg);
    other.dial(node);
    ASSERT_TRUE(eventually([&] { return node.t.connected(other.pk()); }));
    auto until = std::chrono::steady_clock::now() + 3000ms;
    while (std::chrono::steady_clock::now() < until) {
      ASSERT_TRUE(node.t.connected(other.pk()));
      std::this_thread::sleep_for(20ms);
    }
  }
}

TEST(Transport, ConnectionCapAndSimultaneousDials) {
  auto cfg = fast_config();
  cfg.max_connections = 2;
  Node server(ident(1), cfg);
  Node c1(ident(2)), c2(ident(3)), c3(ident(4));
  c1.dial(server);
  c2.dial(server);
  ASSERT_TRUE(eventually([&] { return server.t.peers().size() == 2; }));
  c3.dial(server);
  ASSERT_TRUE(eventually(
      [&] { return metric(server.t, "p2p_connections_refused_total{reason=\"cap\"}") >= 1; }));
  EXPECT_EQ(server.t.peers().size(), 2u);
  EXPECT_FALSE(c3.t.connected(server.pk()));

  // Two nodes dialing each other at the same moment end with exactly one session.
  Node a(ident(5)), b(ident(6));
  for (int i = 0; i < 3; ++i) {
    a.dial(b);
    b.dial(a);
  }
  ASSERT_TRUE(eventually([&] { return settled(a.t, 1) && settled(b.t, 1); }));
  EXPECT_TRUE(a.t.send(b.pk(), channel::kGossip, as_bytes("1")));
  EXPECT_TRUE(b.t.send(a.pk(), channel::kGossip, as_bytes("2")));
  EXPECT_TRUE(b.wait([&] { return b.count_from(a.pk(), channel::kGossip) == 1; }));
  EXPECT_TRUE(a.wait([&] { return a.count_from(b.pk(), channel::kGossip) == 1; }));
  EXPECT_EQ(a.t.peers().size(), 1u);
  EXPECT_EQ(b.t.peers().size(), 1u);
  // Dialing ourselves is a no-op.
  a.t.dial(a.pk(), "127.0.0.1", a.t.port());
  EXPECT_FALSE(a.t.connected(a.pk()));
}

// Nodes without a common p2p protocol version (docs/protocol.md "Versioning") are refused on
// both sides (counted, logged) and never connect; a node whose range overlaps both connects to
// both.
TEST(Transport, IncompatibleProtocolVersionsAreRefusedOnBothSides) {
  auto with_range = [](uint8_t b, ProtocolRange range) {
    crypto::Seed s;
    s.fill(b);
    return LocalIdentity::create(crypto::SigningKey::from_seed(s), kNet, range);
  };
  Node old_node(with_range(1, {1, 1})), new_node(with_range(2, {2, 3}));
  new_node.dial(old_node);
  ASSERT_TRUE(eventually([&] {
    return metric(old_node.t, "p2p_handshake_version_mismatches_total") >= 1 &&
           metric(new_node.t, "p2p_handshake_version_mismatches_total") >= 1;
  }));
  EXPECT_FALSE(old_node.t.connected(new_node.pk()));
  EXPECT_FALSE(new_node.t.connected(old_node.pk()));

  Node bridge(with_range(3, {1, 2}));
  bridge.dial(old_node);
  bridge.dial(new_node);
  EXPECT_TRUE(eventually(
      [&] { return bridge.t.connected(old_node.pk()) && bridge.t.connected(new_node.pk()); }));
  EXPECT_FALSE(old_node.t.connected(new_node.pk()));
}
