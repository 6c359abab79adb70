#include "p2p/discovery_core.h"

#include "core/status.h"

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

DiscoveryCore::DiscoveryCore(const crypto::SigningKey& key, const std::string& network,
                             storage::Db* db, DiscoveryConfig config, uint64_t seed)
    : self_(key.public_key()),
      cfg_(std::move(config)),
      gossip_(key, with_network(cfg_.gossip, network)),
      book_(db, cfg_.book),
      rng_(seed) {
  for (const auto& a : cfg_.external_addresses) parse_host_port(a);  // throws on a bad one
}

void DiscoveryCore::count(const std::string& name, uint64_t n) {
  counters_[name] += n;
}

void DiscoveryCore::send_failed(size_t n) {
  if (n) count("p2p_gossip_send_failed_total", n);
}

std::vector<std::string> DiscoveryCore::own_addresses() const {
  if (!cfg_.external_addresses.empty()) return cfg_.external_addresses;
  if (unspecified(cfg_.listen_host) || listen_port_ == 0) return {};
  return {HostPort{cfg_.listen_host, listen_port_}.to_string()};
}

void DiscoveryCore::relay(const crypto::PublicKey& except, const std::vector<Bytes>& msgs,
                          DiscoveryActions& out) {
  if (msgs.empty()) return;
  size_t targets = 0;
  for (const auto& p : connected_) {
    if (p == except) continue;
    out.sends.push_back({p, msgs});
    ++targets;
  }
  count("p2p_gossip_relayed_total", targets * msgs.size());
}

DiscoveryCore::Started DiscoveryCore::start(uint64_t now, uint16_t listen_port) {
  listen_port_ = listen_port;
  Started s;
  s.loaded = book_.load();
  for (const auto& e : book_.entries()) {
    if (e.announcement.empty()) continue;
    try {
      s.restored += gossip_.restore_node(gossip::decode_node(e.announcement), now) ? 1 : 0;
    } catch (const Error&) {
    }
  }
  for (const auto& b : cfg_.bootstrap) {
    if (b.id != self_) book_.add_bootstrap(b);
  }
  s.bootstrap = cfg_.bootstrap.size();
  return s;
}

DiscoveryActions DiscoveryCore::on_message(const crypto::PublicKey& from, ByteView payload,
                                           uint64_t now) {
  DiscoveryActions out;
  auto o = gossip_.handle(from, payload, now);
  count(std::string("p2p_gossip_total{type=\"") + type_name(payload) + "\",result=\"" +
        gossip::result_name(o.result) + "\"}");
  for (const auto& n : o.nodes) {
    if (book_.add_announcement(n, n.encode())) count("p2p_discovery_addresses_learned_total");
  }
  if (o.reannounce) last_announce_ = 0;  // the next round announces with a newer timestamp
  if (o.result == gossip::Outcome::Result::kViolation) {
    out.violation = o.reason;
    return out;
  }
  out.poke = o.reannounce;
  if (!o.replies.empty()) out.sends.push_back({from, std::move(o.replies)});
  relay(from, o.relay, out);
  out.refs = std::move(o.refs);
  return out;
}

DiscoveryActions DiscoveryCore::on_peer(const crypto::PublicKey& peer, bool up, uint64_t now) {
  DiscoveryActions out;
  if (!up) {
    connected_.erase(peer);
    out.poke = true;  // replace the lost connection soon
    return out;
  }
  connected_.insert(peer);
  pending_dials_.erase(peer);
  book_.connected(peer, now);
  count("p2p_discovery_sessions_total");
  std::vector<Bytes> hello;
  if (auto own = gossip_.own_node()) hello.push_back(*own);
  // Everything the peer holds that is still live; stale entries are refused anyway.
  hello.push_back(gossip::Subscribe{0}.encode());
  out.sends.push_back({peer, std::move(hello)});
  return out;
}

DiscoveryActions DiscoveryCore::on_tick(uint64_t now, const std::vector<LivePeer>& live) {
  DiscoveryActions out;
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
  exclude.insert(self_);
  for (const auto& [id, deadline] : pending_dials_) exclude.insert(id);
  size_t busy = outbound + pending_dials_.size();
  std::optional<crypto::PublicKey> ask;
  if (busy < cfg_.target_outbound) {
    out.dials = book_.candidates(now, exclude, cfg_.target_outbound - busy, rng_);
    for (const auto& d : out.dials) {
      pending_dials_[d.id] = now + static_cast<uint64_t>(cfg_.dial_timeout.count());
    }
    // Short of candidates: ask a connected peer for more (peer exchange).
    if (out.dials.size() < cfg_.target_outbound - busy && !up.empty() &&
        now - last_get_peers_ >= static_cast<uint64_t>(cfg_.get_peers_interval.count())) {
      last_get_peers_ = now;
      std::vector<crypto::PublicKey> v(up.begin(), up.end());
      ask = v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
    }
  }
  if (size_t n = gossip_.prune(now)) count("p2p_gossip_expired_total", n);
  if (size_t n = book_.expire(now)) count("p2p_discovery_expired_total", n);
  std::vector<Bytes> announcements;
  if (last_announce_ == 0 ||
      now - last_announce_ >= static_cast<uint64_t>(cfg_.announce_interval.count())) {
    last_announce_ = now;
    announcements.push_back(
        gossip_.announce_node(cfg_.features, cfg_.user_agent, own_addresses(), now));
    for (auto& p : gossip_.announce_inventory(inventory_, now))
      announcements.push_back(std::move(p));
  }
  count("p2p_discovery_dials_total", out.dials.size());
  if (ask) out.sends.push_back({*ask, {gossip::GetPeers{}.encode()}});
  relay(crypto::PublicKey{}, announcements, out);
  return out;
}

DiscoveryActions DiscoveryCore::set_inventory(std::vector<std::string> repos, uint64_t now) {
  DiscoveryActions out;
  auto pages = gossip_.announce_inventory(repos, now);
  inventory_ = std::move(repos);
  relay(crypto::PublicKey{}, pages, out);
  return out;
}

DiscoveryActions DiscoveryCore::announce_refs(std::string repo, std::vector<gossip::Ref> refs,
                                              uint64_t now) {
  DiscoveryActions out;
  relay(crypto::PublicKey{}, {gossip_.announce_refs(std::move(repo), std::move(refs), now)}, out);
  return out;
}

std::map<std::string, uint64_t> DiscoveryCore::metrics() const {
  auto m = counters_;
  m["p2p_known_nodes"] = gossip_.node_count();
  m["p2p_routing_entries"] = gossip_.routing_entries();
  m["p2p_address_book_entries"] = book_.size();
  m["p2p_pending_dials"] = pending_dials_.size();
  return m;
}

}  // namespace guts::p2p
