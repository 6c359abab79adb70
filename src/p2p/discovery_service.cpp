// The live discovery and gossip component over a Transport (guts_p2p_net; no Asio here).
//
// Threads: handle_message()/handle_peer() run on the transport's I/O thread; maintain() runs on
// this component's own thread. mu_ guards the state; it is never held while calling the
// transport, whose synchronous methods wait for the I/O thread (which may be waiting for mu_).
#include <spdlog/spdlog.h>

#include "core/time.h"
#include "crypto/did.h"
#include "p2p/discovery.h"
#include "p2p/transport.h"

namespace guts::p2p {

namespace {

const char* type_name(ByteView msg) {
  if (msg.empty()) return "empty";
  switch (static_cast<gossip::Type>(msg[0])) {
    case gossip::Type::kNode:
      return "node";
    case gossip::Type::kInventory:
      return "inventory";
    case gossip::Type::kRefs:
      return "refs";
    case gossip::Type::kSubscribe:
      return "subscribe";
    case gossip::Type::kGetPeers:
      return "get_peers";
    case gossip::Type::kPeers:
      return "peers";
  }
  return "unknown";
}

bool unspecified(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

gossip::GossipConfig with_network(gossip::GossipConfig g, const std::string& network) {
  g.network = network;
  return g;
}

}  // namespace

Discovery::Discovery(Transport& transport, const LocalIdentity& identity, storage::Db* db,
                     DiscoveryConfig config)
    : transport_(transport),
      key_(identity.key),
      cfg_(std::move(config)),
      gossip_(identity.key, with_network(cfg_.gossip, identity.network)),
      book_(db, cfg_.book),
      rng_(std::random_device{}()) {
  for (const auto& a : cfg_.external_addresses) parse_host_port(a);  // throws on a bad one
}

Discovery::~Discovery() {
  stop();
}

void Discovery::attach() {
  transport_.on_message([this](const crypto::PublicKey& from, uint64_t ch, Bytes payload) {
    handle_message(from, ch, payload);
  });
  transport_.on_peer([this](const crypto::PublicKey& peer, bool up) { handle_peer(peer, up); });
}

void Discovery::on_refs(RefsHandler handler) {
  on_refs_ = std::move(handler);
}

void Discovery::count(const std::string& name, uint64_t n) {
  counters_[name] += n;
}

std::vector<std::string> Discovery::own_addresses() const {
  if (!cfg_.external_addresses.empty()) return cfg_.external_addresses;
  if (unspecified(cfg_.listen_host) || transport_.port() == 0) return {};
  return {HostPort{cfg_.listen_host, transport_.port()}.to_string()};
}

bool Discovery::handle_message(const crypto::PublicKey& from, uint64_t channel, ByteView payload) {
  if (channel != channel::kGossip) return false;
  uint64_t now = unix_millis();
  gossip::Outcome o;
  {
    std::lock_guard l(mu_);
    o = gossip_.handle(from, payload, now);
    count(std::string("p2p_gossip_total{type=\"") + type_name(payload) + "\",result=\"" +
          gossip::result_name(o.result) + "\"}");
    for (const auto& n : o.nodes) {
      if (book_.add_announcement(n, n.encode())) count("p2p_discovery_addresses_learned_total");
    }
    if (o.reannounce) last_announce_ = 0;  // the next round announces with a newer timestamp
  }
  if (o.result == gossip::Outcome::Result::kViolation) {
    spdlog::warn("p2p: {} sent an invalid gossip message: {}", crypto::did_from_key(from),
                 o.reason);
    transport_.block(from);
    return true;
  }
  if (o.reannounce) poke();
  if (!o.replies.empty()) send_to(from, o.replies);
  if (!o.relay.empty()) relay(from, o.relay);
  if (on_refs_) {
    for (const auto& r : o.refs) on_refs_(r);
  }
  return true;
}

void Discovery::handle_peer(const crypto::PublicKey& peer, bool up) {
  std::vector<Bytes> hello;
  {
    std::lock_guard l(mu_);
    if (up) {
      connected_.insert(peer);
      pending_dials_.erase(peer);
      book_.connected(peer, unix_millis());
      count("p2p_discovery_sessions_total");
      if (auto own = gossip_.own_node()) hello.push_back(*own);
      // Everything the peer holds that is still live; stale entries are refused anyway.
      hello.push_back(gossip::Subscribe{0}.encode());
    } else {
      connected_.erase(peer);
    }
  }
  if (!hello.empty()) send_to(peer, hello);
  if (!up) poke();  // replace the lost connection soon
}

void Discovery::send_to(const crypto::PublicKey& peer, const std::vector<Bytes>& msgs) {
  size_t dropped = 0;
  for (const auto& m : msgs) dropped += transport_.send(peer, channel::kGossip, m) ? 0 : 1;
  if (dropped) {
    std::lock_guard l(mu_);
    count("p2p_gossip_send_failed_total", dropped);
  }
}

void Discovery::relay(const crypto::PublicKey& except, const std::vector<Bytes>& msgs) {
  std::vector<crypto::PublicKey> targets;
  {
    std::lock_guard l(mu_);
    for (const auto& p : connected_) {
      if (p != except) targets.push_back(p);
    }
    count("p2p_gossip_relayed_total", targets.size() * msgs.size());
  }
  for (const auto& p : targets) send_to(p, msgs);
}

void Discovery::start() {
  {
    std::lock_guard l(mu_);
    if (running_) return;
    auto now = unix_millis();
    size_t loaded = book_.load();
    size_t restored = 0;
    for (const auto& e : book_.entries()) {
      if (e.announcement.empty()) continue;
      try {
        restored += gossip_.restore_node(gossip::decode_node(e.announcement), now) ? 1 : 0;
      } catch (const Error&) {
      }
    }
    for (const auto& b : cfg_.bootstrap) {
      if (b.id != key_.public_key()) book_.add_bootstrap(b);
    }
    spdlog::info("p2p: address book: {} peers loaded ({} announcements), {} bootstrap", loaded,
                 restored, cfg_.bootstrap.size());
  }
  std::lock_guard rl(run_mu_);
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Discovery::stop() {
  {
    std::lock_guard rl(run_mu_);
    if (!running_) return;
    stopping_ = true;
  }
  run_cv_.notify_all();
  thread_.join();
  std::lock_guard rl(run_mu_);
  running_ = false;
}

void Discovery::poke() {
  {
    std::lock_guard rl(run_mu_);
    poked_ = true;
  }
  run_cv_.notify_all();
}

void Discovery::run() {
  while (true) {
    {
      std::unique_lock rl(run_mu_);
      if (stopping_) return;
    }
    try {
      maintain();
    } catch (const std::exception& e) {
      spdlog::warn("p2p: discovery round failed: {}", e.what());
    }
    std::unique_lock rl(run_mu_);
    run_cv_.wait_for(rl, cfg_.tick, [this] { return stopping_ || poked_; });
    poked_ = false;
  }
}

void Discovery::maintain() {
  auto live = transport_.peers();  // before taking mu_ (see the top of the file)
  uint64_t now = unix_millis();
  std::vector<DialCandidate> dials;
  std::vector<Bytes> announcements;
  std::optional<crypto::PublicKey> ask;
  {
    std::lock_guard l(mu_);
    std::set<crypto::PublicKey> up;
    size_t outbound = 0;
    for (const auto& p : live) {
      up.insert(p.id);
      outbound += p.outbound ? 1 : 0;
    }
    for (auto it = pending_dials_.begin(); it != pending_dials_.end();) {
      if (up.count(it->first)) {
        it = pending_dials_.erase(it);
      } else if (it->second <= now) {
        book_.dial_failed(it->first, now);
        count("p2p_discovery_dial_failures_total");
        it = pending_dials_.erase(it);
      } else {
        ++it;
      }
    }
    std::set<crypto::PublicKey> exclude = up;
    exclude.insert(key_.public_key());
    for (const auto& [id, deadline] : pending_dials_) exclude.insert(id);
    size_t busy = outbound + pending_dials_.size();
    if (busy < cfg_.target_outbound) {
      dials = book_.candidates(now, exclude, cfg_.target_outbound - busy, rng_);
      for (const auto& d : dials) {
        pending_dials_[d.id] = now + static_cast<uint64_t>(cfg_.dial_timeout.count());
      }
      // Short of candidates: ask a connected peer for more (peer exchange).
      if (dials.size() < cfg_.target_outbound - busy && !up.empty() &&
          now - last_get_peers_ >= static_cast<uint64_t>(cfg_.get_peers_interval.count())) {
        last_get_peers_ = now;
        std::vector<crypto::PublicKey> v(up.begin(), up.end());
        ask = v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
      }
    }
    if (size_t n = gossip_.prune(now)) count("p2p_gossip_expired_total", n);
    if (size_t n = book_.expire(now)) count("p2p_discovery_expired_total", n);
    if (last_announce_ == 0 ||
        now - last_announce_ >= static_cast<uint64_t>(cfg_.announce_interval.count())) {
      last_announce_ = now;
      announcements.push_back(
          gossip_.announce_node(cfg_.features, cfg_.user_agent, own_addresses(), now));
      for (auto& p : gossip_.announce_inventory(inventory_, now))
        announcements.push_back(std::move(p));
    }
    count("p2p_discovery_dials_total", dials.size());
  }
  for (const auto& d : dials) transport_.dial(d.id, d.addr.host, d.addr.port);
  if (ask) send_to(*ask, {gossip::GetPeers{}.encode()});
  if (!announcements.empty()) relay(crypto::PublicKey{}, announcements);
}

void Discovery::set_inventory(std::vector<std::string> repos) {
  std::vector<Bytes> pages;
  {
    std::lock_guard l(mu_);
    pages = gossip_.announce_inventory(repos, unix_millis());
    inventory_ = std::move(repos);
  }
  relay(crypto::PublicKey{}, pages);
}

void Discovery::announce_refs(std::string repo, std::vector<gossip::Ref> refs) {
  Bytes msg;
  {
    std::lock_guard l(mu_);
    msg = gossip_.announce_refs(std::move(repo), std::move(refs), unix_millis());
  }
  relay(crypto::PublicKey{}, {msg});
}

gossip::RoutingTable Discovery::routing_table() {
  std::lock_guard l(mu_);
  return gossip_.routing_table();
}

std::set<crypto::PublicKey> Discovery::nodes_for(const std::string& repo) {
  std::lock_guard l(mu_);
  return gossip_.nodes_for(repo);
}

std::vector<gossip::NodeAnnouncement> Discovery::known_nodes() {
  std::lock_guard l(mu_);
  return gossip_.nodes();
}

std::vector<AddressEntry> Discovery::address_book() {
  std::lock_guard l(mu_);
  return book_.entries();
}

std::vector<PeerSummary> Discovery::peers() {
  auto live = transport_.peers();
  std::vector<PeerSummary> out;
  std::lock_guard l(mu_);
  for (const auto& p : live) {
    PeerSummary s;
    s.did = p.did;
    s.address = p.address;
    s.outbound = p.outbound;
    s.latency_ms = p.latency_ms;
    s.bytes_in = p.bytes_in;
    s.bytes_out = p.bytes_out;
    if (auto n = gossip_.node(p.id)) s.user_agent = n->user_agent;
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, uint64_t> Discovery::metrics() {
  auto m = transport_.metrics();
  std::lock_guard l(mu_);
  for (const auto& [k, v] : counters_) m[k] += v;
  m["p2p_known_nodes"] = gossip_.node_count();
  m["p2p_routing_entries"] = gossip_.routing_entries();
  m["p2p_address_book_entries"] = book_.size();
  m["p2p_pending_dials"] = pending_dials_.size();
  return m;
}

}  // namespace guts::p2p
